/**
 * A policy routing rule: every field of its selector the kernel stores, so a rule is matched
 * whole. A host rule with a fwmark or an input interface is another rule than one without, even
 * from the same source to the same table.
 */
import type { ActualRule } from "../state/types";
import { defined } from "./route";
import type { Family } from "./address";
import type { TableId } from "./table";

/** A declared rule (its table is its policy route's). `from` is "all" or a prefix in the kernel's form. */
export interface PolicyRule {
  from: string;
  to?: string | undefined;
  iif?: string | undefined;
  oif?: string | undefined;
  /** "0x1" or "0x1/0xff", lowercase hex, as ip prints it. */
  fwmark?: string | undefined;
  /** Unset: the kernel chooses. */
  priority?: number | undefined;
  family?: 6 | undefined;
}

/** The family of a declared or host rule. */
export function familyOfRule(r: { family?: 6 | undefined }): Family {
  return r.family ?? 4;
}

/** The rule as ip takes it after `rule add|del` (without the table). */
export function ruleSelectorWords(r: PolicyRule | ActualRule): string[] {
  const words: string[] = [];
  if (r.priority !== undefined) words.push("priority", String(r.priority));
  words.push("from", r.from ?? "all");
  if (r.to !== undefined) words.push("to", r.to);
  if (r.fwmark !== undefined) words.push("fwmark", r.fwmark);
  if (r.iif !== undefined) words.push("iif", r.iif);
  if (r.oif !== undefined) words.push("oif", r.oif);
  return words;
}

/**
 * Why the host's rule is not the declared one of `table`, naming the first field that differs;
 * undefined when it is. An unset priority matches any: the kernel chose it.
 */
export function ruleDifference(want: PolicyRule, table: TableId, have: ActualRule): string | undefined {
  const fields: Array<[string, string | number | undefined, string | number | undefined]> = [
    ["family", familyOfRule(want), familyOfRule(have)],
    ["table", table, have.table],
    ["action", undefined, have.action],
    ["from", want.from, have.from ?? "all"],
    ["to", want.to, have.to],
    ["fwmark", want.fwmark, have.fwmark],
    ["iif", want.iif, have.iif],
    ["oif", want.oif, have.oif],
  ];
  if (want.priority !== undefined) fields.push(["priority", want.priority, have.priority]);
  for (const [name, w, h] of fields) if (w !== h) return `${name}: declared ${w ?? "none"}, host has ${h ?? "none"}`;
  return undefined;
}

/** Whether the host's rule is the declared one of `table`. */
export function ruleMatches(want: PolicyRule, table: TableId, have: ActualRule): boolean {
  return ruleDifference(want, table, have) === undefined;
}

/** A host rule as a declared one (what refresh reports for a rule the stack does not declare). */
export function declaredForm(have: ActualRule): PolicyRule {
  const { from, to, iif, oif, fwmark, priority, family } = have;
  return defined({ from: from ?? "all", to, iif, oif, fwmark, priority, family });
}
