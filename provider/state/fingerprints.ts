/**
 * The sum of each part of a host's state a plan depends on, as a change set's check under the
 * lock computes it on the host (provider/host/lib.sh: `part_text PART | checksum`). The probe
 * prints most parts' text in its sections already; summing those here saves the host a process
 * per part. The rest come summed by the host (the `fingerprints` section).
 */
import { createHash } from "node:crypto";

/**
 * The parts of a host's state a plan may depend on, each summed from the probe's text and
 * checked again under the lock before a change applies (provider/host/lib.sh `part_text`).
 */
export const STATE_PARTS = ["mptcp", "rules", "routes", "addrs", "files", "nm"] as const;
/** One part of the state, as the host's programs name it. */
export type StatePart = (typeof STATE_PARTS)[number];

/** The sections whose texts, one after another, are each part's text (`part_text` prints the same). */
const PART_SECTIONS: Partial<Record<StatePart, readonly string[]>> = {
  mptcp: ["endpoints", "endpoints-text", "limits"],
  rules: ["rule", "rule6"],
  routes: ["part routes"],
  addrs: ["part addrs"],
};

/** The host's `checksum` of a text (md5sum's first word). */
export function checksum(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/** A section's text as the host printed it: the split drops the newline before the next marker. */
function printed(body: string | undefined): string {
  return body ? `${body}\n` : "";
}

/** Each part's sum: from the sections' text where they hold it, else the host's `PART SUM` line. */
export function fingerprintsOf(sections: ReadonlyMap<string, string>): Partial<Record<StatePart, string>> {
  const sums: Partial<Record<StatePart, string>> = {};
  for (const line of (sections.get("fingerprints") ?? "").split("\n")) {
    const [part, sum] = line.trim().split(/\s+/);
    if (part && sum && (STATE_PARTS as readonly string[]).includes(part)) sums[part as StatePart] = sum;
  }
  for (const [part, names] of Object.entries(PART_SECTIONS) as Array<[StatePart, readonly string[]]>) {
    // An old probe's output (a fixture) has none of the part sections: nothing to sum.
    if (names.some((name) => sections.has(name))) sums[part] = checksum(names.map((name) => printed(sections.get(name))).join(""));
  }
  return sums;
}
