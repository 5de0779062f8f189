/** Sysctl writes. */
import type { SessionPath } from "../model/session";
import type { Noted, OperationFamily } from "./types";

/** Writes one sysctl. */
export type SysctlOp = Noted & { type: "sysctl"; key: string; value: string };

// Routing, forwarding, rp_filter and per-interface settings can cut a session; buffers and MPTCP cannot.
const MAY_CUT = /^net\.(ipv4\.(conf\.|ip_|route\.)|ipv6\.(conf\.|route\.))/;

/** `net.ipv4.conf.DEV.NAME` (or ipv6): the device (dots in its name written as /) and the setting. */
const PER_DEVICE = /^net\.ipv([46])\.conf\.([^.]+)\.([^.]+)$/;

/**
 * Whether a setting that can cut a session may cut this one: not one of the other family's, not
 * another device's (`default` only reaches devices made later), and not rp_filter set to off (0)
 * or loose (2), which never drop the replies of a peer the host has a route to.
 */
function mayCutPath(op: SysctlOp, path: SessionPath): boolean {
  const family = /^net\.ipv([46])\./.exec(op.key)?.[1];
  if (family !== undefined && Number(family) !== path.family) return false;
  const perDevice = PER_DEVICE.exec(op.key);
  if (!perDevice) return true;
  const [, , dev, name] = perDevice;
  if (dev === "default" || (dev !== "all" && !path.devices.includes(dev!.replace(/\//g, ".")))) return false;
  return !(name === "rp_filter" && (op.value.trim() === "0" || op.value.trim() === "2"));
}

/** A sysctl write runs `sysctl -w` and is undone to the value the host had. */
export const sysctlFamily: OperationFamily<SysctlOp> = {
  render: (op) => ({ kind: "exec", argv: ["sysctl", "-q", "-w", `${op.key}=${op.value}`] }),
  mayCut: (op, path) => MAY_CUT.test(op.key) && (!path || mayCutPath(op, path)),
  describe: (op) => `sysctl ${op.key}=${op.value}`,
  // Values others change (a tuning daemon) are read again by the next plan; no precondition.
  dependsOn: () => [],
  inverse(op, before): SysctlOp[] {
    const old = before.sysctls[op.key];
    return old === undefined ? [] : [{ type: "sysctl", key: op.key, value: old, note: "(restore)" }];
  },
};
