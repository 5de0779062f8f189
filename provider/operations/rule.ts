/** Policy rule operations: `from SOURCE lookup TABLE`, IPv4 or IPv6. */
import type { TableId } from "../model/table";
import type { Family, Noted, OperationFamily } from "./types";

/** Adds or deletes one rule; `from` is "all" or a source in the kernel's form. */
export type RuleOp = Noted & { type: "rule"; action: "add" | "del"; family: Family; from: string; priority?: number | undefined; table: TableId };

/** Rule operations render under their family, may cut the session, and add and del undo each other. */
export const ruleFamily: OperationFamily<RuleOp> = {
  render(op) {
    const args = ["rule", op.action];
    if (op.priority !== undefined) args.push("priority", String(op.priority));
    args.push("from", op.from, "table", String(op.table));
    return { kind: "ip", family: op.family, args };
  },
  mayCut: () => true,
  dependsOn: () => ["rules"],
  inverse: (op): RuleOp[] => [{ ...op, action: op.action === "add" ? "del" : "add", note: "(undo)" }],
};
