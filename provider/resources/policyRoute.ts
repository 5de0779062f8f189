/**
 * Policy route: one routing table with its `from` rules and its routes, the guide's routing per
 * source address. The resource owns the table: rules that look it up and routes in it that it
 * does not declare are removed, and delete empties it.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { hostedSchema } from "../connection";
import type { Family, ManagerConfigOp, Operation, RouteOp, RuleOp } from "../operations";
import { defaultMetric } from "../operations/route";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../persist";
import type { ActualRoute, ActualRule, HostState } from "../state/types";
import { PlanError, type ResourceDefinition } from "../resource";
import { canonicalAddress, canonicalCidr, inSubnet, interfaceName, ipAddress, routeDestination, ruleSource, splitCidr, tableId } from "../validation";
import { nmConnectionOf, type NmConnection } from "../state/nm";
import { nmConnectionForTable, nmHoldsTable, nmHomeOf, nmRestoreTable, nmTableProblems, nmWriteTable, type NmHome } from "./nmRoutes";
import { configOwner, isConfigPathOf, splitByManager, type ManagerSplit, type WriteThrough } from "./writeThrough";

/** A prefix as iproute2 prints it: host prefixes bare, /0 as `everything`, networks canonical. */
function kernelForm(prefix: string, everything: "all" | "default"): string {
  const parts = splitCidr(prefix);
  if (!parts) return prefix === everything ? prefix : canonicalAddress(prefix);
  if (parts.prefix === 0) return everything;
  return parts.prefix === (parts.family === 4 ? 32 : 128) ? canonicalAddress(parts.address) : canonicalCidr(prefix);
}

/** The kernel prints "192.168.0.2/32" as "192.168.0.2" and "0.0.0.0/0" as "all": compare in that form. */
export function canonicalSource(source: string): string {
  return kernelForm(source, "all");
}

/** Route destinations as the kernel prints them: host routes bare, /0 as "default". */
export function canonicalDestination(dst: string): string {
  return kernelForm(dst, "default");
}

const familyChoice = z.union([z.literal(4), z.literal(6)], { error: "family is 4 or 6" }).optional();

/** The family of an address or network, undefined for words such as "default". */
function familyOfValue(value: string | undefined): Family | undefined {
  if (value === undefined) return undefined;
  const family = isIP(value) || splitCidr(value)?.family;
  return family === 4 || family === 6 ? family : undefined;
}

/**
 * The one family of an item: the declared one, else the one its addresses imply (IPv4 when
 * nothing says, as iproute2 assumes). Stored as `family: 6` or not at all, like the probe does.
 */
function settleFamily(declared: Family | undefined, fields: Record<string, string | undefined>, ctx: z.RefinementCtx): { family?: 6 } {
  let family = declared;
  let from = declared === undefined ? undefined : "family";
  for (const [name, value] of Object.entries(fields)) {
    const found = familyOfValue(value);
    if (found === undefined) continue;
    if (family !== undefined && found !== family) {
      ctx.addIssue({ code: "custom", path: [name], message: `${value} is IPv${found} but ${from} says IPv${family}` });
      continue;
    }
    family = found;
    from ??= name;
  }
  return family === 6 ? { family: 6 } : {};
}

const ruleSchema = z
  .strictObject({
    /** Omitted or "all": every source. */
    from: z.union([z.literal("all"), ruleSource]).optional(),
    priority: z
      .number()
      .int("priority is an integer")
      .min(1, "priority is 1..32765 (0, 32766 and 32767 hold the kernel's local, main and default rules)")
      .max(32765, "priority is 1..32765 (32766 and 32767 hold the main and default rules)")
      .optional(),
    /** Needed only for an IPv6 rule without a source. */
    family: familyChoice,
  })
  .transform(({ from, priority, family }, ctx) => ({
    from: from === undefined || from === "all" ? "all" : canonicalSource(from),
    ...(priority !== undefined ? { priority } : {}),
    ...settleFamily(family, { from }, ctx),
  }));

const routeSchema = z
  .strictObject({
    dst: routeDestination,
    dev: interfaceName.optional(),
    via: ipAddress.optional(),
    // "global" is the kernel's default and iproute2 never prints it: store it as unset.
    scope: z
      .enum(["global", "link", "host", "site"])
      .transform((s) => (s === "global" ? undefined : s))
      .optional(),
    metric: z.number().int("metric is an integer").min(0).max(4294967295).optional(),
    src: ipAddress.optional(),
    /** Needed only for an IPv6 route whose destination is "default" and that has no gateway. */
    family: familyChoice,
  })
  .refine((r) => r.dev !== undefined || r.via !== undefined, { message: "a route needs dev or via (or both)", path: ["dev"] })
  .transform(({ family, ...r }, ctx) => ({ ...r, dst: canonicalDestination(r.dst), ...settleFamily(family, { dst: r.dst, via: r.via, src: r.src }, ctx) }));

/** A policy route's own fields (the stack config composes them too). */
export const policyRouteFields = {
  table: tableId,
  rules: z.array(ruleSchema).default([]),
  routes: z.array(routeSchema).default([]),
  persist: z.boolean().default(true),
  /** Allow rules that capture the address this SSH session uses (off: such plans are refused). */
  allowSessionDisruption: z.boolean().default(false),
};

type TableItems = { table: number; rules: Array<z.infer<typeof ruleSchema>>; routes: Array<z.infer<typeof routeSchema>> };

/** Each route and rule once per table, whatever the spelling. */
export function policyRouteRules(p: TableItems, ctx: z.RefinementCtx): void {
  const keys = new Set<string>();
  p.routes.forEach((r, i) => {
    const key = `${r.dst} metric ${r.metric ?? defaultMetric(r.family ?? 4)}${r.family === 6 ? " (IPv6)" : ""}`;
    if (keys.has(key)) ctx.addIssue({ code: "custom", path: ["routes", i, "dst"], message: `route ${key} is declared twice in table ${p.table}` });
    keys.add(key);
  });
  const rules = new Set<string>();
  p.rules.forEach((r, i) => {
    const key = `${r.from}/${r.priority ?? "auto"}/${r.family ?? 4}`;
    if (rules.has(key)) ctx.addIssue({ code: "custom", path: ["rules", i, "from"], message: `rule from ${r.from} is declared twice` });
    rules.add(key);
  });
}

/** Policy route inputs. */
export const policyRouteSchema = z.strictObject({ ...hostedSchema, ...policyRouteFields }).superRefine(policyRouteRules);

/** Validated inputs. */
export type PolicyRouteInputs = z.infer<typeof policyRouteSchema>;
type DesiredRule = PolicyRouteInputs["rules"][number];
type DesiredRoute = PolicyRouteInputs["routes"][number];
/**
 * Outputs: rules and routes as the host has them, which manager keeps them per interface, and
 * `nm` when NetworkManager's connection holds the table (with what that connection held before).
 */
export type PolicyRouteOutputs = PolicyRouteInputs & { persisted: boolean; through?: Record<string, string>; nm?: NmHome };

/** A table's items split by who keeps them. */
type Split = ManagerSplit<DesiredRule, DesiredRoute>;

const partPath = (table: number) => bootPartPath(BOOT_ORDER.route, `table-${table}`);

/** A rule operation for a declared or a host rule. */
function ruleOp(action: RuleOp["action"], table: number, rule: { from?: string | undefined; priority?: number | undefined; family?: 6 | undefined }, note?: string): RuleOp {
  return { type: "rule", action, family: rule.family ?? 4, from: rule.from ?? "all", priority: rule.priority, table, note };
}

/** A route operation for a declared or a host route (a delete names only what identifies it). */
function routeOp(action: RouteOp["action"], table: number, r: DesiredRoute | ActualRoute, note?: string): RouteOp {
  const { dst, via, dev, scope, src, metric } = r;
  const route = action === "del" ? { dst, via, dev, metric } : { dst, via, dev, scope, src, metric };
  return { type: "route", action, family: r.family ?? 4, table, route, note };
}

/** The boot part's records: only what no network manager keeps. */
function bootLines(p: PolicyRouteInputs, split: Split): PartRecord[] {
  const routes = split.direct.routes.map(({ dst, via, dev, scope, src, metric, family }): PartRecord => ({ kind: "route", family: family ?? 4, table: p.table, dst, via, dev, scope, src, metric }));
  const rules = split.direct.rules.map(({ from, priority, family }): PartRecord => ({ kind: "rule", family: family ?? 4, table: p.table, priority, from }));
  return [...routes, ...rules];
}

/** Which items go through a network manager on this host (refusals are the planner's to raise). */
function managerSplit(p: PolicyRouteInputs, actual: HostState): Split {
  return splitByManager(p.table, p.rules, p.routes, p.persist, actual);
}

/** The NetworkManager connection that holds the table (undefined when NM manages none of it, or it is split). */
function nmHolder(p: PolicyRouteInputs, actual: HostState): NmConnection | undefined {
  try {
    return nmConnectionForTable(p, actual);
  } catch {
    return undefined; // split across managers: the planner refuses it
  }
}

/** Whether the boot part and our manager files (or NM's connection) say what the inputs say. */
function policyPersisted(p: PolicyRouteInputs, actual: HostState): boolean {
  const nm = nmHolder(p, actual);
  if (nm) return nmHoldsTable(nm, p) && partIsCurrent(partPath(p.table), undefined, actual);
  const split = managerSplit(p, actual);
  const ours = Object.keys(actual.files).filter((f) => isConfigPathOf(f, p.table));
  const filesCurrent = split.through.every((t) => actual.files[t.path] === t.content) && ours.every((f) => split.through.some((t) => t.path === f));
  return filesCurrent && partIsCurrent(partPath(p.table), p.persist ? bootLines(p, split) : undefined, actual);
}

/** Where each interface's items go on this host: "netplan", "networkd", or "ip" (the kernel and our boot replay). */
function throughOf(p: PolicyRouteInputs, actual: HostState): Record<string, string> {
  const nm = nmHolder(p, actual);
  if (nm) return { [nm.device]: "NetworkManager" };
  const split = managerSplit(p, actual);
  const through: Record<string, string> = {};
  for (const r of [...split.direct.routes]) if (r.dev !== undefined) through[r.dev] = "ip";
  for (const t of split.through) through[t.iface] = t.manager;
  return through;
}

/** Whether the kernel's rule is the declared one (an unset priority matches any). */
export function ruleMatches(want: DesiredRule, have: ActualRule): boolean {
  return (have.family ?? 4) === (want.family ?? 4) && (have.from ?? "all") === want.from && (want.priority === undefined || want.priority === have.priority);
}

/** Whether the kernel's route is the declared one; unset fields match what the kernel chose. */
export function routeMatches(want: DesiredRoute, have: ActualRoute): boolean {
  return (
    (have.family ?? 4) === (want.family ?? 4) &&
    have.dst === want.dst &&
    (want.dev === undefined || want.dev === have.dev) &&
    (want.via === undefined || want.via === have.via) &&
    (want.scope === undefined || want.scope === have.scope) &&
    (want.src === undefined || want.src === have.src) &&
    // Unset metric: whatever the kernel chose (0 for IPv4, 1024 for IPv6).
    (want.metric === undefined || want.metric === (have.metric ?? 0))
  );
}

function addressCovers(rule: DesiredRule, address: string): boolean {
  const source = rule.from;
  if (isIP(address) !== (rule.family ?? 4)) return false;
  if (source === "all" || source === canonicalAddress(address)) return true;
  return isIP(address) !== 0 && inSubnet(address, source);
}

/** Plans rules and routes of the table; what the table holds beyond the declaration goes. */
export function planPolicyRoute(p: PolicyRouteInputs, actual: HostState): Operation[] {
  const table = p.table;
  const changes: Operation[] = [];
  for (const r of p.routes) {
    if (r.dev !== undefined && !actual.links.some((l) => l.name === r.dev)) {
      throw new PlanError(p.connection, `table ${p.table}`, `route ${r.dst} uses interface ${r.dev}, which does not exist on the host`);
    }
  }
  if (!p.allowSessionDisruption && actual.sessionLocalAddress) {
    const session = actual.sessionLocalAddress;
    const capturing = p.rules.find((r) => addressCovers(r, session));
    if (capturing && !actual.rules.some((h) => h.table === table && ruleMatches(capturing, h))) {
      throw new PlanError(
        p.connection,
        `table ${p.table}`,
        `refusing rule from ${capturing.from}: this SSH session uses ${session}, whose replies would be routed by table ${p.table}. Set allowSessionDisruption: true to do it anyway`,
      );
    }
  }
  const nm = nmConnectionForTable(p, actual);
  const undone = nmTableProblems(p, nm ? { device: nm.device, connectionId: nm.id } : undefined);
  if (undone.length > 0) throw new PlanError(p.connection, `table ${p.table}`, undone.map((f) => `${f.property}: ${f.reason}`).join("; "));
  if (nm) return planThroughNm(p, nm, actual);
  const split = managerSplit(p, actual);
  if (split.refusals.length > 0) throw new PlanError(p.connection, `table ${p.table}`, split.refusals.join("; "));
  const haveRoutes = actual.routes.filter((r) => r.table === table);
  for (const have of haveRoutes) {
    // A declared direct route with the same destination and metric replaces this one in place.
    const replaced = split.direct.routes.some((want) => routeMatches({ dst: want.dst, metric: want.metric, family: want.family }, have));
    if (!p.routes.some((want) => routeMatches(want, have)) && !replaced) changes.push(routeOp("del", p.table, have, "(not declared)"));
  }
  for (const want of split.direct.routes) if (!haveRoutes.some((have) => routeMatches(want, have))) changes.push(routeOp("replace", p.table, want));
  const haveRules = actual.rules.filter((r) => r.table === table);
  for (const have of haveRules) {
    if (!p.rules.some((want) => ruleMatches(want, have))) changes.push(ruleOp("del", p.table, have, "(not declared)"));
  }
  for (const want of split.direct.rules) if (!haveRules.some((have) => ruleMatches(want, have))) changes.push(ruleOp("add", p.table, want));
  changes.push(...planThrough(p, split, actual));
  changes.push(...persistPart(partPath(p.table), p.persist ? bootLines(p, split) : undefined, actual));
  return changes;
}

/**
 * NetworkManager holds the table: its rules and routes go into the connection and NM applies them
 * (reapply). What the table holds beyond the declaration goes, and a route NM would add beside a
 * different one with the same destination goes first.
 */
function planThroughNm(p: PolicyRouteInputs, nm: NmConnection, actual: HostState): Operation[] {
  const table = p.table;
  const changes: Operation[] = [];
  const haveRoutes = actual.routes.filter((r) => r.table === table);
  const haveRules = actual.rules.filter((r) => r.table === table);
  const missingRoutes = p.routes.filter((want) => !haveRoutes.some((have) => routeMatches(want, have)));
  const missingRules = p.rules.filter((want) => !haveRules.some((have) => ruleMatches(want, have)));
  for (const have of haveRoutes) {
    const replaced = missingRoutes.some((want) => routeMatches({ dst: want.dst, metric: want.metric, family: want.family }, have));
    if (replaced || !p.routes.some((want) => routeMatches(want, have))) changes.push(routeOp("del", p.table, have, replaced ? "(replaced)" : "(not declared)"));
  }
  for (const have of haveRules) if (!p.rules.some((want) => ruleMatches(want, have))) changes.push(ruleOp("del", p.table, have, "(not declared)"));
  const write = nmWriteTable(nm, p);
  if (Object.keys(write.set).length > 0 || missingRoutes.length > 0 || missingRules.length > 0) changes.push(write);
  changes.push(...persistPart(partPath(p.table), undefined, actual));
  return changes;
}

/**
 * Our manager files: stale ones removed, changed ones written and applied through the manager,
 * current ones re-applied (networkctl reconfigure) when the kernel lost what they declare. Items
 * the kernel has from before are deleted first: networkd drops them anyway when it reconfigures,
 * and the wait that follows must count only what networkd configured.
 */
function planThrough(p: PolicyRouteInputs, split: Split, actual: HostState): Operation[] {
  const table = p.table;
  const haveRules = actual.rules.filter((r) => r.table === table);
  const haveRoutes = actual.routes.filter((r) => r.table === table);
  const missing = (t: WriteThrough<DesiredRule, DesiredRoute>) => t.rules.some((w) => !haveRules.some((h) => ruleMatches(w, h))) || t.routes.some((w) => !haveRoutes.some((h) => routeMatches(w, h)));
  const handOver: Operation[] = [];
  const config: ManagerConfigOp[] = [];
  for (const path of Object.keys(actual.files).filter((f) => isConfigPathOf(f, p.table))) {
    if (!split.through.some((t) => t.path === path)) {
      config.push({ type: "managerConfig", ...configOwner(path, p.table), path, note: "(not declared)" });
    }
  }
  for (const t of split.through) {
    const base = { type: "managerConfig" as const, manager: t.manager, iface: t.iface, path: t.path };
    if (actual.files[t.path] !== t.content) {
      for (const h of haveRules) if (t.rules.some((w) => ruleMatches(w, h))) handOver.push(ruleOp("del", p.table, h, `(handed to ${t.manager})`));
      for (const h of haveRoutes) if (t.routes.some((w) => routeMatches(w, h))) handOver.push(routeOp("del", p.table, h, `(handed to ${t.manager})`));
      config.push({ ...base, content: t.content });
    } else if (missing(t)) {
      config.push({ ...base, content: t.content, reconfigure: true, note: "(the kernel lost what it declares)" });
    }
  }
  const last = [...config].reverse().find((op) => op.content !== undefined);
  if (last) last.expect = { table, rules: p.rules.length, routes: p.routes.length };
  return [...handOver, ...config];
}

/** The policy route resource. */
export const policyRouteDefinition: ResourceDefinition<PolicyRouteInputs, PolicyRouteOutputs> = {
  kind: "PolicyRoute",
  schema: policyRouteSchema,
  inputKeys: ["table", "rules", "routes", "persist", "allowSessionDisruption"],
  identity: (p) => `table/${p.table}`,
  replaces: (olds, news) => (olds.table !== news.table ? ["table"] : []),
  plan: (desired, actual) => planPolicyRoute(desired, actual),
  // At preview, from what the last read recorded: what NetworkManager would undo.
  refuse: (olds, news) => nmTableProblems(news, olds.nm),
  outputs(desired, after, before, previous) {
    const conn = desired.persist ? nmHolder(desired, after) : undefined;
    const was = conn ? nmConnectionOf(before, conn.device) : undefined;
    // What the connection held before our first write is kept for delete, across updates.
    const nm = conn ? (previous?.nm?.uuid === conn.uuid ? previous.nm : was ? nmHomeOf(was) : undefined) : undefined;
    return { ...desired, persisted: policyPersisted(desired, after), through: throughOf(desired, after), ...(nm ? { nm } : {}) };
  },
  observe(current, actual) {
    const table = current.table;
    const haveRules = actual.rules.filter((r) => r.table === table);
    const haveRoutes = actual.routes.filter((r) => r.table === table);
    if (haveRules.length === 0 && haveRoutes.length === 0) return undefined;
    // Report declared items that are present as declared, and anything else as the host has it.
    const rules: DesiredRule[] = current.rules.filter((want) => haveRules.some((h) => ruleMatches(want, h)));
    for (const h of haveRules) if (!current.rules.some((want) => ruleMatches(want, h))) rules.push({ from: h.from ?? "all", priority: h.priority, ...(h.family ? { family: h.family } : {}) });
    const routes: DesiredRoute[] = current.routes.filter((want) => haveRoutes.some((h) => routeMatches(want, h)));
    for (const h of haveRoutes) {
      if (!current.routes.some((want) => routeMatches(want, h))) {
        const extra: DesiredRoute = { dst: h.dst };
        if (h.dev !== undefined) extra.dev = h.dev;
        if (h.via !== undefined) extra.via = h.via;
        if (h.metric !== undefined) extra.metric = h.metric;
        if (h.family !== undefined) extra.family = h.family;
        routes.push(extra);
      }
    }
    return { ...current, rules, routes, persisted: policyPersisted(current, actual), through: throughOf(current, actual) };
  },
  remove(current, actual) {
    const table = current.table;
    const changes: Operation[] = [];
    for (const have of actual.rules.filter((r) => r.table === table)) changes.push(ruleOp("del", current.table, have));
    // One del per route rather than `route flush`, which would miss the other address family.
    for (const have of actual.routes.filter((r) => r.table === table)) changes.push(routeOp("del", current.table, have));
    // Our manager files go after the kernel's items, so the reload finds nothing of ours left.
    for (const path of Object.keys(actual.files).filter((f) => isConfigPathOf(f, current.table))) {
      changes.push({ type: "managerConfig", ...configOwner(path, current.table), path });
    }
    const conn = current.nm ? nmConnectionOf(actual, current.nm.device) : undefined;
    const restore = conn && current.nm && conn.uuid === current.nm.uuid ? nmRestoreTable(conn, current.nm, current.table) : undefined;
    if (restore) changes.push(restore);
    changes.push(...persistPart(partPath(current.table), undefined, actual));
    return changes;
  },
};
