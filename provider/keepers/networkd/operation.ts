/**
 * A network manager's configuration that we own: one netplan file, or one systemd-networkd
 * drop-in, written or removed whole and applied live through the manager (netplan generate,
 * networkctl reload), which then configures the rules and routes itself and keeps them across
 * its own reconfigures, restarts and reboots.
 */
import type { Noted, OperationFamily } from "../../operations/types";

/** The manager that reads the file: netplan renders it for networkd; networkd reads drop-ins itself. */
export type ConfigManager = "netplan" | "networkd";

/**
 * Writes (`content`) or removes (no `content`) one of our config files and reloads the manager;
 * `reconfigure` re-applies an unchanged file to `iface`. It then waits (10 s at most) until
 * networkd has configured every link again and, with `expect`, the kernel shows at least that
 * many rules and routes in the table: networkd applies them asynchronously after the reload.
 */
export type ManagerConfigOp = Noted & {
  type: "managerConfig";
  manager: ConfigManager;
  iface: string;
  path: string;
  content?: string | undefined;
  reconfigure?: boolean | undefined;
  expect?: { table: number; rules: number; routes: number } | undefined;
};

/**
 * netplan refuses YAML that others can read (its own files are 0600); networkd reads its
 * configuration as the systemd-network user, so a drop-in it cannot read (0600 root) is ignored
 * and the link goes unconfigured (measured: systemd 252).
 */
function modeFor(manager: ConfigManager): string {
  return manager === "netplan" ? "0600" : "0644";
}

const actionOf = (op: ManagerConfigOp) => (op.reconfigure ? "reconfigure" : op.content !== undefined ? "write" : "remove");

/** Applied through the manager, which re-adds the addresses of the links it reconfigures: it may cut the session. */
export const managerConfigFamily: OperationFamily<ManagerConfigOp> = {
  render: (op) => ({
    kind: "call",
    fn: "manager_config",
    args: [actionOf(op), op.path, modeFor(op.manager), op.manager, op.iface, op.expect ? String(op.expect.table) : "", String(op.expect?.rules ?? 0), String(op.expect?.routes ?? 0)],
    stdin: op.content,
  }),
  mayCut: () => true,
  dependsOn: () => ["files", "rules", "routes"],
  describe: (op) =>
    op.reconfigure
      ? `networkctl reconfigure ${op.iface} (${op.manager} on ${op.iface})`
      : `${op.content !== undefined ? "write" : "remove"} ${op.path} and ${op.manager === "netplan" ? "netplan generate + " : ""}networkctl reload (${op.manager} on ${op.iface})`,
  inverse(op, before): ManagerConfigOp[] {
    if (op.reconfigure) return [];
    const old = before.files[op.path];
    return [{ type: "managerConfig", manager: op.manager, iface: op.iface, path: op.path, content: old, note: old === undefined ? "(undo)" : "(restore)" }];
  },
};
