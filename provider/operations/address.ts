/** Address operations: an address with its prefix on an interface, in either family. */
import { canonicalAddress, inSubnet } from "../model/address";
import { splitCidr } from "../validation";
import type { Family, Noted, OperationFamily } from "./types";

const addressOf = (cidr: string) => canonicalAddress(cidr.split("/")[0]!);

/** Adds, removes or (boot replay only) replaces an address on a link. */
export type AddressOp = Noted & { type: "address"; action: "add" | "del" | "replace"; cidr: string; dev: string; family: Family };

/** An address operation; the family comes from the address itself. */
export function addressOp(action: AddressOp["action"], cidr: string, dev: string, note?: string): AddressOp {
  return { type: "address", action, cidr, dev, family: splitCidr(cidr)?.family ?? 4, note };
}

/** Address operations render to `ip address`, may cut the session on its path, and add and del undo each other. */
export const addressFamily: OperationFamily<AddressOp> = {
  render: (op) => ({ kind: "ip", family: op.family, args: ["address", op.action, op.cidr, "dev", op.dev] }),
  // Off the session's path: not its address, not a device it uses, not a prefix that holds its peer.
  mayCut: (op, path) => !path || path.devices.includes(op.dev) || addressOf(op.cidr) === path.local || inSubnet(path.peer, op.cidr),
  dependsOn: () => ["addrs"],
  inverse(op): AddressOp[] {
    if (op.action === "replace") return [];
    return [{ ...op, action: op.action === "add" ? "del" : "add", note: "(undo)" }];
  },
};
