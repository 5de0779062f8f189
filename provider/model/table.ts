/**
 * Routing tables: a table is a number (1..2^32-1) to the kernel; names are iproute2's, read from
 * rt_tables files on each host. The probe reads tables as numbers (`ip -N`); a stack may name a
 * table, and the name is resolved against the host's own files.
 */

/** A routing table's number, as the kernel knows it. */
export type TableId = number;

/** The names iproute2 always knows, whatever the files say. */
export const BUILTIN_TABLES: Readonly<Record<string, TableId>> = { unspec: 0, default: 253, main: 254, local: 255 };

/** Table names from rt_tables files (`NUMBER NAME` lines, `#` comments), in the order read: the first name wins. */
export function parseRtTables(texts: readonly string[]): Record<string, TableId> {
  const names: Record<string, TableId> = { ...BUILTIN_TABLES };
  for (const text of texts) {
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      const match = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)$/.exec(line);
      if (!match) continue;
      const number = Number(match[1]);
      if (Number.isInteger(number) && !(match[2]! in names)) names[match[2]!] = number;
    }
  }
  return names;
}

/** A table as ip prints it (a number with -N, a name without) as its number; undefined when unknown. */
export function tableNumber(printed: string | number | undefined, names: Readonly<Record<string, TableId>> = BUILTIN_TABLES): TableId | undefined {
  if (printed === undefined) return undefined;
  if (typeof printed === "number") return printed;
  if (/^\d+$/.test(printed)) return Number(printed);
  return names[printed];
}
