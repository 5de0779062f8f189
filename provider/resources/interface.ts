/**
 * Network interface: an existing NIC that must be up, with a set of addresses and an optional
 * MTU. The resource owns only the addresses it added; addresses that were already there are
 * adopted and left in place on delete. It never removes the address this SSH session uses.
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import type { Operation } from "../operations";
import { addressOp } from "../operations/address";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../persist";
import type { HostState } from "../state/types";
import { PlanError, type ResourceDefinition } from "../resource";
import { nmConnectionOf } from "../state/nm";
import { nmAddressProblems, nmInterfaceNow, nmMptcpHomeOf, nmMptcpKeptOff, nmMptcpOff, nmMptcpRestore, type NmMptcpHome } from "./nmMptcp";
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
/** Outputs: what the link has, which addresses this resource added (and so owns), and the original. */
export type InterfaceOutputs = InterfaceInputs & { addedAddresses: string[]; operState: string; persisted: boolean; original?: InterfaceOriginal; nm?: NmMptcpHome };

const partPath = (name: string) => bootPartPath(BOOT_ORDER.interface, `interface-${name}`);

function bootLines(d: InterfaceInputs): PartRecord[] {
  const lines: PartRecord[] = [];
  if (d.mtu !== undefined) lines.push({ kind: "link", dev: d.name, mtu: d.mtu });
  lines.push({ kind: "link", dev: d.name, state: d.up ? "up" : "down" });
  for (const cidr of d.addresses) lines.push({ kind: "address", dev: d.name, cidr });
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

/** Plans link state, MTU and addresses; removes only addresses this resource had added. */
export function planInterface(d: InterfaceInputs, actual: HostState, previous: InterfaceOutputs | undefined): Operation[] {
  const link = actual.links.find((l) => l.name === d.name);
  if (!link) {
    throw new PlanError(d.connection, `interface ${d.name}`, `no interface named ${d.name} on the host (found: ${actual.links.map((l) => l.name).join(", ")})`);
  }
  const unkept = nmAddressProblems(d, nmInterfaceNow(actual, d.name));
  if (unkept.length > 0) throw new PlanError(d.connection, `interface ${d.name}`, unkept.map((f) => `${f.property}: ${f.reason}`).join("; "));
  const changes: Operation[] = [];
  if (d.mtu !== undefined && link.mtu !== d.mtu) changes.push({ type: "link", dev: d.name, mtu: d.mtu, note: `(was ${link.mtu})` });
  if (d.up && !link.up) changes.push({ type: "link", dev: d.name, up: true });
  if (!d.up && link.up) {
    for (const cidr of link.addresses) refuseSessionCut(d, actual, splitCidr(cidr)?.address ?? "", `set ${d.name} down`);
    changes.push({ type: "link", dev: d.name, up: false });
  }
  for (const cidr of d.addresses) {
    if (link.addresses.includes(cidr)) continue;
    const address = splitCidr(cidr)!.address;
    const samePrefixless = link.addresses.find((have) => splitCidr(have)?.address === address);
    if (samePrefixless) {
      refuseSessionCut(d, actual, address, `change the prefix of ${address}`);
      changes.push(addressOp("del", samePrefixless, d.name, "(prefix changes)"));
    }
    changes.push(addressOp("add", cidr, d.name));
  }
  for (const cidr of previous?.addedAddresses ?? []) {
    if (d.addresses.includes(cidr) || !link.addresses.includes(cidr)) continue;
    refuseSessionCut(d, actual, splitCidr(cidr)?.address ?? "", `remove ${cidr}`);
    changes.push(addressOp("del", cidr, d.name, "(no longer declared)"));
  }
  changes.push(...nmMptcpOff(actual, d.name));
  changes.push(...persistPart(partPath(d.name), d.persist ? bootLines(d) : undefined, actual));
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
  // At preview, from what the last read saw: NetworkManager would drop an address its connection lacks.
  refuse: (olds, news) => nmAddressProblems(news, olds.nm),
  outputs(desired, after, before, previous) {
    const was = before.links.find((l) => l.name === desired.name);
    // Ownership is judged against the link as it was at create, not as the last update left it.
    // (State written before `original` existed: what it had added is still its own.)
    const original: InterfaceOriginal = previous?.original ?? {
      addresses: (was?.addresses ?? []).filter((c) => !(previous?.addedAddresses ?? []).includes(c)),
      mtu: was?.mtu ?? 0,
      up: was?.up ?? false,
    };
    const owned = desired.addresses.filter((c) => !original.addresses.includes(c));
    const link = after.links.find((l) => l.name === desired.name);
    const nm = nmMptcpHomeOf(nmConnectionOf(before, desired.name), previous?.nm);
    return {
      ...desired,
      ...(nm ? { nm } : {}),
      original,
      addedAddresses: [...owned].sort(),
      operState: link?.operState ?? "UNKNOWN",
      persisted: partIsCurrent(partPath(desired.name), desired.persist ? bootLines(desired) : undefined, after) && nmMptcpKeptOff(after, desired.name),
    };
  },
  observe(current, actual) {
    const link = actual.links.find((l) => l.name === current.name);
    if (!link) return undefined;
    const seen: InterfaceOutputs = {
      ...current,
      addresses: current.addresses.filter((c) => link.addresses.includes(c)),
      up: link.up,
      operState: link.operState,
      persisted: partIsCurrent(partPath(current.name), current.persist ? bootLines(current) : undefined, actual) && nmMptcpKeptOff(actual, current.name),
    };
    const nm = nmMptcpHomeOf(nmConnectionOf(actual, current.name), current.nm);
    if (nm && current.nm) seen.nm = nm;
    if (current.mtu !== undefined) seen.mtu = link.mtu;
    return seen;
  },
  remove(current, actual) {
    const link = actual.links.find((l) => l.name === current.name);
    const changes: Operation[] = [];
    for (const cidr of current.addedAddresses ?? []) {
      if (!link?.addresses.includes(cidr)) continue;
      refuseSessionCut(current, actual, splitCidr(cidr)?.address ?? "", `remove ${cidr}`);
      changes.push(addressOp("del", cidr, current.name));
    }
    // Put back what the link had before: addresses replaced by a prefix change, MTU, up/down.
    const original = current.original;
    if (link && original) {
      // A link-local IPv6 address is the kernel's, per NIC (a re-created NIC has another); and a
      // manager (networkd reconfiguring) may put an address back between our read and this change,
      // so the restore is a replace, which does not fail when it is already there.
      for (const cidr of original.addresses) {
        if (!link.addresses.includes(cidr) && !/^fe[89ab][0-9a-f]:/i.test(cidr)) changes.push(addressOp("replace", cidr, current.name, "(restore)"));
      }
      if (current.mtu !== undefined && original.mtu > 0 && link.mtu !== original.mtu) changes.push({ type: "link", dev: current.name, mtu: original.mtu, note: "(restore)" });
      if (link.up !== original.up) changes.push({ type: "link", dev: current.name, up: original.up, note: "(restore)" });
    }
    changes.push(...nmMptcpRestore(actual, current.nm));
    changes.push(...persistPart(partPath(current.name), undefined, actual));
    return changes;
  },
};
