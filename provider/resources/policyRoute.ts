/**
 * Policy route: one routing table with its rules and its routes, the guide's routing per source
 * address. The resource owns the table: rules that look it up and routes in it that it does not
 * declare are removed, and delete empties it. Each rule and route is kept by the keeper of the
 * interface it sits on (provider/keepers/): the kernel with the boot replay, or the host's
 * network manager in its own configuration.
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import { assignTable, KEEPERS, REPLAY_TRIGGERS, type KeeperId, type KeeperRecord, type TableAssignment } from "../keepers";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../keepers/kernel";
import { networkManagerKeeper, nmTableLimits } from "../keepers/networkmanager";
import { canonicalAddress, familyOf, inSubnet, splitCidr, type Family } from "../model/address";
import { declaredRoute, effectiveMetric, routeMatches, type TableRoute } from "../model/route";
import { declaredForm, familyOfRule, ruleMatches, type PolicyRule } from "../model/rule";
import { resolveTable, tableRef, type TableId } from "../model/table";
import type { Operation } from "../operations";
import { deleteRoute } from "../operations/route";
import { ruleOp } from "../operations/rule";
import { PlanError, type ResourceDefinition } from "../resource";
import type { HostState } from "../state/types";
import { interfaceName, ipAddress, routeDestination, ruleSource, unicastAddress, type CheckFailure } from "../validation";

/** A prefix as iproute2 prints it: host prefixes bare, /0 as `everything`, networks canonical. */
function kernelForm(prefix: string, everything: "all" | "default"): string {
  const parts = splitCidr(prefix);
  if (!parts) return prefix === everything ? prefix : canonicalAddress(prefix);
  if (parts.prefix === 0) return everything;
  return parts.prefix === (parts.family === 4 ? 32 : 128) ? canonicalAddress(parts.address) : `${canonicalAddress(parts.address)}/${parts.prefix}`;
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
  return familyOf(value) ?? splitCidr(value)?.family;
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

/** A firewall mark with an optional mask, in ip's spelling ("0x1", "0x1/0xff"). */
const fwmark = z
  .union([z.number().int().min(1).max(4294967295), z.string().regex(/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})(\/(0x[0-9a-fA-F]{1,8}|[0-9]{1,10}))?$/, "fwmark is a number, optionally with a mask: 1, 0x10, 0x10/0xff")])
  .transform((v) => String(v).split("/").map((n) => `0x${Number(n).toString(16)}`).join("/"))
  .refine((v) => v.split("/").every((n) => Number(n) > 0 && Number(n) <= 4294967295), "fwmark and its mask are 1..4294967295");

const ruleSchema = z
  .strictObject({
    /** Omitted or "all": every source. */
    from: z.union([z.literal("all"), ruleSource]).optional(),
    to: ruleSource.optional(),
    /** Input and output interfaces the rule matches. */
    iif: interfaceName.optional(),
    oif: interfaceName.optional(),
    fwmark: fwmark.optional(),
    priority: z
      .number()
      .int("priority is an integer")
      .min(1, "priority is 1..32765 (0, 32766 and 32767 hold the kernel's local, main and default rules)")
      .max(32765, "priority is 1..32765 (32766 and 32767 hold the main and default rules)")
      .optional(),
    /** Needed only for an IPv6 rule without a source or destination. */
    family: familyChoice,
  })
  .transform(({ from, to, iif, oif, fwmark: mark, priority, family }, ctx): PolicyRule => ({
    from: from === undefined || from === "all" ? "all" : canonicalSource(from),
    ...(to !== undefined ? { to: canonicalSource(to) } : {}),
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(mark !== undefined ? { fwmark: mark } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...settleFamily(family, { from, to }, ctx),
  }));

const routeSchema = z
  .strictObject({
    dst: routeDestination,
    dev: interfaceName.optional(),
    via: unicastAddress.optional(),
    // "global" is the kernel's default and iproute2 never prints it: store it as unset.
    scope: z
      .enum(["global", "link", "host", "site"])
      .transform((s) => (s === "global" ? undefined : s))
      .optional(),
    metric: z.number().int("metric is an integer").min(0).max(4294967295).optional(),
    src: unicastAddress.optional(),
    /** Needed only for an IPv6 route whose destination is "default" and that has no gateway. */
    family: familyChoice,
  })
  .superRefine((r, ctx) => {
    if (r.dev === undefined && r.via === undefined) ctx.addIssue({ code: "custom", path: ["dev"], message: "a route needs dev or via (or both)" });
    if (r.via !== undefined && (r.scope === "host" || r.scope === "link")) {
      ctx.addIssue({ code: "custom", path: ["scope"], message: `a route through a gateway cannot have scope ${r.scope} (the kernel refuses it: the gateway must be reachable from a wider scope)` });
    }
    if (r.via !== undefined && r.dev === undefined && /^fe[89ab][0-9a-f]:/i.test(r.via)) {
      ctx.addIssue({ code: "custom", path: ["dev"], message: `link-local gateway ${r.via} needs dev: an IPv6 link-local address is reachable only on one link` });
    }
  })
  .transform(({ family, ...r }, ctx): TableRoute => {
    const settled = settleFamily(family, { dst: r.dst, via: r.via, src: r.src }, ctx);
    if (settled.family === 6 && r.scope !== undefined) ctx.addIssue({ code: "custom", path: ["scope"], message: "IPv6 routes have no scope (the kernel ignores it): leave it out" });
    // IPv6 has no metric 0: the kernel stores it as 1024.
    const metric = settled.family === 6 && r.metric === 0 ? 1024 : r.metric;
    return { ...r, ...(metric !== undefined ? { metric } : {}), dst: canonicalDestination(r.dst), ...settled };
  });

/** A policy route's own fields (the stack config composes them too). */
export const policyRouteFields = {
  table: tableRef,
  rules: z.array(ruleSchema).default([]),
  routes: z.array(routeSchema).default([]),
  persist: z.boolean().default(true),
  /** Allow rules that capture the address this SSH session uses (off: such plans are refused). */
  allowSessionDisruption: z.boolean().default(false),
};

type TableItemsInput = { table: number | string; rules: PolicyRule[]; routes: TableRoute[] };

/** A table with something in it; each route and rule once, whatever the spelling. */
export function policyRouteRules(p: TableItemsInput, ctx: z.RefinementCtx): void {
  if (p.rules.length === 0 && p.routes.length === 0) {
    ctx.addIssue({ code: "custom", path: ["rules"], message: `table ${p.table} declares neither rules nor routes: declare at least one (an empty table is no policy route)` });
  }
  const keys = new Set<string>();
  p.routes.forEach((r, i) => {
    const key = `${r.dst} metric ${effectiveMetric(r)}${r.family === 6 ? " (IPv6)" : ""}`;
    if (keys.has(key)) ctx.addIssue({ code: "custom", path: ["routes", i, "dst"], message: `route ${key} is declared twice in table ${p.table}` });
    keys.add(key);
  });
  const rules = new Map<string, number>();
  p.rules.forEach((r, i) => {
    const key = JSON.stringify([familyOfRule(r), r.from, r.to, r.iif, r.oif, r.fwmark, r.priority]);
    if (rules.has(key)) ctx.addIssue({ code: "custom", path: ["rules", i, "from"], message: `rule from ${r.from} is declared twice (also rules[${rules.get(key)}])` });
    rules.set(key, i);
  });
}

/** Policy route inputs. */
export const policyRouteSchema = z.strictObject({ ...hostedSchema, ...policyRouteFields }).superRefine(policyRouteRules);

/** Validated inputs. */
export type PolicyRouteInputs = z.infer<typeof policyRouteSchema>;
/**
 * Outputs: rules and routes as the host has them, the table's number, which keeper keeps each
 * interface's items (`through`), and what keepers asked to remember (NetworkManager: what the
 * connection held before our first write, for delete).
 */
export type PolicyRouteOutputs = PolicyRouteInputs & { persisted: boolean; tableId?: TableId; through?: Record<string, KeeperId>; kept?: Partial<Record<KeeperId, KeeperRecord>> };

const partPath = (table: TableId) => bootPartPath(BOOT_ORDER.route, `table-${table}`);

/** The table's number on this host, or a PlanError naming the files a name is looked up in. */
function tableOf(p: Pick<PolicyRouteInputs, "table" | "connection">, actual: HostState): TableId {
  const resolved = resolveTable(p.table, actual.tableNames);
  if (resolved === undefined) {
    throw new PlanError(p.connection, `table ${p.table}`, `no routing table is named ${JSON.stringify(p.table)} on the host (/etc/iproute2/rt_tables and rt_tables.d, /usr/share/iproute2/rt_tables). Fix: name it there, or use its number`);
  }
  return resolved;
}

/** Where each declared item is in the inputs. */
function itemsOf(p: PolicyRouteInputs, table: TableId) {
  return {
    table,
    rules: p.rules.map((rule, i) => ({ rule, property: `rules[${i}]` })),
    routes: p.routes.map((route, i) => ({ route, property: `routes[${i}]` })),
    persist: p.persist,
  };
}

/** The table's keeping on this host: every keeper's operations and records, and whether all of them already keep it. */
interface TableKeeping {
  assignment: TableAssignment;
  ops: Operation[];
  refusals: CheckFailure[];
  records: PartRecord[];
  kept: boolean;
  through: Record<string, KeeperId>;
  recorded: Partial<Record<KeeperId, KeeperRecord>>;
}

/** Asks each keeper for its share of the table, and every keeper to drop the table where it no longer sits. */
function keepTable(p: PolicyRouteInputs, table: TableId, actual: HostState, recorded: Partial<Record<KeeperId, KeeperRecord>> = {}): TableKeeping {
  const assignment = assignTable(itemsOf(p, table), actual);
  const out: TableKeeping = { assignment, ops: [], refusals: [...assignment.refusals], records: [], kept: true, through: {}, recorded: {} };
  const ids = new Set(assignment.groups.map((g) => g.keeper.id));
  for (const g of assignment.groups) {
    const k = g.keeper.table({ table, iface: g.iface, rules: g.rules, routes: g.routes, persist: p.persist, have: g.have, shared: ids.size > 1 }, actual, recorded[g.keeper.id]);
    out.ops.push(...k.ops);
    out.refusals.push(...k.refusals);
    out.records.push(...k.records);
    out.kept &&= k.kept;
    if (g.iface) out.through[g.iface] = g.keeper.id;
    if (k.record) out.recorded[g.keeper.id] = k.record;
  }
  for (const keeper of Object.values(KEEPERS)) {
    const here = assignment.groups.filter((g) => g.keeper === keeper).map((g) => g.iface);
    const stale = keeper.tableElsewhere(table, here, actual, recorded[keeper.id]);
    out.ops.push(...stale);
    if (stale.length > 0) out.kept = false;
  }
  return out;
}

/** The boot part's records: what the kernel keeps (none when the table does not persist). */
function partRecords(p: PolicyRouteInputs, k: TableKeeping): PartRecord[] | undefined {
  return p.persist ? k.records : undefined;
}

/** Whether the address is covered by the rule's source (so its replies would use the table). */
function addressCovers(rule: PolicyRule, address: string): boolean {
  if (familyOf(address) !== familyOfRule(rule)) return false;
  if (rule.from === "all" || rule.from === canonicalAddress(address)) return true;
  return inSubnet(address, rule.from);
}

/** Plans rules and routes of the table; what the table holds beyond the declaration goes. */
export function planPolicyRoute(p: PolicyRouteInputs, actual: HostState, previous?: PolicyRouteOutputs): Operation[] {
  const table = tableOf(p, actual);
  for (const r of p.routes) {
    if (r.dev !== undefined && !actual.links.some((l) => l.name === r.dev)) {
      throw new PlanError(p.connection, `table ${p.table}`, `route ${r.dst} uses interface ${r.dev}, which does not exist on the host`);
    }
  }
  if (!p.allowSessionDisruption && actual.sessionLocalAddress) {
    const session = actual.sessionLocalAddress;
    const capturing = p.rules.find((r) => addressCovers(r, session));
    if (capturing && !actual.rules.some((h) => ruleMatches(capturing, table, h))) {
      throw new PlanError(
        p.connection,
        `table ${p.table}`,
        `refusing rule from ${capturing.from}: this SSH session uses ${session}, whose replies would be routed by table ${table}. Set allowSessionDisruption: true to do it anyway`,
      );
    }
  }
  const k = keepTable(p, table, actual, previous?.kept);
  if (k.refusals.length > 0) throw new PlanError(p.connection, `table ${p.table}`, k.refusals.map((f) => `${f.property}: ${f.reason}`).join("; "));
  const strays: Operation[] = [
    ...k.assignment.strays.routes.map((h) => deleteRoute(h, "(not declared)")),
    ...k.assignment.strays.rules.map((h) => ruleOp("del", table, declaredForm(h), "(not declared)")),
  ];
  // A rule sends traffic to the table: it comes once every route of the table is in place.
  const sendsTraffic = (op: Operation) => op.type === "rule" && op.action === "add";
  const ordered = [...k.ops.filter((op) => !sendsTraffic(op)), ...k.ops.filter(sendsTraffic)];
  return [...strays, ...ordered, ...persistPart(partPath(table), partRecords(p, k), actual, REPLAY_TRIGGERS)];
}

/** Whether every keeper keeps the table, the boot part is current, and nothing is left elsewhere. */
function policyPersisted(p: PolicyRouteInputs, table: TableId, k: TableKeeping, actual: HostState): boolean {
  return k.refusals.length === 0 && k.kept && partIsCurrent(partPath(table), partRecords(p, k), actual, REPLAY_TRIGGERS);
}

/** The table's number when the host names it (undefined: the name is not in its rt_tables). */
function tableOrUndefined(p: PolicyRouteInputs, actual: HostState): TableId | undefined {
  return resolveTable(p.table, actual.tableNames);
}

/** The policy route resource. */
export const policyRouteDefinition: ResourceDefinition<PolicyRouteInputs, PolicyRouteOutputs> = {
  kind: "PolicyRoute",
  schema: policyRouteSchema,
  inputKeys: ["table", "rules", "routes", "persist", "allowSessionDisruption"],
  identity: (p) => `table/${p.table}`,
  replaces: (olds, news) => (olds.table !== news.table ? ["table"] : []),
  plan: (desired, actual, previous) => planPolicyRoute(desired, actual, previous),
  // At preview, from what the last read recorded: what NetworkManager would undo.
  refuse(olds, news) {
    const nm = Object.entries(olds.through ?? {}).find(([, id]) => id === networkManagerKeeper.id);
    const table = typeof news.table === "number" ? news.table : (olds.tableId ?? 0);
    const connection = olds.kept?.networkmanager?.["connectionId"];
    return nm ? nmTableLimits({ ...itemsOf(news, table), iface: nm[0] }, typeof connection === "string" ? connection : "its active one") : [];
  },
  outputs(desired, after, before, previous) {
    const table = tableOf(desired, after);
    // What the keepers held before our first write is kept for delete, across updates.
    const recorded = keepTable(desired, table, before, previous?.kept).recorded;
    const now = keepTable(desired, table, after, recorded);
    return { ...desired, tableId: table, persisted: policyPersisted(desired, table, now, after), through: now.through, kept: recorded };
  },
  observe(current, actual) {
    const table = tableOrUndefined(current, actual);
    if (table === undefined) return undefined;
    const haveRules = actual.rules.filter((r) => r.table === table);
    const haveRoutes = actual.routes.filter((r) => r.table === table);
    if (haveRules.length === 0 && haveRoutes.length === 0) return undefined;
    // Declared items present as declared, and anything else as the host has it.
    const rules: PolicyRule[] = current.rules.filter((want) => haveRules.some((h) => ruleMatches(want, table, h)));
    for (const h of haveRules) if (!current.rules.some((want) => ruleMatches(want, table, h))) rules.push(declaredForm(h));
    const routes: TableRoute[] = current.routes.filter((want) => haveRoutes.some((h) => routeMatches(want, table, h)));
    for (const h of haveRoutes) if (!current.routes.some((want) => routeMatches(want, table, h))) routes.push(declaredRoute(h));
    const k = keepTable(current, table, actual, current.kept);
    return { ...current, tableId: table, rules, routes, persisted: policyPersisted(current, table, k, actual), through: k.through };
  },
  remove(current, actual) {
    const table = current.tableId ?? tableOrUndefined(current, actual);
    if (table === undefined) return [];
    const changes: Operation[] = [];
    for (const have of actual.rules.filter((r) => r.table === table)) changes.push(ruleOp("del", table, declaredForm(have)));
    // One del per route rather than `route flush`, which would miss the other address family.
    for (const have of actual.routes.filter((r) => r.table === table)) changes.push(deleteRoute(have));
    // The managers' configuration goes after the kernel's items, so a reload finds nothing of ours left.
    for (const keeper of Object.values(KEEPERS)) changes.push(...keeper.tableElsewhere(table, [], actual, current.kept?.[keeper.id]));
    changes.push(...persistPart(partPath(table), undefined, actual, REPLAY_TRIGGERS));
    return changes;
  },
};
