/**
 * NetworkManager's side of the host state: for each device NM has a connection active on, the
 * settings of that connection we write through (policy rules, table routes, MPTCP flags). Read
 * in the same round trip as the rest of the probe (provider/host/lib.sh `nm_settings`: a section
 * `nm DEV UUID` with the connection's id, then one value per key), parsed purely here.
 */

import type { HostState } from "./types";

/** The connection settings the provider reads and writes, as nmcli names them. */
export const NM_KEYS = ["connection.mptcp-flags", "ipv4.routes", "ipv4.routing-rules", "ipv6.routes", "ipv6.routing-rules", "ipv4.addresses", "ipv6.addresses"] as const;

/** The settings that hold routes and rules, either family: changing them may cut the session. */
export const NM_ROUTE_KEYS: readonly NmKey[] = ["ipv4.routes", "ipv4.routing-rules", "ipv6.routes", "ipv6.routing-rules"];

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
