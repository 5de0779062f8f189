/** MPTCP path-manager limits. */
import type { MptcpLimits } from "../state/types";
import type { Noted, OperationFamily } from "./types";

/** Sets both path-manager limits. */
export type LimitsOp = Noted & { type: "limits"; limits: MptcpLimits };

/** `ip mptcp limits set ...` arguments (also the boot part's line). */
export function limitsArgs(limits: MptcpLimits): string[] {
  return ["mptcp", "limits", "set", "subflows", String(limits.subflows), "add_addr_accepted", String(limits.addAddrAccepted)];
}

/** Limits never cut the session and are undone to the limits the host had. */
export const limitsFamily: OperationFamily<LimitsOp> = {
  render: (op) => ({ kind: "ip", args: limitsArgs(op.limits) }),
  mayCut: () => false,
  dependsOn: () => ["mptcp"],
  inverse: (_op, before): LimitsOp[] => (before.limits ? [{ type: "limits", limits: { ...before.limits }, note: "(restore)" }] : []),
};
