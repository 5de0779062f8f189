/**
 * Policy route: one routing table with its `from` rules and its routes, the guide's routing per
 * source address. The resource owns the table: rules that look it up and routes in it that it
 * does not declare are removed, and delete empties it.
 */
import { isIP } from "node:net";
import { z } from "zod";
import type { Change } from "../changes";
import { hostedSchema } from "../connection";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart } from "../persist";
import type { ActualRoute, ActualRule, HostState } from "../state/types";
import { PlanError, type ResourceDefinition } from "../resource";
import { canonicalAddress, canonicalCidr, inSubnet, interfaceName, ipAddress, routeDestination, ruleSource, splitCidr, tableId } from "../validation";

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

const ruleSchema = z.strictObject({
  from: ruleSource.transform(canonicalSource),
  priority: z
    .number()
    .int("priority is an integer")
    .min(1, "priority is 1..32765 (0, 32766 and 32767 hold the kernel's local, main and default rules)")
    .max(32765, "priority is 1..32765 (32766 and 32767 hold the main and default rules)")
    .optional(),
});

const routeSchema = z
  .strictObject({
    dst: routeDestination.transform(canonicalDestination),
    dev: interfaceName.optional(),
    via: ipAddress.optional(),
    // "global" is the kernel's default and iproute2 never prints it: store it as unset.
    scope: z
      .enum(["global", "link", "host", "site"])
      .transform((s) => (s === "global" ? undefined : s))
      .optional(),
    metric: z.number().int("metric is an integer").min(0).max(4294967295).optional(),
    src: ipAddress.optional(),
  })
  .refine((r) => r.dev !== undefined || r.via !== undefined, { message: "a route needs dev or via (or both)", path: ["dev"] });

/** Policy route inputs. */
export const policyRouteSchema = z
  .strictObject({
    ...hostedSchema,
    table: tableId,
    rules: z.array(ruleSchema).default([]),
    routes: z.array(routeSchema).default([]),
    persist: z.boolean().default(true),
    /** Allow rules that capture the address this SSH session uses (off: such plans are refused). */
    allowSessionDisruption: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    const keys = new Set<string>();
    p.routes.forEach((r, i) => {
      const key = `${r.dst} metric ${r.metric ?? 0}`;
      if (keys.has(key)) ctx.addIssue({ code: "custom", path: ["routes", i, "dst"], message: `route ${key} is declared twice in table ${p.table}` });
      keys.add(key);
    });
    const rules = new Set<string>();
    p.rules.forEach((r, i) => {
      const key = `${r.from}/${r.priority ?? "auto"}`;
      if (rules.has(key)) ctx.addIssue({ code: "custom", path: ["rules", i, "from"], message: `rule from ${r.from} is declared twice` });
      rules.add(key);
    });
  });

/** Validated inputs. */
export type PolicyRouteInputs = z.infer<typeof policyRouteSchema>;
type DesiredRule = PolicyRouteInputs["rules"][number];
type DesiredRoute = PolicyRouteInputs["routes"][number];
/** Outputs: rules and routes as the host has them. */
export type PolicyRouteOutputs = PolicyRouteInputs & { persisted: boolean };

const partPath = (table: number) => bootPartPath(BOOT_ORDER.route, `table-${table}`);

function ruleArgs(verb: "add" | "del", table: number, rule: { from?: string | undefined; priority?: number | undefined }): string[] {
  const args = ["rule", verb];
  if (rule.priority !== undefined) args.push("priority", String(rule.priority));
  args.push("from", rule.from ?? "all", "table", String(table));
  return args;
}

function routeArgs(verb: "replace" | "del", table: number, r: DesiredRoute | ActualRoute): string[] {
  const args = ["route", verb, r.dst];
  if (r.via !== undefined) args.push("via", r.via);
  if (r.dev !== undefined) args.push("dev", r.dev);
  if (r.scope !== undefined) args.push("scope", r.scope);
  if (r.src !== undefined) args.push("src", r.src);
  if (r.metric !== undefined) args.push("metric", String(r.metric));
  args.push("table", String(table));
  return args;
}

function bootLines(p: PolicyRouteInputs): string[][] {
  return [...p.routes.map((r) => routeArgs("replace", p.table, r)), ...p.rules.map((r) => ruleArgs("add", p.table, r))];
}

/**
 * The change that deletes a rule or route the host has. `ip -batch` lines cannot carry `-6`, and
 * without an address to infer it from (`from all`, a gateway-less default route) ip would pick
 * IPv4: those go through their own `ip -6` command.
 */
function deleteChange(args: string[], family: 6 | undefined, note: string): Change {
  const ambiguous = family === 6 && !args.some((word) => word.includes(":"));
  return ambiguous
    ? { kind: "shell", args: ["ip", "-6", ...args], summary: `ip -6 ${args.join(" ")}${note}` }
    : { kind: "ip", args, summary: `ip ${args.join(" ")}${note}` };
}

/** Whether the kernel's rule is the declared one (an unset priority matches any). */
export function ruleMatches(want: DesiredRule, have: ActualRule): boolean {
  return (have.from ?? "all") === want.from && (want.priority === undefined || want.priority === have.priority);
}

/** Whether the kernel's route is the declared one; unset fields match what the kernel chose. */
export function routeMatches(want: DesiredRoute, have: ActualRoute): boolean {
  return (
    have.dst === want.dst &&
    (want.dev === undefined || want.dev === have.dev) &&
    (want.via === undefined || want.via === have.via) &&
    (want.scope === undefined || want.scope === have.scope) &&
    (want.src === undefined || want.src === have.src) &&
    // Unset metric: whatever the kernel chose (0 for IPv4, 1024 for IPv6).
    (want.metric === undefined || want.metric === (have.metric ?? 0))
  );
}

function addressCovers(source: string, address: string): boolean {
  if (source === "all" || source === canonicalAddress(address)) return true;
  return isIP(address) !== 0 && inSubnet(address, source);
}

/** Plans rules and routes of the table; what the table holds beyond the declaration goes. */
export function planPolicyRoute(p: PolicyRouteInputs, actual: HostState): Change[] {
  const table = String(p.table);
  const changes: Change[] = [];
  const ip = (args: string[], note = "") => changes.push({ kind: "ip", args, summary: `ip ${args.join(" ")}${note}` });
  for (const r of p.routes) {
    if (r.dev !== undefined && !actual.links.some((l) => l.name === r.dev)) {
      throw new PlanError(p.connection.host, `table ${p.table}`, `route ${r.dst} uses interface ${r.dev}, which does not exist on the host`);
    }
  }
  if (!p.allowSessionDisruption && actual.sessionLocalAddress) {
    const session = actual.sessionLocalAddress;
    const capturing = p.rules.find((r) => addressCovers(r.from, session));
    if (capturing && !actual.rules.some((h) => h.table === table && ruleMatches(capturing, h))) {
      throw new PlanError(
        p.connection.host,
        `table ${p.table}`,
        `refusing rule from ${capturing.from}: this SSH session uses ${session}, whose replies would be routed by table ${p.table}. Set allowSessionDisruption: true to do it anyway`,
      );
    }
  }
  const haveRoutes = actual.routes.filter((r) => r.table === table);
  for (const have of haveRoutes) {
    if (!p.routes.some((want) => routeMatches(want, have)) && !p.routes.some((want) => want.dst === have.dst && (want.metric === undefined || want.metric === (have.metric ?? 0)))) {
      changes.push(deleteChange(routeArgs("del", p.table, { ...have, scope: undefined, src: undefined }), have.family, " (not declared)"));
    }
  }
  for (const want of p.routes) if (!haveRoutes.some((have) => routeMatches(want, have))) ip(routeArgs("replace", p.table, want));
  const haveRules = actual.rules.filter((r) => r.table === table);
  for (const have of haveRules) {
    if (!p.rules.some((want) => ruleMatches(want, have))) changes.push(deleteChange(ruleArgs("del", p.table, have), have.family, " (not declared)"));
  }
  for (const want of p.rules) if (!haveRules.some((have) => ruleMatches(want, have))) ip(ruleArgs("add", p.table, want));
  changes.push(...persistPart(partPath(p.table), p.persist ? bootLines(p) : undefined, actual));
  return changes;
}

/** The policy route resource. */
export const policyRouteDefinition: ResourceDefinition<PolicyRouteInputs, PolicyRouteOutputs> = {
  kind: "PolicyRoute",
  schema: policyRouteSchema,
  inputKeys: ["table", "rules", "routes", "persist", "allowSessionDisruption"],
  identity: (p) => `table/${p.table}`,
  replaces: (olds, news) => (olds.table !== news.table ? ["table"] : []),
  plan: (desired, actual) => planPolicyRoute(desired, actual),
  outputs: (desired, after) => ({ ...desired, persisted: partIsCurrent(partPath(desired.table), desired.persist ? bootLines(desired) : undefined, after) }),
  observe(current, actual) {
    const table = String(current.table);
    const haveRules = actual.rules.filter((r) => r.table === table);
    const haveRoutes = actual.routes.filter((r) => r.table === table);
    if (haveRules.length === 0 && haveRoutes.length === 0) return undefined;
    // Report declared items that are present as declared, and anything else as the host has it.
    const rules: DesiredRule[] = current.rules.filter((want) => haveRules.some((h) => ruleMatches(want, h)));
    for (const h of haveRules) if (!current.rules.some((want) => ruleMatches(want, h))) rules.push({ from: h.from ?? "all", priority: h.priority });
    const routes: DesiredRoute[] = current.routes.filter((want) => haveRoutes.some((h) => routeMatches(want, h)));
    for (const h of haveRoutes) {
      if (!current.routes.some((want) => routeMatches(want, h))) {
        const extra: DesiredRoute = { dst: h.dst };
        if (h.dev !== undefined) extra.dev = h.dev;
        if (h.via !== undefined) extra.via = h.via;
        if (h.metric !== undefined) extra.metric = h.metric;
        routes.push(extra);
      }
    }
    return { ...current, rules, routes, persisted: partIsCurrent(partPath(current.table), current.persist ? bootLines(current) : undefined, actual) };
  },
  remove(current, actual) {
    const table = String(current.table);
    const changes: Change[] = [];
    for (const have of actual.rules.filter((r) => r.table === table)) changes.push(deleteChange(ruleArgs("del", current.table, have), have.family, ""));
    // One del per route rather than `route flush`, which would miss the other address family.
    for (const have of actual.routes.filter((r) => r.table === table)) {
      changes.push(deleteChange(routeArgs("del", current.table, { ...have, scope: undefined, src: undefined }), have.family, ""));
    }
    changes.push(...persistPart(partPath(current.table), undefined, actual));
    return changes;
  },
};
