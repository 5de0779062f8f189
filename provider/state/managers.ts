/**
 * Who else configures the host's network: systemd-networkd (and netplan, which renders to it),
 * NetworkManager, ifupdown and mptcpd, parsed from the probe's sections (provider/host/probe.sh,
 * `probe_managers`).
 *
 * Sources, chosen because they exist on every systemd we support (249 on Ubuntu 22.04 to 257):
 * networkd's per-link state files (/run/systemd/netif/links/IFINDEX: ADMIN_STATE, NETWORK_FILE),
 * networkd.conf with its drop-ins, `systemctl show` for the daemons, nmcli for NetworkManager,
 * /run/network/ifstate for ifupdown, mptcpd.conf and its command line.
 */
import { MANAGER_UNITS, NETPLAN_NETWORK_PREFIX, NETWORKD_CONF_DIRS } from "../hostpaths";
import { parseIpJson } from "./ipJson";
import type { InterfaceManager, ManagerFacts, MptcpdFacts, NetworkdFacts } from "./types";

/** Parses `systemctl show -p Id,ActiveState,MainPID A B C`: blank-line-separated blocks, by Id. */
export function parseUnits(text: string): Map<string, { active: boolean; mainPid: number }> {
  const units = new Map<string, { active: boolean; mainPid: number }>();
  for (const block of text.split(/\n\s*\n/)) {
    const props = parseKeyValues(block);
    if (props["Id"]) units.set(props["Id"], { active: props["ActiveState"] === "active", mainPid: Number(props["MainPID"] ?? 0) });
  }
  return units;
}

/** `KEY=value` lines (an env file: networkd's state files, systemctl show); quotes around a value are dropped. */
function parseKeyValues(text: string): Record<string, string> {
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
    netplan: networkFile.startsWith(NETPLAN_NETWORK_PREFIX),
  };
}

/** nmcli's terse output splits fields on ':' and escapes ':' and '\' inside values. */
export function splitTerse(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && i + 1 < line.length) field += line[++i];
    else if (c === ":") {
      fields.push(field);
      field = "";
    } else field += c;
  }
  return [...fields, field];
}

/** Parses `nmcli -t -f connection.id,connection.uuid,connection.mptcp-flags connection show UUID`. */
function parseNmConnection(text: string): { id: string; uuid: string; mptcpFlags: string } {
  const props: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const [key, ...rest] = splitTerse(line);
    if (key) props[key] = rest.join(":");
  }
  return { id: props["connection.id"] ?? "", uuid: props["connection.uuid"] ?? "", mptcpFlags: props["connection.mptcp-flags"] ?? "" };
}

/** NetworkManager's view of its devices: device -> connection (or none while disconnected); unmanaged ones left out. */
export function nmManagers(devices: string, connections: ReadonlyMap<string, string>, files: string): Map<string, Extract<InterfaceManager, { kind: "NetworkManager" }>> {
  const filenames = new Map(files.split("\n").filter(Boolean).map((l) => splitTerse(l) as [string, string]));
  const managed = new Map<string, Extract<InterfaceManager, { kind: "NetworkManager" }>>();
  for (const line of devices.split("\n").filter(Boolean)) {
    const [device = "", state = "", uuid = ""] = splitTerse(line);
    if (!device || state.startsWith("unmanaged")) continue;
    const manager: Extract<InterfaceManager, { kind: "NetworkManager" }> = { kind: "NetworkManager" };
    const text = uuid ? connections.get(uuid) : undefined;
    if (uuid && text !== undefined) {
      manager.connection = parseNmConnection(text);
      const filename = filenames.get(uuid);
      if (filename) manager.connection.filename = filename;
    }
    managed.set(device, manager);
  }
  return managed;
}

/** Interfaces that ifupdown brought up (/run/network/ifstate: `eno1=eno1` lines). */
export function parseIfstate(text: string): Set<string> {
  return new Set(text.split("\n").map((l) => l.split("=")[0]!.trim()).filter(Boolean));
}

/**
 * mptcpd: its plugins are the `load-plugins` list (command line first, then mptcpd.conf), or,
 * without one, every plugin installed in its folder.
 */
export function parseMptcpd(conf: string | undefined, pluginFiles: string, commandLine: string | undefined, running: boolean): MptcpdFacts {
  const config: Record<string, string> = {};
  for (const raw of (conf ?? "").split("\n")) {
    const line = raw.trim();
    const at = line.indexOf("=");
    if (!line || line.startsWith("#") || line.startsWith("[") || at <= 0) continue;
    config[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const fromCommandLine = /--load-plugins[= ]("?)([^\s"]+)\1/.exec(commandLine ?? "")?.[2];
  const listed = fromCommandLine ?? config["load-plugins"];
  const installed = pluginFiles.split("\n").filter(Boolean).map((f) => f.slice(f.lastIndexOf("/") + 1).replace(/\.so$/, ""));
  const facts: MptcpdFacts = { running, plugins: listed ? listed.split(",").map((p) => p.trim()).filter(Boolean) : installed.sort(), config };
  if (commandLine?.trim()) facts.commandLine = commandLine.trim();
  return facts;
}

/** Builds the manager facts from the probe's sections (and its `addr` section, for interface indexes). */
export function parseManagerSections(s: ReadonlyMap<string, string>): ManagerFacts {
  const units = parseUnits(s.get("manager-units") ?? "");
  const running = (unit: string) => units.get(unit)?.active ?? false;
  const byPrefix = (prefix: string) => new Map([...s].filter(([name]) => name.startsWith(prefix)).map(([name, body]) => [name.slice(prefix.length), body]));
  const networkd = parseNetworkdConf(byPrefix("networkd-conf "), running(MANAGER_UNITS.networkd));
  const networkManager = { running: running(MANAGER_UNITS.networkManager) };
  const linkStates = byPrefix("networkd-link ");
  const nm = nmManagers(s.get("nm-devices") ?? "", byPrefix("nm-connection "), s.get("nm-files") ?? "");
  const ifupdown = parseIfstate(s.get("ifupdown") ?? "");
  const interfaces: Record<string, InterfaceManager> = {};
  for (const row of parseIpJson(s.get("addr") ?? "")) {
    const name = String(row["ifname"]);
    if (name === "lo") continue;
    const state = networkd.running ? linkStates.get(String(row["ifindex"])) : undefined;
    interfaces[name] = (state !== undefined ? networkdManager(state) : undefined) ?? nm.get(name) ?? (ifupdown.has(name) ? { kind: "ifupdown" } : { kind: "none" });
  }
  const netplan = s.get("netplan");
  return {
    systemd: s.has("manager-units"),
    interfaces,
    networkd,
    networkManager,
    netplan: { installed: netplan !== undefined, files: (netplan ?? "").split("\n").filter(Boolean) },
    mptcpd: parseMptcpd(s.get("mptcpd-conf"), s.get("mptcpd-plugins") ?? "", s.get("mptcpd-cmdline"), running(MANAGER_UNITS.mptcpd)),
  };
}
