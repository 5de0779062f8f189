/**
 * A policy table written through NetworkManager: its rules and routes become entries of the
 * connection NM has active on the table's interface (`ipvX.routing-rules`, `ipvX.routes` with
 * `table=N`), so NM re-adds them whenever it (re)activates the connection. Pure.
 */
import { isIP } from "node:net";
import type { Connection } from "../connection";
import type { NmOp } from "../operations";
import { PlanError } from "../resource";
import { NM_ROUTE_KEYS, nmConnectionOf, type NmConnection, type NmKey } from "../state/nm";
import type { HostState } from "../state/types";
import { routeInterface, type RouteItem, type RuleItem } from "./writeThrough";
import { canonicalAddress, canonicalCidr, inSubnet, splitCidr } from "../validation";

/** The connection that holds a table, and what its settings were before we first wrote them. */
export interface NmHome {
  device: string;
  uuid: string;
  connectionId: string;
  /** The connection's values of the keys we write, as they were before create: delete puts them back. */
  previous: Partial<Record<NmKey, string>>;
}

type Rule = RuleItem;
type Route = RouteItem;
/** The parts of a policy route this module reads. */
interface NmTable {
  connection: Connection;
  table: number;
  rules: Rule[];
  routes: Route[];
}

const keysOf = (family: 4 | 6) => ({ routes: `ipv${family}.routes` as NmKey, rules: `ipv${family}.routing-rules` as NmKey });

/** The device a rule's source lives on: the link holding that address, or an address in that subnet. */
function ruleDevice(rule: Rule, actual: HostState): string | undefined {
  if (rule.from === "all") return undefined;
  const exact = actual.links.find((l) => l.addresses.some((c) => splitCidr(c)?.address === rule.from));
  return (exact ?? actual.links.find((l) => l.addresses.some((c) => inSubnet(splitCidr(c)!.address, canonicalCidr(rule.from)))))?.name;
}

/**
 * The NM connection that holds the table, or undefined when NM manages none of its interfaces.
 * A table whose items sit on several interfaces, some NM's, cannot be written through whole.
 */
export function nmConnectionForTable(p: NmTable, actual: HostState): NmConnection | undefined {
  const devices = new Set([...p.routes.map((r) => routeInterface(r, actual)), ...p.rules.map((r) => ruleDevice(r, actual))].filter((d): d is string => d !== undefined));
  const managed = [...devices].map((d) => nmConnectionOf(actual, d)).filter((c): c is NmConnection => c !== undefined);
  if (managed.length === 0) return undefined;
  const uuids = new Set(managed.map((c) => c.uuid));
  if (uuids.size > 1 || managed.length < devices.size) {
    const who = [...devices].map((d) => `${d} (${nmConnectionOf(actual, d) ? "NetworkManager" : "not NetworkManager"})`).join(", ");
    throw new PlanError(
      p.connection,
      `table ${p.table}`,
      `its rules and routes sit on ${who}; NetworkManager keeps a table only inside one connection, so it would drop the rest when it reactivates. Fix: declare one table per interface`,
    );
  }
  return managed[0];
}

/** NM 1.42 takes a route's scope only as the kernel's number (rtnetlink's RT_SCOPE_*). */
const SCOPE_NUMBERS: Record<string, number> = { site: 200, link: 253, host: 254 };

/** A route as NM writes it: "DST/PREFIX [VIA] [METRIC] table=N [scope=S] [src=A]". */
function nmRoute(r: Route, p: NmTable): string {
  const family = r.family ?? 4;
  const dst = r.dst === "default" ? (family === 6 ? "::/0" : "0.0.0.0/0") : splitCidr(r.dst) ? canonicalCidr(r.dst) : `${canonicalAddress(r.dst)}/${family === 6 ? 128 : 32}`;
  const scope = r.scope !== undefined ? `scope=${SCOPE_NUMBERS[r.scope] ?? r.scope}` : undefined;
  return [dst, r.via, r.metric, `table=${p.table}`, scope, r.src !== undefined ? `src=${r.src}` : undefined].filter((w) => w !== undefined).join(" ");
}

/** A rule as NM writes it: "priority P [from F] table N"; NM requires the priority. */
function nmRule(r: Rule, p: NmTable, i: number): string {
  if (r.priority === undefined) {
    throw new PlanError(p.connection, `table ${p.table}`, `rules[${i}] has no priority, which NetworkManager requires for a routing rule. Fix: give rules[${i}].priority`);
  }
  return [`priority ${r.priority}`, r.from !== "all" ? `from ${r.from}` : undefined, `table ${p.table}`].filter(Boolean).join(" ");
}

/** Splits an nmcli list value ("a, b") into its entries. */
function nmEntries(value: string): string[] {
  return value.split(",").map((e) => e.trim()).filter((e) => e !== "" && e !== "--");
}

/** One entry in a form where NM's spelling and ours compare equal (attributes sorted, addresses canonical). */
export function nmEntryKey(key: NmKey, entry: string): string {
  const words = entry.split(/\s+/).filter(Boolean);
  if (key.endsWith(".routing-rules")) {
    const pairs = new Map<string, string>();
    for (let i = 0; i + 1 < words.length; i += 2) pairs.set(words[i]!, words[i + 1]!);
    const from = pairs.get("from");
    if (from !== undefined) {
      const cidr = splitCidr(from);
      if (cidr && cidr.prefix === 0) pairs.delete("from");
      else pairs.set("from", cidr && cidr.prefix === (cidr.family === 4 ? 32 : 128) ? canonicalAddress(cidr.address) : cidr ? canonicalCidr(from) : canonicalAddress(from));
    }
    return [...pairs].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(" ");
  }
  const [dst = "", ...rest] = words;
  const attrs = rest.filter((w) => w.includes("=")).sort();
  const plain = rest.filter((w) => !w.includes("=")).map((w) => (isIP(w) ? canonicalAddress(w) : w));
  return [splitCidr(dst) ? canonicalCidr(dst) : dst, ...plain, ...attrs].join(" ");
}

/** Whether an entry belongs to a table ("table=N" on a route, "table N" on a rule). */
function inTable(key: NmKey, entry: string, table: number): boolean {
  return key.endsWith(".routing-rules") ? new RegExp(`(^|\\s)table ${table}(\\s|$)`).test(entry) : entry.split(/\s+/).includes(`table=${table}`);
}

/** The table's entries per connection key, as NM writes them. Throws PlanError on what NM cannot hold. */
function nmTableEntries(p: NmTable): Map<NmKey, string[]> {
  const out = new Map<NmKey, string[]>();
  const add = (key: NmKey, entry: string) => out.set(key, [...(out.get(key) ?? []), entry]);
  p.rules.forEach((r, i) => add(keysOf(r.family ?? 4).rules, nmRule(r, p, i)));
  p.routes.forEach((r) => add(keysOf(r.family ?? 4).routes, nmRoute(r, p)));
  return out;
}


/**
 * The connection's values with the table's entries replaced by `entries` (other tables' and the
 * user's own entries kept, in their order); only keys whose value changes are returned.
 */
function nmValuesWith(conn: NmConnection, table: number, entries: ReadonlyMap<NmKey, readonly string[]>): Partial<Record<NmKey, string>> {
  const set: Partial<Record<NmKey, string>> = {};
  for (const key of NM_ROUTE_KEYS) {
    const have = nmEntries(conn.settings[key]);
    const want = [...have.filter((e) => !inTable(key, e, table)), ...(entries.get(key) ?? [])];
    const same = have.length === want.length && have.every((e, i) => nmEntryKey(key, e) === nmEntryKey(key, want[i]!));
    if (!same) set[key] = want.join(", ");
  }
  return set;
}

/** Whether the connection holds exactly the table's entries (NM will put them back after its events). */
export function nmHoldsTable(conn: NmConnection | undefined, p: NmTable): boolean {
  return conn !== undefined && Object.keys(nmValuesWith(conn, p.table, nmTableEntries(p))).length === 0;
}

/** The operation that writes the table into the connection and reapplies it (settings unchanged: reapply only). */
export function nmWriteTable(conn: NmConnection, p: NmTable): NmOp {
  return { type: "nm", device: conn.device, uuid: conn.uuid, connectionId: conn.id, set: nmValuesWith(conn, p.table, nmTableEntries(p)) };
}

/** The table's entries the connection had before we wrote it (the user's own, if any), per key. */
function previousEntries(home: NmHome, table: number): Map<NmKey, string[]> {
  return new Map(NM_ROUTE_KEYS.map((key) => [key, nmEntries(home.previous[key] ?? "").filter((e) => inTable(key, e, table))]));
}

/** What the connection looked like before create: for recording in the outputs. */
export function nmHomeOf(conn: NmConnection): NmHome {
  return { device: conn.device, uuid: conn.uuid, connectionId: conn.id, previous: Object.fromEntries(NM_ROUTE_KEYS.map((k) => [k, conn.settings[k]])) };
}

/** The operation that takes the table out of the connection and puts back what it held before create. */
export function nmRestoreTable(conn: NmConnection, home: NmHome, table: number): NmOp | undefined {
  const set = nmValuesWith(conn, table, previousEntries(home, table));
  return Object.keys(set).length ? { type: "nm", device: conn.device, uuid: conn.uuid, connectionId: conn.id, set, note: "(restore)" } : undefined;
}

/** What NM would undo in a table it holds, as {property, reason}: for preview (from the outputs) and up (from the host). */
export function nmTableProblems(news: { table: number; persist: boolean; rules: Rule[] }, home: Pick<NmHome, "device" | "connectionId"> | undefined): Array<{ property: string; reason: string }> {
  if (!home) return [];
  const who = `${home.device} is managed by NetworkManager (connection ${home.connectionId})`;
  const problems: Array<{ property: string; reason: string }> = [];
  if (!news.persist) {
    problems.push({ property: "persist", reason: `${who}, which drops table ${news.table}'s routes whenever it reactivates the connection. Fix: leave persist at true, so the table goes into the connection and NM keeps it` });
  }
  news.rules.forEach((r, i) => {
    if (r.priority === undefined) problems.push({ property: `rules[${i}].priority`, reason: `${who}, which requires a priority on every routing rule it holds. Fix: give rules[${i}].priority` });
  });
  return problems;
}
