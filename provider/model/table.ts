/**
 * Routing tables: a table is a number (1..2^32-1) to the kernel; names are iproute2's, read from
 * rt_tables files on each host. The probe reads tables as numbers (`ip -N`); a stack may name a
 * table, and the name is resolved against the host's own files.
 */

import { z } from "zod";

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

/** Why a declared table is not one the user may own, or undefined. */
function tableProblem(t: unknown): string | undefined {
  if (typeof t === "number") {
    if (!Number.isInteger(t)) return "table ids are integers";
    if (t < 1) return "table ids start at 1 (0 is unspecified)";
    if (t > 4294967295) return "table ids are 32-bit (at most 4294967295)";
    if (t >= 253 && t <= 255) return "tables 253 (default), 254 (main) and 255 (local) are reserved by the kernel";
    return undefined;
  }
  if (typeof t !== "string") return "a table is a number (1..4294967295) or a name from the host's rt_tables";
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(t)) return "a table name is a word from the host's rt_tables (letters, digits, '_', '-', '.'), or use the table's number";
  if (t in BUILTIN_TABLES) return "main, local, default and unspec are the kernel's own tables";
  return undefined;
}

/** A table the user may own: 1..2^32-1 but local (255), main (254) and default (253), or a name from the host's rt_tables. */
export const tableRef = z.custom<number | string>((t) => tableProblem(t) === undefined, { error: (issue) => tableProblem(issue.input) ?? "invalid table" });

/** A declared table's number on a host whose rt_tables give `names`; undefined when the name is not there. */
export function resolveTable(ref: number | string, names: Readonly<Record<string, TableId>>): TableId | undefined {
  return typeof ref === "number" ? ref : names[ref];
}
