/**
 * systemd-networkd's facts, parsed from the probe's sections (keepers/networkd/host.sh,
 * `probe_networkd`): which links it manages from which .network file, and whether it removes the
 * rules and routes it did not configure (networkd.conf and its drop-ins).
 */
import { NETPLAN_NETWORK_PREFIX, NETWORKD_CONF_DIRS } from "../../hostpaths";
import type { InterfaceManager, NetworkdFacts } from "../../state/types";
import type { ObjectKind } from "../types";

/** `KEY=value` lines (an env file: networkd's state files, systemctl show); quotes around a value are dropped. */
export function parseKeyValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at <= 0 || line.trimStart().startsWith("#")) continue;
    values[line.slice(0, at).trim()] = line.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return values;
}

/** systemd's parse_boolean; undefined for anything else (systemd then ignores the line). */
export function parseSystemdBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (["1", "yes", "y", "true", "t", "on"].includes(v)) return true;
  if (["0", "no", "n", "false", "f", "off"].includes(v)) return false;
  return undefined;
}

/**
 * The files networkd reads, in order: the first main file found, then the drop-ins sorted by
 * name, where a name in a higher-priority folder masks the same name in a lower one.
 */
export function networkdConfOrder(paths: readonly string[]): string[] {
  const main = NETWORKD_CONF_DIRS.map((d) => `${d}/networkd.conf`).find((p) => paths.includes(p));
  const dropIns = new Map<string, string>();
  for (const dir of [...NETWORKD_CONF_DIRS].reverse()) {
    for (const p of paths) if (p.startsWith(`${dir}/networkd.conf.d/`)) dropIns.set(p.slice(p.lastIndexOf("/") + 1), p);
  }
  const names = [...dropIns.keys()].sort();
  return [...(main ? [main] : []), ...names.map((n) => dropIns.get(n)!)];
}

/** networkd's Manage* settings from networkd.conf and its drop-ins (contents by path); both default yes. */
export function parseNetworkdConf(files: ReadonlyMap<string, string>, running: boolean): NetworkdFacts {
  const facts: NetworkdFacts = { running, manageForeignRoutingPolicyRules: true, manageForeignRoutes: true, configFiles: networkdConfOrder([...files.keys()]) };
  for (const path of facts.configFiles) {
    let section = "";
    for (const raw of (files.get(path) ?? "").split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
      if (line.startsWith("[")) {
        section = line.replace(/^\[|\]$/g, "");
        continue;
      }
      const at = line.indexOf("=");
      if (section !== "Network" || at <= 0) continue;
      const key = line.slice(0, at).trim();
      const value = parseSystemdBoolean(line.slice(at + 1));
      if (value === undefined) continue;
      if (key === "ManageForeignRoutingPolicyRules") facts.manageForeignRoutingPolicyRules = value;
      if (key === "ManageForeignRoutes") facts.manageForeignRoutes = value;
    }
  }
  return facts;
}

/** networkd's state file of one link: who configured it, unless networkd leaves it alone. */
export function networkdManager(stateFile: string): Extract<InterfaceManager, { kind: "networkd" }> | undefined {
  const state = parseKeyValues(stateFile);
  const networkFile = state["NETWORK_FILE"];
  if (!networkFile || state["ADMIN_STATE"] === "unmanaged") return undefined;
  return {
    kind: "networkd",
    networkFile,
    dropIns: (state["NETWORK_FILE_DROPINS"] ?? "").split(/\s+/).filter(Boolean),
    fromNetplan: networkFile.startsWith(NETPLAN_NETWORK_PREFIX),
  };
}

/** Whether networkd, on this host, removes objects of `kind` that it did not configure; the reason when it does. */
export function networkdRemovesForeign(kind: ObjectKind, networkd: NetworkdFacts): string | undefined {
  if (!networkd.running) return undefined;
  if (kind === "rule" && networkd.manageForeignRoutingPolicyRules) return "systemd-networkd on this host removes routing rules it did not configure (ManageForeignRoutingPolicyRules=yes)";
  if (kind === "route" && networkd.manageForeignRoutes) return "systemd-networkd on this host removes routes it did not configure (ManageForeignRoutes=yes)";
  return undefined;
}
