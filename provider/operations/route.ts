/** Route operations: one route in a table, IPv4 or IPv6. */
import { effectiveMetric } from "../model/route";
import type { TableId } from "../model/table";
import type { ActualRoute } from "../state/types";
import type { Family, Noted, OperationFamily } from "./types";

/** The fields of a route that `ip route` takes. */
export interface RouteSpec {
  dst: string;
  /** Unset for unicast; blackhole, unreachable... for the host's routes a delete or restore names. */
  type?: string | undefined;
  via?: string | undefined;
  dev?: string | undefined;
  scope?: string | undefined;
  src?: string | undefined;
  metric?: number | undefined;
}

/** Replaces (adds or changes) or deletes one route in a table. */
export type RouteOp = Noted & { type: "route"; action: "replace" | "del"; family: Family; table: TableId; route: RouteSpec };

/** The operation that puts back a route the host had. */
export function restoreRoute(have: ActualRoute): RouteOp {
  const { dst, type, via, dev, scope, src, metric } = have;
  return { type: "route", action: "replace", family: have.family ?? 4, table: have.table, route: { dst, type, via, dev, scope, src, metric }, note: "(restore)" };
}

/** The operation that deletes a route the host has (naming what identifies it). */
export function deleteRoute(have: ActualRoute, note?: string): RouteOp {
  const { dst, type, via, dev, metric } = have;
  return { type: "route", action: "del", family: have.family ?? 4, table: have.table, route: { dst, type, via, dev, metric }, note };
}

/** Route operations render under their family, may cut the session, and are undone to the table as it was. */
export const routeFamily: OperationFamily<RouteOp> = {
  render(op) {
    const r = op.route;
    const args = ["route", op.action, ...(r.type !== undefined ? [r.type] : []), r.dst];
    if (r.via !== undefined) args.push("via", r.via);
    if (r.dev !== undefined) args.push("dev", r.dev);
    if (r.scope !== undefined) args.push("scope", r.scope);
    if (r.src !== undefined) args.push("src", r.src);
    if (r.metric !== undefined) args.push("metric", String(r.metric));
    args.push("table", String(op.table));
    return { kind: "ip", family: op.family, args };
  },
  // Only in a table the session's replies may be looked up in.
  mayCut: (op, path) => !path || (op.family === path.family && path.tables.includes(op.table)),
  dependsOn: () => ["routes"],
  inverse(op, before): RouteOp[] {
    const slot = (r: { family?: 6 | undefined; metric?: number | undefined }) => effectiveMetric(r);
    const want = slot({ family: op.family === 6 ? 6 : undefined, metric: op.route.metric });
    const old = before.routes.filter((r) => (r.family ?? 4) === op.family && r.table === op.table && r.dst === op.route.dst && slot(r) === want);
    if (old.length > 0) return old.map(restoreRoute);
    if (op.action === "del") return [];
    return [{ type: "route", action: "del", family: op.family, table: op.table, route: { dst: op.route.dst, metric: op.route.metric }, note: "(undo)" }];
  },
};
