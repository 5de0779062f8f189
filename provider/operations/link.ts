/** Link operations: MTU and administrative state of an existing interface. */
import type { OperationFamily, Noted } from "./types";

/** Sets a link's MTU, or sets it up or down. */
export type LinkOp = Noted & { type: "link"; dev: string } & ({ mtu: number } | { up: boolean });

/** Link operations render to `ip link set`, may cut the session on a device it uses, and are undone to the link as it was. */
export const linkFamily: OperationFamily<LinkOp> = {
  render: (op) => ({ kind: "ip", args: ["link", "set", "dev", op.dev, ...("mtu" in op ? ["mtu", String(op.mtu)] : [op.up ? "up" : "down"])] }),
  mayCut: (op, path) => !path || path.devices.includes(op.dev),
  dependsOn: () => ["addrs"],
  inverse(op, before): LinkOp[] {
    const link = before.links.find((l) => l.name === op.dev);
    if (!link) return [];
    return "mtu" in op ? [{ type: "link", dev: op.dev, mtu: link.mtu, note: "(restore)" }] : [{ type: "link", dev: op.dev, up: link.up, note: "(restore)" }];
  },
};
