/**
 * NetworkManager connection operations: set some of a connection's settings, then have NM apply
 * its profile to the device live (`nmcli device reapply`, which keeps the device up and its
 * addresses in place), so NM itself owns what we declared and puts it back after its own events.
 */
import { NM_CUTTING_KEYS, nmConnectionOf, type NmKey } from "./facts";
import type { Noted, OperationFamily } from "../../operations/types";

/** Sets settings of the connection active on `device` (by uuid) and reapplies it. */
export type NmOp = Noted & { type: "nm"; device: string; uuid: string; connectionId: string; set: Partial<Record<NmKey, string>> };

/** nmcli prints a flags value as "0x22 (enabled,subflow)"; modify takes the number or the words. */
export function nmSettableValue(key: NmKey, printed: string): string {
  if (key !== "connection.mptcp-flags") return printed;
  const hex = /^0x([0-9a-f]+)/i.exec(printed);
  return hex ? String(parseInt(hex[1]!, 16)) : printed.replace(/[()]/g, "").trim();
}


/** NM operations run one fixed script; routes and rules may cut the session, MPTCP flags do not. */
export const nmFamily: OperationFamily<NmOp> = {
  render(op) {
    // With nothing to set (the connection already says it, the kernel lost it) only the reapply runs.
    const pairs = Object.entries(op.set).flatMap(([key, value]) => [key, value ?? ""]);
    return { kind: "call", fn: "nm_apply", args: [op.uuid, op.device, ...pairs] };
  },
  mayCut: (op) => Object.keys(op.set).some((key) => NM_CUTTING_KEYS.includes(key as NmKey)),
  dependsOn: () => ["nm"],
  describe(op) {
    const words = Object.entries(op.set).map(([key, value]) => `${key} ${JSON.stringify(value)}`);
    const modify = words.length ? `nmcli connection modify ${op.connectionId} ${words.join(" ")}; ` : "";
    return `${modify}nmcli device reapply ${op.device} (NetworkManager)`;
  },
  inverse(op, before): NmOp[] {
    const old = nmConnectionOf(before, op.device);
    if (!old || old.uuid !== op.uuid) return [];
    const set = Object.fromEntries(Object.keys(op.set).map((key) => [key, nmSettableValue(key as NmKey, old.settings[key as NmKey])]));
    return [{ ...op, set, note: "(restore)" }];
  },
};
