/**
 * A route in a policy table: every field the kernel stores is compared, so a blackhole route, or
 * one through a gateway, is another route than a declared link route to the same destination.
 */
import type { ActualRoute } from "../state/types";
import type { Family } from "./address";
import type { TableId } from "./table";

/** A route's scope when it is not the kernel's default (global). */
export type RouteScope = "link" | "host" | "site";

/** A declared route (its table is its policy route's). `dst` is "default" or a prefix in the kernel's form. */
export interface TableRoute {
  dst: string;
  via?: string | undefined;
  dev?: string | undefined;
  scope?: RouteScope | undefined;
  src?: string | undefined;
  metric?: number | undefined;
  family?: 6 | undefined;
}

/** The family of a declared or host route. */
export function familyOfRoute(r: { family?: 6 | undefined }): Family {
  return r.family ?? 4;
}

/** The metric the kernel gives a route declared without one: 0 for IPv4, 1024 for IPv6. */
export function defaultMetric(family: Family): number {
  return family === 6 ? 1024 : 0;
}

/** The route's metric as the kernel has it. */
export function effectiveMetric(r: { metric?: number | undefined; family?: 6 | undefined }): number {
  return r.metric ?? defaultMetric(familyOfRoute(r));
}

/**
 * The kernel's slot of a route: family, table, destination and metric. `ip route replace`
 * replaces whatever route holds the slot, whatever else it says.
 */
export function sameSlot(want: TableRoute, table: TableId, have: ActualRoute): boolean {
  return familyOfRoute(want) === familyOfRoute(have) && table === have.table && want.dst === have.dst && effectiveMetric(want) === effectiveMetric(have);
}

/**
 * Why the host's route is not the declared one of `table`, naming the first field that differs;
 * undefined when it is. Unset `dev` and `scope` match what the kernel chose (from the gateway, and
 * link for a route without one); an unset gateway or source means none.
 */
export function routeDifference(want: TableRoute, table: TableId, have: ActualRoute): string | undefined {
  const fields: Array<[string, string | number | undefined, string | number | undefined]> = [
    ["family", familyOfRoute(want), familyOfRoute(have)],
    ["table", table, have.table],
    ["type", "unicast", have.type ?? "unicast"],
    ["dst", want.dst, have.dst],
    ["metric", effectiveMetric(want), effectiveMetric(have)],
    ["via", want.via, have.via],
    ["src", want.src, have.src],
  ];
  if (want.dev !== undefined) fields.push(["dev", want.dev, have.dev]);
  if (want.scope !== undefined) fields.push(["scope", want.scope, have.scope]);
  for (const [name, w, h] of fields) if (w !== h) return `${name}: declared ${w ?? "none"}, host has ${h ?? "none"}`;
  return undefined;
}

/** Whether the host's route is the declared one of `table`. */
export function routeMatches(want: TableRoute, table: TableId, have: ActualRoute): boolean {
  return routeDifference(want, table, have) === undefined;
}

/** A host route as a declared one (what refresh reports for a route the stack does not declare). */
export function declaredRoute(have: ActualRoute): TableRoute {
  const { dst, via, dev, src, metric, family } = have;
  const scope = have.scope === "link" || have.scope === "host" || have.scope === "site" ? have.scope : undefined;
  return defined({ dst, via, dev, scope, src, metric, family });
}

/** An object without its undefined fields (state outputs cannot hold undefined). */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
