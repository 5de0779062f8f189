/**
 * NetworkManager's side of the host state: for each device NM has a connection active on, the
 * settings of that connection we write through (policy rules, table routes, MPTCP flags). Read
 * in the same round trip as the rest of the probe (provider/host/lib.sh `nm_settings`: a section
 * `nm DEV UUID` with the connection's id, then one value per key), parsed purely here.
 */

import type { HostState, InterfaceManager } from "../../state/types";

/** The connection settings the provider reads and writes, as nmcli names them. */
export const NM_KEYS = ["connection.mptcp-flags", "ipv4.routes", "ipv4.routing-rules", "ipv6.routes", "ipv6.routing-rules", "ipv4.addresses", "ipv6.addresses", "ipv4.method", "ipv6.method"] as const;

/** The settings whose change may cut the session: addresses, rules and routes. */
export const NM_CUTTING_KEYS: readonly NmKey[] = ["ipv4.addresses", "ipv6.addresses", "ipv4.routes", "ipv4.routing-rules", "ipv6.routes", "ipv6.routing-rules"];

/** One of the settings in NM_KEYS. */
export type NmKey = (typeof NM_KEYS)[number];

/** A connection NetworkManager has active on a device, with the settings we care about as nmcli prints them. */
export interface NmConnection {
  device: string;
  uuid: string;
  id: string;
  settings: Record<NmKey, string>;
}

/** Undoes `nmcli -g` escaping (`\\:` for `:`, `\\\\` for `\\`). */
function unescapeNmcli(value: string): string {
  return value.replace(/\\(.)/g, "$1");
}

/** Parses the probe's `nm DEV UUID` sections into connections. */
export function parseNmSections(sections: ReadonlyMap<string, string>): NmConnection[] {
  const connections: NmConnection[] = [];
  for (const [name, body] of sections) {
    const head = name.split(" ");
    if (head[0] !== "nm" || head.length !== 3) continue;
    const lines = body.split("\n").map(unescapeNmcli);
    const settings = Object.fromEntries(NM_KEYS.map((key, i) => [key, (lines[i + 1] ?? "").trim()])) as Record<NmKey, string>;
    connections.push({ device: head[1]!, uuid: head[2]!, id: (lines[0] ?? "").trim(), settings });
  }
  return connections;
}

/**
 * The connection NM has active on a device, when the host's manager facts say NM manages the
 * device (the facts decide who manages what; this module only reads the settings we write).
 */
export function nmConnectionOf(state: Pick<HostState, "nm" | "facts">, device: string): NmConnection | undefined {
  const manager = state.facts.managers?.interfaces[device];
  if (manager?.kind !== "NetworkManager" || !manager.connection) return undefined;
  const uuid = manager.connection.uuid;
  return state.nm?.find((c) => c.device === device && c.uuid === uuid);
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
