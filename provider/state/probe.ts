/**
 * Reads a host's whole MPTCP-relevant state in one round trip, and parses it.
 *
 * The probe (provider/host/probe.sh) prints one section per source (the protocol, protocol.ts,
 * frames them); the parsers here are pure and are tested on recorded output of iproute2 5.15 and
 * 6.x, whose formats differ (see test/fixtures). They read tables, scopes and route types as
 * numbers (`ip -N`) and, for older recordings, as names.
 */
import { canonicalAddress } from "../validation";
import { fingerprintsOf } from "./fingerprints";
import { parseIpJson } from "./ipJson";
import { parseManagerSections } from "./managers";
import { parseNmSections } from "../keepers/networkmanager/facts";
import { BUILTIN_TABLES, parseRtTables, tableNumber, type TableId } from "../model/table";
import type {
  ActualEndpoint,
  ActualLink,
  ActualRoute,
  ActualRule,
  EndpointFlag,
  HostState,
  MptcpLimits,
} from "./types";

export { parseIpJson } from "./ipJson";

/**
 * Sysctl subtrees every probe reads: MPTCP, TCP and socket buffers, forwarding and rp_filter.
 * Reading these takes a third of `sysctl -a`; keys elsewhere are read when a resource asks.
 */
export const SYSCTL_TREES = ["net.mptcp", "net.core", "net.ipv4", "net.ipv6.conf.all", "net.ipv6.conf.default"] as const;

/** Whether the probe's default subtrees include `key`. */
export function inSysctlTrees(key: string): boolean {
  return SYSCTL_TREES.some((tree) => key === tree || key.startsWith(`${tree}.`));
}

/** The probe's arguments: the sysctl subtrees it always reads, then `extra` keys. */
export function probeSysctls(extra: readonly string[]): string[] {
  return [...SYSCTL_TREES, ...extra];
}


/** Parses `sysctl -a` ("key = value" lines); values keep the kernel's spacing normalized to one space. */
export function parseSysctls(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf(" = ");
    if (at <= 0) continue;
    values[line.slice(0, at)] = normalizeSysctlValue(line.slice(at + 3));
  }
  return values;
}

/** "4096\t131072  33554432" and "4096 131072 33554432" are the same sysctl value. */
export function normalizeSysctlValue(value: string | number): string {
  return String(value).trim().split(/\s+/).join(" ");
}

/** Parses `ip mptcp limits show` text ("add_addr_accepted 2 subflows 2"); undefined when MPTCP is missing. */
export function parseLimits(text: string): MptcpLimits | undefined {
  const words = text.trim().split(/\s+/);
  const value = (name: string): number | undefined => {
    const i = words.indexOf(name);
    const n = i >= 0 ? Number(words[i + 1]) : NaN;
    return Number.isInteger(n) ? n : undefined;
  };
  const addAddrAccepted = value("add_addr_accepted");
  const subflows = value("subflows");
  if (addAddrAccepted === undefined && subflows === undefined) return undefined;
  // The kernel omits a limit that is zero in some versions.
  return { addAddrAccepted: addAddrAccepted ?? 0, subflows: subflows ?? 0 };
}

const KNOWN_FLAGS: ReadonlySet<string> = new Set(["signal", "subflow", "backup", "fullmesh", "laminar", "implicit"]);

function toFlags(words: unknown[]): EndpointFlag[] {
  return words.filter((w): w is EndpointFlag => typeof w === "string" && KNOWN_FLAGS.has(w)).sort();
}

/** iproute2 prints flags it has no name for as hex ("rawflags":"08" is fullmesh on 5.15). */
function rawFlags(raw: unknown): string[] {
  if (typeof raw !== "string" || !/^[0-9a-fA-F]+$/.test(raw)) return [];
  const bits = parseInt(raw, 16);
  const names: Array<[number, string]> = [[1, "signal"], [2, "subflow"], [4, "backup"], [8, "fullmesh"], [16, "implicit"], [32, "laminar"]];
  return names.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
}


/** Parses `ip -j mptcp endpoint show`. */
export function parseEndpointsJson(text: string): ActualEndpoint[] {
  const rows = parseIpJson(text);
  return rows.map((row) => {
    const endpoint: ActualEndpoint = {
      id: Number(row["id"]),
      address: String(row["address"]),
      // iproute2 6.x prints each flag as a boolean key ("signal": true); some builds use a "flags" array.
      flags: toFlags([
        ...(Array.isArray(row["flags"]) ? row["flags"] : []),
        ...Object.keys(row).filter((key) => row[key] === true),
        ...rawFlags(row["rawflags"]),
      ]),
    };
    if (row["port"] !== undefined) endpoint.port = Number(row["port"]);
    if (typeof row["dev"] === "string") endpoint.dev = row["dev"];
    return endpoint;
  });
}

/** Parses the text form ("192.168.0.1 port 5201 id 1 signal backup dev eno2"), used where -j fails. */
export function parseEndpointsText(text: string): ActualEndpoint[] {
  const endpoints: ActualEndpoint[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0 || !/^[0-9a-fA-F:.]+$/.test(words[0] ?? "")) continue;
    const endpoint: ActualEndpoint = { id: 0, address: words[0]!, flags: [] };
    const flags: string[] = [];
    for (let i = 1; i < words.length; i++) {
      const word = words[i]!;
      if (word === "id") endpoint.id = Number(words[++i]);
      else if (word === "port") endpoint.port = Number(words[++i]);
      else if (word === "dev") endpoint.dev = words[++i];
      else if (word === "rawflags") flags.push(...rawFlags(words[++i]));
      else flags.push(word);
    }
    endpoint.flags = toFlags(flags);
    endpoints.push(endpoint);
  }
  return endpoints;
}

/** Parses `ip -j addr show`. */
export function parseLinks(text: string): ActualLink[] {
  const rows = parseIpJson(text);
  return rows.map((row) => {
    const flags = Array.isArray(row["flags"]) ? (row["flags"] as string[]) : [];
    const infos = Array.isArray(row["addr_info"]) ? (row["addr_info"] as Array<Record<string, unknown>>) : [];
    return {
      name: String(row["ifname"]),
      up: flags.includes("UP"),
      operState: String(row["operstate"] ?? "UNKNOWN"),
      mtu: Number(row["mtu"] ?? 0),
      addresses: infos
        .filter((info) => info["local"] !== undefined && info["prefixlen"] !== undefined)
        .map((info) => `${String(info["local"])}/${Number(info["prefixlen"])}`),
    };
  });
}

/** Route types by the number `ip -N` prints (rtnetlink's RTN_*); unicast is the kernel's default. */
const ROUTE_TYPES: Record<string, string> = { "1": "unicast", "2": "local", "3": "broadcast", "4": "anycast", "5": "multicast", "6": "blackhole", "7": "unreachable", "8": "prohibit", "9": "throw", "10": "nat" };
/** Route scopes by number (rtnetlink's RT_SCOPE_*); global is the default and stays unset. */
const ROUTE_SCOPES: Record<string, string> = { "0": "global", "200": "site", "253": "link", "254": "host", "255": "nowhere" };

/** A name ip prints with or without -N: numbers mapped through `names`, names kept. */
function named(value: unknown, names: Record<string, string>): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value);
  return names[text] ?? text;
}

/** A prefix from ip's JSON: the address with its length, or bare for a host prefix. */
function prefixOf(address: unknown, length: unknown): string | undefined {
  if (typeof address !== "string" || address === "all") return undefined;
  return length === undefined ? address : `${address}/${Number(length)}`;
}

/** Parses `ip -N -j rule show` (or without -N, tables named through `tables`). */
export function parseRules(text: string, tables: Record<string, TableId> = BUILTIN_TABLES): ActualRule[] {
  return parseIpJson(text).map((row) => {
    const rule: ActualRule = { priority: Number(row["priority"]), table: tableNumber(row["table"] as string | undefined, tables) ?? 0 };
    const from = prefixOf(row["src"], row["srclen"]);
    const to = prefixOf(row["dst"], row["dstlen"]);
    if (from !== undefined) rule.from = from;
    if (to !== undefined) rule.to = to;
    if (typeof row["iif"] === "string") rule.iif = row["iif"];
    if (typeof row["oif"] === "string") rule.oif = row["oif"];
    if (typeof row["fwmark"] === "string") rule.fwmark = row["fwmask"] !== undefined ? `${row["fwmark"]}/${String(row["fwmask"])}` : row["fwmark"];
    if (row["action"] !== undefined) rule.action = named(row["action"], ROUTE_TYPES)!;
    return rule;
  });
}

/** Parses `ip -N -j route show table all` (or without -N); rows without "table" are in main. */
export function parseRoutes(text: string, tables: Record<string, TableId> = BUILTIN_TABLES): ActualRoute[] {
  return parseIpJson(text).map((row) => {
    const route: ActualRoute = { table: tableNumber(row["table"] as string | undefined, tables) ?? BUILTIN_TABLES["main"]!, dst: String(row["dst"]) };
    const type = named(row["type"], ROUTE_TYPES);
    if (type !== undefined && type !== "unicast") route.type = type;
    if (typeof row["dev"] === "string") route.dev = row["dev"];
    if (typeof row["gateway"] === "string") route.via = row["gateway"];
    const scope = named(row["scope"], ROUTE_SCOPES);
    if (scope !== undefined && scope !== "global") route.scope = scope;
    if (row["metric"] !== undefined) route.metric = Number(row["metric"]);
    if (typeof row["prefsrc"] === "string") route.src = row["prefsrc"];
    if (row["protocol"] !== undefined) route.protocol = String(row["protocol"]);
    return route;
  });
}

/** Builds a HostState from the probe's sections, by name. */
export function parseProbeSections(s: ReadonlyMap<string, string>): HostState {
  const section = (name: string) => s.get(name) ?? "";
  const sysctls = parseSysctls(section("sysctl"));
  const words = (key: string) => (sysctls[key] ?? "").split(" ").filter(Boolean);
  const files: Record<string, string> = {};
  for (const [name, body] of s) {
    if (name.startsWith("file ")) files[name.slice(5)] = body.endsWith("\n") ? body : `${body}\n`;
  }
  const session = section("session").trim().split(/\s+/);
  const tableNames = parseRtTables([...s].filter(([name]) => name.startsWith("rt-tables ")).map(([, body]) => body));
  const state: HostState = {
    facts: {
      hostname: section("hostname").trim(),
      kernelRelease: section("kernel").trim(),
      iproute2Version: parseIproute2Version(section("iproute2")),
      mptcpAvailable: sysctls["net.mptcp.enabled"] !== undefined,
      pathManagers: words("net.mptcp.available_path_managers"),
      schedulers: words("net.mptcp.available_schedulers"),
      managers: parseManagerSections(s),
    },
    sysctls,
    endpoints: s.has("endpoints-text") ? parseEndpointsText(section("endpoints-text")) : parseEndpointsJson(section("endpoints")),
    links: parseLinks(section("addr")),
    rules: [...parseRules(section("rule"), tableNames), ...parseRules(section("rule6"), tableNames).map((r) => ({ ...r, family: 6 as const }))],
    routes: [...parseRoutes(section("route"), tableNames), ...parseRoutes(section("route6"), tableNames).map((r) => ({ ...r, family: 6 as const }))],
    files,
    tableNames,
    fingerprints: fingerprintsOf(s),
  };
  const limits = parseLimits(section("limits"));
  if (limits) state.limits = limits;
  const nm = parseNmSections(s);
  if (nm.length > 0) state.nm = nm;
  // Compared with declared addresses, so in their canonical form (an IPv4-mapped one as IPv4).
  const unmapped = (a: string) => canonicalAddress(a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1"));
  if (session.length === 4 && session[2]) state.sessionLocalAddress = unmapped(session[2]);
  if (session.length === 4 && session[0]) state.sessionPeerAddress = unmapped(session[0]);
  const dev = /\bdev (\S+)/.exec(section("session-route"))?.[1];
  if (dev) state.sessionDevice = dev;
  return state;
}

/** "ip utility, iproute2-6.1.0, libbpf 1.1.2" -> "6.1.0"; "ip utility, iproute2-ss200127" -> "ss200127". */
export function parseIproute2Version(text: string): string {
  const match = /iproute2-(?:v)?([0-9][0-9.]*[0-9]|ss[0-9]+)/.exec(text);
  return match?.[1] ?? text.trim();
}

/** Compares dotted versions numerically: is `version` at least `minimum`? Unknown forms count as old. */
export function versionAtLeast(version: string, minimum: string): boolean {
  if (!/^[0-9.]+$/.test(version)) return false;
  const a = version.split(".").map(Number);
  const b = minimum.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
