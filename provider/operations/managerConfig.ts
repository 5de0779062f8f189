/**
 * A network manager's configuration that we own: one netplan file, or one systemd-networkd
 * drop-in, written or removed whole and applied live through the manager (netplan generate,
 * networkctl reload), which then configures the rules and routes itself and keeps them across
 * its own reconfigures, restarts and reboots.
 */
import type { Noted, OperationFamily } from "./types";

/** The manager that reads the file: netplan renders it for networkd; networkd reads drop-ins itself. */
export type ConfigManager = "netplan" | "networkd";

/**
 * Writes (`content`) or removes (no `content`) one of our config files and reloads the manager;
 * `reconfigure` re-applies an unchanged file to `iface`. With `expect`, it waits (10 s at most)
 * until the kernel shows at least that many rules and routes in the table: networkd applies
 * them asynchronously after the reload.
 */
export type ManagerConfigOp = Noted & {
  type: "managerConfig";
  manager: ConfigManager;
  iface: string;
  path: string;
  content?: string | undefined;
  reconfigure?: boolean | undefined;
  expect?: { table: string; rules: number; routes: number } | undefined;
};

// $1 action, $2 path, $3 content, $4 manager, $5 iface, $6 table, $7 rules, $8 routes.
// netplan refuses files others can read (0600, as netplan itself writes them).
const SCRIPT = [
  "set -e",
  'case $1 in',
  '  write) mkdir -p "$(dirname "$2")"; (umask 077 && printf "%s" "$3" > "$2.mptcp-pulumi-tmp") && mv -f "$2.mptcp-pulumi-tmp" "$2" ;;',
  '  remove) rm -f "$2"; case $2 in *.network.d/*) rmdir "$(dirname "$2")" 2>/dev/null || true ;; esac ;;',
  "esac",
  'if [ "$1" = reconfigure ]; then networkctl reconfigure "$5"; else',
  '  [ "$4" != netplan ] || netplan generate',
  "  networkctl reload",
  "fi",
  '[ -n "$6" ] || exit 0',
  // (inside count, $1 is count's own argument: the table is kept in $table)
  'table=$6',
  'count() { { ip -4 "$1" show table "$table" 2>/dev/null; ip -6 "$1" show table "$table" 2>/dev/null; } | grep -c . || true; }',
  "i=0",
  'while [ "$(count rule)" -lt "$7" ] || [ "$(count route)" -lt "$8" ]; do',
  '  i=$((i + 1)); [ $i -le 100 ] || { echo "networkd did not configure table $6 on $5 within 10 s" >&2; exit 1; }',
  "  sleep 0.1",
  "done",
].join("\n");

const actionOf = (op: ManagerConfigOp) => (op.reconfigure ? "reconfigure" : op.content !== undefined ? "write" : "remove");

/** Applied through the manager, which re-adds the addresses of the links it reconfigures: it may cut the session. */
export const managerConfigFamily: OperationFamily<ManagerConfigOp> = {
  render: (op) => ({
    kind: "exec",
    argv: ["sh", "-c", SCRIPT, "mptcp-pulumi-config", actionOf(op), op.path, op.content ?? "", op.manager, op.iface, op.expect?.table ?? "", String(op.expect?.rules ?? 0), String(op.expect?.routes ?? 0)],
  }),
  mayCut: () => true,
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
