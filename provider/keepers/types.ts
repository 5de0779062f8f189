/**
 * The keeper contract. A keeper is one way a host keeps its network configuration: the kernel
 * alone (with our boot replay), ifupdown, netplan, systemd-networkd, NetworkManager. For each
 * object kind the stack declares on an interface, the keeper of that interface says which
 * operations put the objects where it keeps them and apply them live (each operation knows its
 * inverse), whether it already keeps them, and, when it cannot, why (naming the interface, the
 * manager and the fix). Planners ask the keeper of an interface; they never ask which manager it is.
 */
import type { Operation } from "../operations";
import type { PartRecord } from "./kernel";
import type { PolicyRule } from "../model/rule";
import type { TableRoute } from "../model/route";
import type { TableId } from "../model/table";
import type { HostState } from "../state/types";
import type { CheckFailure } from "../validation";

/** The ways a host keeps its network configuration. */
export type KeeperId = "kernel" | "ifupdown" | "netplan" | "networkd" | "networkmanager";

/** The kinds of objects the stack declares. */
export type ObjectKind = "address" | "rule" | "route" | "endpoint" | "limits";

/** What a manager does to objects of some kinds on one of its own events, as measured. */
export interface ManagerEvent {
  event: string;
  /** keeps: left alone; restores: puts back what its configuration says; removes: deletes what it does not know. */
  effect: "keeps" | "restores" | "removes";
  kinds: readonly ObjectKind[];
  /** Where and on which version this was seen. */
  measured: string;
}

/** A keeper's answer for some objects on one interface. */
export interface Keeping {
  /** In order: what puts the objects where the manager keeps them, and applies them live. */
  ops: Operation[];
  /** What it cannot keep: each names the field, the interface, the manager and the fix. */
  refusals: CheckFailure[];
  /** What the boot replay must hold for these objects (none when the manager keeps them itself). */
  records: PartRecord[];
  /** Whether the manager's configuration already holds exactly these objects (the boot part is the planner's to check). */
  kept: boolean;
  /** What the resource must remember for a later release (what the manager's configuration held before). */
  record?: KeeperRecord | undefined;
}

/** What a keeper asked a resource to remember, kept in its outputs: JSON. */
export type KeeperRecord = Record<string, unknown>;

/** An interface's addresses that the stack declares. */
export interface AddressRequest {
  iface: string;
  /** Every declared address, canonical CIDR. */
  declared: readonly string[];
  /** Declared addresses this resource owns (it added them; the rest were there before it). */
  owned: readonly string[];
  /** Addresses this resource owned and no longer declares: out of the manager's configuration. */
  released: readonly string[];
  persist: boolean;
  /** Where the declared address `i` is in the inputs, for refusals. */
  property(i: number): string;
}

/** One table's rules and routes that sit on one interface. */
export interface TableRequest {
  table: TableId;
  iface: string;
  rules: ReadonlyArray<{ rule: PolicyRule; property: string }>;
  routes: ReadonlyArray<{ route: TableRoute; property: string }>;
  persist: boolean;
  /** Host rules and routes of the table that are this interface's declared items (or hold a declared route's slot). */
  have: Pick<HostState, "rules" | "routes">;
  /** Whether other keepers hold items of the same table. */
  shared: boolean;
}

/** What one keeper does. */
export interface Keeper {
  readonly id: KeeperId;
  /** As users read it, e.g. "systemd-networkd". */
  readonly title: string;
  /** What it does to each kind on its own events. */
  readonly events: readonly ManagerEvent[];
  /** Puts the addresses where the manager keeps them. */
  addresses(req: AddressRequest, actual: HostState, recorded?: KeeperRecord): Keeping;
  /**
   * Takes the addresses this resource owns out of the manager's configuration and off the link,
   * and puts back the addresses the link had before the resource (delete).
   */
  releaseAddresses(iface: string, owned: readonly string[], original: readonly string[], actual: HostState, recorded?: KeeperRecord): Operation[];
  /** Puts a table's items on one interface where the manager keeps them. */
  table(req: TableRequest, actual: HostState, recorded?: KeeperRecord): Keeping;
  /** Takes a table out of the manager's configuration on every interface but `ifaces` (all of them: delete). */
  tableElsewhere(table: TableId, ifaces: readonly string[], actual: HostState, recorded?: KeeperRecord): Operation[];
}
