/**
 * Network interface: an existing NIC that must be up, with a set of addresses and an optional
 * MTU. The resource owns only the addresses it added; addresses that were already there are
 * adopted and left in place on delete. It never removes the address this SSH session uses.
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import { keeperOf, REPLAY_TRIGGERS, type KeeperId, type KeeperRecord } from "../keepers";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../keepers/kernel";
import { nmAddressLimits } from "../keepers/networkmanager";
import type { Operation } from "../operations";
import { PlanError, type ResourceDefinition } from "../resource";
import type { NmConnection } from "../keepers/networkmanager/facts";
import type { HostState } from "../state/types";
import { canonicalCidr, cidrAddress, interfaceName, splitCidr } from "../validation";

/** Addresses in CIDR form, each once, in canonical form and in the order written. */
export const addressList = z
    .array(cidrAddress)
    .default([])
    .superRefine((list, ctx) => {
      // Checked on the list as written, so the path points at the user's own entry.
      const seen = new Map<string, string>();
      list.forEach((cidr, i) => {
        if (!splitCidr(cidr)) return; // already reported by the element's own check
        const address = canonicalCidr(cidr).split("/")[0]!;
        const other = seen.get(address);
        if (other !== undefined && other !== canonicalCidr(cidr)) {
          ctx.addIssue({ code: "custom", path: [i], message: `${address} is listed twice with different prefixes (${other} and ${cidr})` });
        }
        seen.set(address, canonicalCidr(cidr));
      });
    })
    .transform((list) => [...new Set(list.map(canonicalCidr))]);

/** An interface's own fields (the stack config composes them too). */
export const interfaceFields = {
  name: interfaceName,
  addresses: addressList.transform((list) => [...list].sort()),
  mtu: z.number().int("mtu is an integer").min(68, "mtu is 68..65535").max(65535, "mtu is 68..65535").optional(),
  up: z.boolean().default(true),
  persist: z.boolean().default(true),
  /** Allow a change that removes the address this SSH session arrives on (off: such plans are refused). */
  allowSessionDisruption: z.boolean().default(false),
};

/** Interface inputs. */
export const interfaceSchema = z.strictObject({ ...hostedSchema, ...interfaceFields });

/** Validated interface inputs. */
export type InterfaceInputs = z.infer<typeof interfaceSchema>;
/** The link as it was before this resource first changed it: what delete puts back. */
export interface InterfaceOriginal {
  addresses: string[];
  mtu: number;
  up: boolean;
}
/**
 * Outputs: what the link has, which addresses this resource added (and so owns), the link as it
 * was, which keeper keeps its addresses (`through`) and what that keeper asked to remember.
 */
export type InterfaceOutputs = InterfaceInputs & {
  addedAddresses: string[];
  operState: string;
  persisted: boolean;
  original?: InterfaceOriginal;
  through?: KeeperId;
  kept?: KeeperRecord;
};

const partPath = (name: string) => bootPartPath(BOOT_ORDER.interface, `interface-${name}`);

/** The link's state as boot records: the kernel's, whoever keeps the addresses. */
function linkRecords(d: InterfaceInputs): PartRecord[] {
  const lines: PartRecord[] = [];
  if (d.mtu !== undefined) lines.push({ kind: "link", dev: d.name, mtu: d.mtu });
  lines.push({ kind: "link", dev: d.name, state: d.up ? "up" : "down" });
  return lines;
}

function refuseSessionCut(d: InterfaceInputs, actual: HostState, address: string, why: string): void {
  if (!d.allowSessionDisruption && actual.sessionLocalAddress === address) {
    throw new PlanError(
      d.connection,
      `interface ${d.name}`,
      `refusing to ${why}: this SSH session arrives on ${address}, so the host would become unreachable. Set allowSessionDisruption: true to do it anyway`,
    );
  }
}

/** The link as it was before this resource first changed it, judged at create. */
function originalOf(d: InterfaceInputs, before: HostState, previous: InterfaceOutputs | undefined): InterfaceOriginal {
  if (previous?.original) return previous.original;
  const was = before.links.find((l) => l.name === d.name);
  // (State written before `original` existed: what it had added is still its own.)
  return { addresses: (was?.addresses ?? []).filter((c) => !(previous?.addedAddresses ?? []).includes(c)), mtu: was?.mtu ?? 0, up: was?.up ?? false };
}

/** The keeper's share: the declared addresses where the interface's keeper keeps them. */
function keepAddresses(d: InterfaceInputs, actual: HostState, original: InterfaceOriginal, recorded: KeeperRecord | undefined, previouslyOwned: readonly string[]) {
  const keeper = keeperOf(d.name, actual);
  const owned = d.addresses.filter((c) => !original.addresses.includes(c));
  const released = previouslyOwned.filter((c) => !d.addresses.includes(c));
  const keeping = keeper.addresses({ iface: d.name, declared: d.addresses, owned, released, persist: d.persist, property: (i) => `addresses[${i}]` }, actual, recorded);
  return { keeper, keeping, owned };
}

/** The boot part: the link's state, and the addresses when the kernel keeps them. */
function partRecords(d: InterfaceInputs, records: readonly PartRecord[]): PartRecord[] | undefined {
  return d.persist ? [...linkRecords(d), ...records] : undefined;
}

/** Plans link state and MTU, and asks the interface's keeper for its addresses; removes only addresses this resource had added. */
export function planInterface(d: InterfaceInputs, actual: HostState, previous: InterfaceOutputs | undefined): Operation[] {
  const link = actual.links.find((l) => l.name === d.name);
  if (!link) {
    throw new PlanError(d.connection, `interface ${d.name}`, `no interface named ${d.name} on the host (found: ${actual.links.map((l) => l.name).join(", ")})`);
  }
  const original = originalOf(d, actual, previous);
  const { keeping } = keepAddresses(d, actual, original, previous?.kept, previous?.addedAddresses ?? []);
  if (keeping.refusals.length > 0) throw new PlanError(d.connection, `interface ${d.name}`, keeping.refusals.map((f) => `${f.property}: ${f.reason}`).join("; "));
  const changes: Operation[] = [];
  if (d.mtu !== undefined && link.mtu !== d.mtu) changes.push({ type: "link", dev: d.name, mtu: d.mtu, note: `(was ${link.mtu})` });
  if (d.up && !link.up) changes.push({ type: "link", dev: d.name, up: true });
  if (!d.up && link.up) {
    for (const cidr of link.addresses) refuseSessionCut(d, actual, splitCidr(cidr)?.address ?? "", `set ${d.name} down`);
    changes.push({ type: "link", dev: d.name, up: false });
  }
  // Whoever keeps them, an address that goes (no longer declared, or a prefix change) must not be the session's.
  for (const cidr of link.addresses) {
    const address = splitCidr(cidr)?.address ?? "";
    const redeclared = d.addresses.find((c) => splitCidr(c)?.address === address);
    if (redeclared !== undefined && redeclared !== cidr) refuseSessionCut(d, actual, address, `change the prefix of ${address}`);
    if (redeclared === undefined && (previous?.addedAddresses ?? []).includes(cidr)) refuseSessionCut(d, actual, address, `remove ${cidr}`);
  }
  changes.push(...keeping.ops);
  changes.push(...persistPart(partPath(d.name), partRecords(d, keeping.records), actual, REPLAY_TRIGGERS));
  return changes;
}

/** The interface resource. */
export const interfaceDefinition: ResourceDefinition<InterfaceInputs, InterfaceOutputs> = {
  kind: "NetworkInterface",
  schema: interfaceSchema,
  inputKeys: ["name", "addresses", "mtu", "up", "persist", "allowSessionDisruption"],
  identity: (d) => `interface/${d.name}`,
  replaces: (olds, news) => (olds.name !== news.name ? ["name"] : []),
  plan: planInterface,
  // At preview, from what the last read saw: a family NetworkManager's connection has turned off.
  refuse(olds, news) {
    const methods = olds.through === "networkmanager" ? (olds.kept?.["previous"] as Record<string, string> | undefined) : undefined;
    if (!methods) return [];
    const settings = { "ipv4.method": methods["ipv4.method"] ?? "", "ipv6.method": methods["ipv6.method"] ?? "" } as NmConnection["settings"];
    return nmAddressLimits(news.name, news.addresses, (i) => `addresses[${i}]`, { id: String(olds.kept?.["connectionId"] ?? ""), settings });
  },
  outputs(desired, after, before, previous) {
    // Ownership is judged against the link as it was at create, not as the last update left it.
    const original = originalOf(desired, before, previous);
    const recorded = keepAddresses(desired, before, original, previous?.kept, previous?.addedAddresses ?? []);
    const now = keepAddresses(desired, after, original, recorded.keeping.record, previous?.addedAddresses ?? []);
    const link = after.links.find((l) => l.name === desired.name);
    return {
      ...desired,
      original,
      addedAddresses: [...recorded.owned].sort(),
      operState: link?.operState ?? "UNKNOWN",
      through: now.keeper.id,
      ...(recorded.keeping.record ? { kept: recorded.keeping.record } : {}),
      persisted: now.keeping.kept && partIsCurrent(partPath(desired.name), partRecords(desired, now.keeping.records), after, REPLAY_TRIGGERS),
    };
  },
  observe(current, actual) {
    const link = actual.links.find((l) => l.name === current.name);
    if (!link) return undefined;
    const original = current.original ?? { addresses: [], mtu: 0, up: false };
    const now = keepAddresses(current, actual, original, current.kept, current.addedAddresses ?? []);
    const seen: InterfaceOutputs = {
      ...current,
      addresses: current.addresses.filter((c) => link.addresses.includes(c)),
      up: link.up,
      operState: link.operState,
      through: now.keeper.id,
      persisted: now.keeping.refusals.length === 0 && now.keeping.kept && partIsCurrent(partPath(current.name), partRecords(current, now.keeping.records), actual, REPLAY_TRIGGERS),
    };
    if (current.mtu !== undefined) seen.mtu = link.mtu;
    return seen;
  },
  remove(current, actual) {
    const link = actual.links.find((l) => l.name === current.name);
    for (const cidr of current.addedAddresses ?? []) if (link?.addresses.includes(cidr)) refuseSessionCut(current, actual, splitCidr(cidr)?.address ?? "", `remove ${cidr}`);
    // Put back what the link had before: addresses (replaced by a prefix change, dropped by a manager's reload), MTU, up/down.
    const original = current.original;
    const changes = keeperOf(current.name, actual).releaseAddresses(current.name, current.addedAddresses ?? [], original?.addresses ?? [], actual, current.kept);
    if (link && original) {
      if (current.mtu !== undefined && original.mtu > 0 && link.mtu !== original.mtu) changes.push({ type: "link", dev: current.name, mtu: original.mtu, note: "(restore)" });
      if (link.up !== original.up) changes.push({ type: "link", dev: current.name, up: original.up, note: "(restore)" });
    }
    changes.push(...persistPart(partPath(current.name), undefined, actual, REPLAY_TRIGGERS));
    return changes;
  },
};
