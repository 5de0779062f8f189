/**
 * Who else configures the host's network: systemd-networkd (and netplan, which renders to it),
 * NetworkManager, ifupdown and mptcpd, parsed from the probe's sections (provider/host/probe.sh,
 * `probe_managers`).
 *
 * Sources, chosen because they exist on every systemd we support (249 on Ubuntu 22.04 to 257):
 * networkd's per-link state files (/run/systemd/netif/links/IFINDEX: ADMIN_STATE, NETWORK_FILE),
 * networkd.conf with its drop-ins, `systemctl show` for the daemons, NetworkManager's own CLI,
 * /run/network/ifstate for ifupdown, mptcpd.conf and its command line.
 */
import { MANAGER_UNITS } from "../hostpaths";
import { parseIfstate } from "../keepers/ifupdown/facts";
import { networkdManager, parseKeyValues, parseNetworkdConf } from "../keepers/networkd/facts";
import { nmManagers } from "../keepers/networkmanager/facts";
import { parseIpJson } from "./ipJson";
import type { InterfaceManager, ManagerFacts, MptcpdFacts } from "./types";

/** Parses `systemctl show -p Id,ActiveState,MainPID A B C`: blank-line-separated blocks, by Id. */
export function parseUnits(text: string): Map<string, { active: boolean; mainPid: number }> {
  const units = new Map<string, { active: boolean; mainPid: number }>();
  for (const block of text.split(/\n\s*\n/)) {
    const props = parseKeyValues(block);
    if (props["Id"]) units.set(props["Id"], { active: props["ActiveState"] === "active", mainPid: Number(props["MainPID"] ?? 0) });
  }
  return units;
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
  // networkd's state files are named by the interface's index.
  const linkStates = new Map([...byPrefix("networkd-link ")].map(([path, body]) => [path.slice(path.lastIndexOf("/") + 1), body]));
  const nm = nmManagers(s.get("nm-devices") ?? "", byPrefix("nm-connection "), s.get("nm-files") ?? "");
  const ifupdown = parseIfstate(s.get("ifupdown") ?? "");
  const interfaces: Record<string, InterfaceManager> = {};
  for (const row of parseIpJson(s.get("addr") ?? "")) {
    const name = String(row["ifname"]);
    if (name === "lo") continue;
    const state = networkd.running ? linkStates.get(String(row["ifindex"])) : undefined;
    interfaces[name] = (state !== undefined ? networkdManager(state) : undefined) ?? nm.get(name) ?? (ifupdown.has(name) ? { kind: "ifupdown" } : { kind: "none" });
  }
  const yaml = s.get("netplan");
  return {
    systemd: s.has("manager-units"),
    interfaces,
    networkd,
    networkManager,
    netplan: { installed: yaml !== undefined, files: (yaml ?? "").split("\n").filter(Boolean) },
    mptcpd: parseMptcpd(s.get("mptcpd-conf"), s.get("mptcpd-plugins") ?? "", s.get("mptcpd-cmdline"), running(MANAGER_UNITS.mptcpd)),
  };
}
