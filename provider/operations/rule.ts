/** Policy rule operations: a rule with its whole selector, looking up a table, IPv4 or IPv6. */
import { familyOfRule, ruleSelectorWords, type PolicyRule } from "../model/rule";
import { ruleMayMatch } from "../model/session";
import type { TableId } from "../model/table";
import type { Family, Noted, OperationFamily } from "./types";

/** Adds or deletes one rule. */
export type RuleOp = Noted & { type: "rule"; action: "add" | "del"; family: Family; table: TableId; rule: PolicyRule };

/** A rule operation for a declared or a host rule. */
export function ruleOp(action: RuleOp["action"], table: TableId, rule: PolicyRule, note?: string): RuleOp {
  return { type: "rule", action, family: familyOfRule(rule), table, rule, note };
}

/** Rule operations render under their family, may cut the session when they may match it, and add and del undo each other. */
export const ruleFamily: OperationFamily<RuleOp> = {
  render: (op) => ({ kind: "ip", family: op.family, args: ["rule", op.action, ...ruleSelectorWords(op.rule), "table", String(op.table)] }),
  mayCut: (op, path) => !path || ruleMayMatch({ ...op.rule, family: op.family === 6 ? 6 : undefined }, path),
  dependsOn: () => ["rules"],
  inverse: (op): RuleOp[] => [{ ...op, action: op.action === "add" ? "del" : "add", note: "(undo)" }],
};
