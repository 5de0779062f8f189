/** Sysctl writes. */
import type { Noted, OperationFamily } from "./types";

/** Writes one sysctl. */
export type SysctlOp = Noted & { type: "sysctl"; key: string; value: string };

// Routing, forwarding, rp_filter and per-interface settings can cut a session; buffers and MPTCP cannot.
const MAY_CUT = /^net\.(ipv4\.(conf\.|ip_|route\.)|ipv6\.(conf\.|route\.))/;

/** A sysctl write runs `sysctl -w` and is undone to the value the host had. */
export const sysctlFamily: OperationFamily<SysctlOp> = {
  render: (op) => ({ kind: "exec", argv: ["sysctl", "-q", "-w", `${op.key}=${op.value}`] }),
  mayCut: (op) => MAY_CUT.test(op.key),
  describe: (op) => `sysctl ${op.key}=${op.value}`,
  // Values others change (a tuning daemon) are read again by the next plan; no precondition.
  dependsOn: () => [],
  inverse(op, before): SysctlOp[] {
    const old = before.sysctls[op.key];
    return old === undefined ? [] : [{ type: "sysctl", key: op.key, value: old, note: "(restore)" }];
  },
};
