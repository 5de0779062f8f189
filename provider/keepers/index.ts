/**
 * Which keeper keeps what on a host: the keeper of an interface (from who manages it), the hooks
 * through which managers run our boot replay, and how a table's rules and routes are shared out
 * among the keepers of the interfaces they sit on. Planners call these; nothing else in the
 * provider asks which network manager a host runs.
 */
import { canonicalAddress, inSubnet, splitCidr } from "../model/address";
import { routeMatches, sameSlot, type TableRoute } from "../model/route";
import { ruleMatches, type PolicyRule } from "../model/rule";
import type { TableId } from "../model/table";
import type { ActualRoute, ActualRule, HostState } from "../state/types";
import type { CheckFailure } from "../validation";
import { ifupdownKeeper, IFUPDOWN_TRIGGER } from "./ifupdown";
import { kernelKeeper, type ReplayTrigger } from "./kernel";
import { netplanKeeper } from "./netplan";
import { networkdKeeper, networkdRemovesForeign } from "./networkd";
import { networkManagerKeeper, NM_TRIGGER } from "./networkmanager";
import type { Keeper, KeeperId } from "./types";

export type { AddressRequest, Keeper, KeeperId, KeeperRecord, Keeping, ManagerEvent, ObjectKind, TableRequest } from "./types";

/** Every keeper, by id. */
export const KEEPERS: Readonly<Record<KeeperId, Keeper>> = {
  kernel: kernelKeeper,
  ifupdown: ifupdownKeeper,
  netplan: netplanKeeper,
  networkd: networkdKeeper,
  networkmanager: networkManagerKeeper,
};

/** The hooks through which managers run the boot replay after their own events. */
export const REPLAY_TRIGGERS: readonly ReplayTrigger[] = [NM_TRIGGER, IFUPDOWN_TRIGGER];

/** The keeper of an interface: its manager's, or the kernel's when nobody manages it (only the host's facts are read). */
export function keeperOf(iface: string | undefined, actual: Pick<HostState, "facts">): Keeper {
  const m = iface !== undefined ? actual.facts.managers.interfaces[iface] : undefined;
  switch (m?.kind) {
    case "networkd":
      return m.fromNetplan ? netplanKeeper : networkdKeeper;
    case "NetworkManager":
      return networkManagerKeeper;
    case "ifupdown":
      return ifupdownKeeper;
    default:
      return kernelKeeper;
  }
}

/** Whether a keeper keeps routing rules in its own configuration (networkd would then leave them). */
function keepsOwnRules(k: Keeper): boolean {
  return k.id === "netplan" || k.id === "networkd";
}

/** The interface that holds `address` or a subnet containing it. */
function interfaceHolding(address: string, actual: HostState): string | undefined {
  const bare = canonicalAddress(splitCidr(address)?.address ?? address);
  const exact = actual.links.find((l) => l.addresses.some((a) => canonicalAddress(a.split("/")[0]!) === bare));
  return (exact ?? actual.links.find((l) => l.addresses.some((a) => inSubnet(bare, a))))?.name;
}

/** The interface a route leaves by: its `dev`, else the one whose subnet holds its gateway. */
export function routeInterface(route: TableRoute, actual: HostState): string | undefined {
  return route.dev ?? (route.via !== undefined ? interfaceHolding(route.via, actual) : undefined);
}

/** A table's declared items with where they are in the inputs. */
export interface TableItems {
  table: TableId;
  rules: ReadonlyArray<{ rule: PolicyRule; property: string }>;
  routes: ReadonlyArray<{ route: TableRoute; property: string }>;
  persist: boolean;
}

/** The items of a table one keeper keeps on one interface, and the host's items that are theirs. */
export interface TableGroup {
  keeper: Keeper;
  iface: string;
  rules: Array<{ rule: PolicyRule; property: string }>;
  routes: Array<{ route: TableRoute; property: string }>;
  have: { rules: ActualRule[]; routes: ActualRoute[] };
}

/** A table's items shared out among keepers, the host's items that belong to none, and what cannot be kept. */
export interface TableAssignment {
  groups: TableGroup[];
  strays: { rules: ActualRule[]; routes: ActualRoute[] };
  refusals: CheckFailure[];
}

/**
 * Shares a table's items out: a route goes with its interface, a rule with the interface holding
 * its source (else the one interface the table's routes use). Where systemd-networkd removes
 * rules it did not configure, a rule no manager keeps moves into networkd's file of the table on a
 * link it manages, or is refused when there is none.
 */
export function assignTable(items: TableItems, actual: HostState): TableAssignment {
  const groups = new Map<string, TableGroup>();
  const refusals: CheckFailure[] = [];
  const group = (iface: string | undefined) => {
    const name = iface ?? "";
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { keeper: keeperOf(iface, actual), iface: name, rules: [], routes: [], have: { rules: [], routes: [] } }));
    return g;
  };
  for (const r of items.routes) group(routeInterface(r.route, actual)).routes.push(r);
  const routeIfaces = new Set(items.routes.map((r) => routeInterface(r.route, actual)));
  const foreignRules = networkdRemovesForeign("rule", actual.facts.managers.networkd);
  for (const r of items.rules) {
    const own = r.rule.from !== "all" ? interfaceHolding(r.rule.from, actual) : undefined;
    const iface = own ?? (routeIfaces.size === 1 ? [...routeIfaces][0] : undefined);
    const keeper = keeperOf(iface, actual);
    if (foreignRules && !keepsOwnRules(keeper) && items.persist) {
      // A rule is not tied to a link: networkd keeps it in the configuration of any link it manages.
      const home = [...groups.values()].find((g) => keepsOwnRules(g.keeper));
      if (home) {
        home.rules.push(r);
        continue;
      }
      refusals.push({
        property: r.property,
        reason: `${foreignRules} and the rule belongs to no interface that networkd manages (${iface ?? "none found"}), so it cannot go into networkd's configuration. Fix: give the rule a source address on a networkd-managed interface, or set ManageForeignRoutingPolicyRules=no in /etc/systemd/networkd.conf.d/`,
      });
      continue;
    }
    group(iface).rules.push(r);
  }
  const strays = { rules: [] as ActualRule[], routes: [] as ActualRoute[] };
  for (const h of actual.rules.filter((x) => x.table === items.table)) {
    const g = [...groups.values()].find((x) => x.rules.some(({ rule }) => ruleMatches(rule, items.table, h)));
    (g ? g.have.rules : strays.rules).push(h);
  }
  for (const h of actual.routes.filter((x) => x.table === items.table)) {
    const g =
      [...groups.values()].find((x) => x.routes.some(({ route }) => routeMatches(route, items.table, h))) ??
      [...groups.values()].find((x) => x.routes.some(({ route }) => sameSlot(route, items.table, h)));
    (g ? g.have.routes : strays.routes).push(h);
  }
  return { groups: [...groups.values()], strays, refusals };
}

