/** JSON from iproute2's `-j`, shared by the probe's parsers. */

/** iproute2 5.15 escapes apostrophes as \' inside JSON strings, which JSON.parse refuses. */
export function parseIpJson(text: string): Array<Record<string, unknown>> {
  const trimmed = text.trim();
  if (!trimmed) return [];
  return JSON.parse(trimmed.replace(/\\(.)/g, (all: string, c: string) => (c === "'" ? "'" : all))) as Array<Record<string, unknown>>;
}
