/**
 * What netplan and systemd-networkd have in common as keepers: they keep what their
 * configuration declares and remove what it does not (addresses, rules and routes) whenever they
 * reconfigure a link, so the stack's objects go into files of ours in their configuration, one per
 * interface's addresses and one per table and interface, applied live by reloading networkd.
 * Each dialect (netplan.ts, networkd.ts) says where its files go and what they hold.
 */
import type { ManagerConfigOp, Operation } from "../../operations";
import { deleteRoute } from "../../operations/route";
import { ruleOp } from "../../operations/rule";
import { declaredForm, ruleMatches, type PolicyRule } from "../../model/rule";
import { routeMatches, type TableRoute } from "../../model/route";
import type { TableId } from "../../model/table";
import type { HostState } from "../../state/types";
import type { CheckFailure } from "../../validation";
import { kernelTable, restoreAddresses } from "../kernel";
import { networkdRemovesForeign } from "./facts";
import type { AddressRequest, Keeper, Keeping, ManagerEvent, TableRequest } from "../types";

/** What one of our files holds. */
export type FileSlot = { kind: "addresses" } | { kind: "table"; table: TableId };

/** What goes into one of our files. */
export interface FileItems {
  addresses: readonly string[];
  rules: readonly PolicyRule[];
  routes: readonly TableRoute[];
}

/** One manager's way of writing our files. */
export interface ConfigDialect {
  manager: "netplan" | "networkd";
  title: string;
  events: readonly ManagerEvent[];
  /** Our file for `slot` on `iface`; undefined (with the reason) when the manager cannot take one there. */
  path(slot: FileSlot, iface: string, actual: HostState): { path: string } | { refusal: string };
  /** The slot one of our paths is for, and a name for what it configures; undefined when the path is not ours. */
  owner(path: string): { slot: FileSlot; name: string } | undefined;
  /** The file's text. */
  text(slot: FileSlot, iface: string, items: FileItems, actual: HostState): string;
  /** What this dialect cannot express, as refusals naming the field. */
  limits(req: TableRequest): CheckFailure[];
}

/** The write (or re-apply) of one of our files, and how to know networkd applied it. */
function configOp(d: ConfigDialect, iface: string, path: string, content: string | undefined, note?: string): ManagerConfigOp {
  return { type: "managerConfig", manager: d.manager, iface, path, content, note };
}

/** Our files for `slot`, on any interface, that the host has. */
function filesOf(d: ConfigDialect, slot: FileSlot, actual: HostState): string[] {
  const same = (a: FileSlot, b: FileSlot) => a.kind === b.kind && (a.kind !== "table" || (b.kind === "table" && a.table === b.table));
  return Object.keys(actual.files).filter((p) => {
    const o = d.owner(p);
    return o !== undefined && same(o.slot, slot);
  });
}

/** The keeper of a dialect. */
export function configFileKeeper(d: ConfigDialect, id: "netplan" | "networkd"): Keeper {
  const refusal = (property: string, iface: string, why: string): CheckFailure => ({ property, reason: `${iface} is managed by ${d.title}: ${why}` });
  return {
    id,
    title: d.title,
    events: d.events,

    addresses(req: AddressRequest, actual: HostState): Keeping {
      const where = d.path({ kind: "addresses" }, req.iface, actual);
      if ("refusal" in where) return { ops: [], records: [], kept: false, refusals: req.declared.map((_, i) => refusal(req.property(i), req.iface, where.refusal)) };
      if (!req.persist && req.declared.length > 0) {
        return { ops: [], records: [], kept: false, refusals: [refusal("persist", req.iface, `${d.manager === "netplan" ? "netplan apply and networkd" : "networkd"} remove addresses their configuration lacks whenever they reconfigure the link. Fix: leave persist at true, so the addresses go into ${d.manager === "netplan" ? "a netplan file" : "a networkd drop-in"}`)] };
      }
      const content = req.declared.length ? d.text({ kind: "addresses" }, req.iface, { addresses: req.declared, rules: [], routes: [] }, actual) : undefined;
      const link = actual.links.find((l) => l.name === req.iface);
      const missing = req.declared.some((c) => !link?.addresses.includes(c)) || req.released.some((c) => link?.addresses.includes(c));
      const ops: Operation[] = [];
      if (actual.files[where.path] !== content) ops.push(configOp(d, req.iface, where.path, content));
      else if (missing && content !== undefined) ops.push({ ...configOp(d, req.iface, where.path, content, "(the kernel lost what it declares)"), reconfigure: true });
      return { ops, records: [], refusals: [], kept: actual.files[where.path] === content };
    },

    releaseAddresses(iface, _owned, original, actual) {
      const where = d.path({ kind: "addresses" }, iface, actual);
      const release = "path" in where && actual.files[where.path] !== undefined ? [configOp(d, iface, where.path, undefined)] : [];
      // The reload drops what networkd's configuration lacks, the addresses the link had before us among them.
      return [...release, ...restoreAddresses(iface, original)];
    },

    table(req: TableRequest, actual: HostState): Keeping {
      const refusals: CheckFailure[] = [];
      if (!req.persist) {
        // Out of its configuration, items stay the kernel's (and go at a reboot, as asked) where networkd leaves them.
        const networkd = actual.facts.managers.networkd;
        const kinds: Array<["rule" | "route", readonly { property: string }[]]> = [["rule", req.rules], ["route", req.routes]];
        for (const [kind, items] of kinds) {
          const why = networkdRemovesForeign(kind, networkd);
          if (why && items.length > 0) refusals.push(refusal("persist", req.iface, `${why}, and persist: false keeps the table's ${kind}s out of its configuration. Fix: set persist: true (they then go into ${d.manager === "netplan" ? "a netplan file" : "a networkd drop-in"}), or set ${kind === "rule" ? "ManageForeignRoutingPolicyRules" : "ManageForeignRoutes"}=no in /etc/systemd/networkd.conf.d/`));
        }
        return refusals.length > 0 ? { ops: [], records: [], refusals, kept: false } : { ...kernelTable(req), records: [], refusals: [], kept: true };
      }
      refusals.push(...d.limits(req));
      const where = d.path({ kind: "table", table: req.table }, req.iface, actual);
      if ("refusal" in where) refusals.push(refusal(req.routes[0]?.property ?? req.rules[0]?.property ?? "table", req.iface, where.refusal));
      if (refusals.length > 0 || "refusal" in where) return { ops: [], records: [], refusals, kept: false };
      const rules = req.rules.map((r) => r.rule);
      const routes = req.routes.map((r) => r.route);
      const content = d.text({ kind: "table", table: req.table }, req.iface, { addresses: [], rules, routes }, actual);
      const ops: Operation[] = [];
      if (actual.files[where.path] !== content) {
        // Items the kernel has from before (our boot replay, a hand) go first: networkd drops them
        // anyway when it reconfigures, and the wait that follows counts only what it configured.
        for (const h of req.have.rules) if (rules.some((w) => ruleMatches(w, req.table, h))) ops.push(ruleOp("del", req.table, declaredForm(h), `(handed to ${d.manager})`));
        for (const h of req.have.routes) if (routes.some((w) => routeMatches(w, req.table, h))) ops.push(deleteRoute(h, `(handed to ${d.manager})`));
        ops.push({ ...configOp(d, req.iface, where.path, content), expect: { table: req.table, rules: rules.length, routes: routes.length } });
      } else {
        const lost = rules.some((w) => !req.have.rules.some((h) => ruleMatches(w, req.table, h))) || routes.some((w) => !req.have.routes.some((h) => routeMatches(w, req.table, h)));
        if (lost) ops.push({ ...configOp(d, req.iface, where.path, content, "(the kernel lost what it declares)"), reconfigure: true, expect: { table: req.table, rules: rules.length, routes: routes.length } });
      }
      return { ops, records: [], refusals: [], kept: actual.files[where.path] === content };
    },

    tableElsewhere(table, ifaces, actual) {
      const slot: FileSlot = { kind: "table", table };
      const keep = ifaces.flatMap((iface) => {
        const where = d.path(slot, iface, actual);
        return "path" in where ? [where.path] : [];
      });
      return filesOf(d, slot, actual)
        .filter((path) => !keep.includes(path))
        .map((path) => configOp(d, d.owner(path)!.name, path, undefined, ifaces.length ? "(not declared)" : undefined));
    },
  };
}
