/** ifupdown's facts, parsed from the probe's section (keepers/ifupdown/host.sh). */

/** Interfaces that ifupdown brought up (/run/network/ifstate: `eno1=eno1` lines). */
export function parseIfstate(text: string): Set<string> {
  return new Set(text.split("\n").map((l) => l.split("=")[0]!.trim()).filter(Boolean));
}
