/**
 * The path this SSH session's packets take on the host: its two addresses, the devices its
 * replies leave by (the route to the peer, and the device holding the local address) and the
 * routing tables a rule could send its replies to. A change that touches none of these cannot
 * cut the session, so it needs no commit-confirmed round trip; when the host did not say (no
 * SSH_CONNECTION), every change that could cut a session counts as one that may.
 */
import type { ActualRule, HostState } from "../state/types";
import { canonicalAddress, familyOf, inSubnet, type Family } from "./address";
import type { TableId } from "./table";

/** What the session looks like from the host. */
export interface SessionPath {
  family: Family;
  /** The host's address the session arrives on. */
  local: string;
  /** The address the session comes from (the provider's machine, or its jump host). */
  peer: string;
  /** Devices the session's packets use: the route to the peer, and where the local address lives. */
  devices: readonly string[];
  /** Tables the session's replies may be looked up in: main, local and default, and those of rules that may match them. */
  tables: readonly TableId[];
}

/** The kernel's own tables: local (255), main (254), default (253). */
const KERNEL_TABLES: readonly TableId[] = [255, 254, 253];

/** Whether `address` lies in a rule's selector `prefix` ("all", an address or a prefix); absent means any. */
function covers(prefix: string | undefined, address: string): boolean {
  if (prefix === undefined || prefix === "all") return true;
  if (!prefix.includes("/")) return familyOf(prefix) === familyOf(address) && canonicalAddress(prefix) === address;
  return inSubnet(address, prefix);
}

/**
 * Whether a rule may select the session's replies (from `local` to `peer`). Only its family and
 * its from and to can rule it out: an input or output interface, a mark or an inversion might
 * match, so they count as matching.
 */
export function ruleMayMatch(rule: Pick<ActualRule, "from" | "to"> & { family?: 6 | undefined }, path: SessionPath): boolean {
  return (rule.family ?? 4) === path.family && covers(rule.from, path.local) && covers(rule.to, path.peer);
}

/** The session's path on a host as read, or undefined when the host did not say which session it is. */
export function sessionPath(state: HostState): SessionPath | undefined {
  const { sessionLocalAddress: local, sessionPeerAddress: peer } = state;
  if (local === undefined || peer === undefined) return undefined;
  const family = familyOf(local);
  if (family === undefined || familyOf(peer) !== family) return undefined;
  const holder = state.links.find((l) => l.addresses.some((cidr) => canonicalAddress(cidr.split("/")[0]!) === local))?.name;
  const devices = [...new Set([state.sessionDevice, holder].filter((d): d is string => d !== undefined))];
  // Without the route to the peer, the device its replies take is not known: say nothing.
  if (state.sessionDevice === undefined) return undefined;
  const path = { family, local, peer, devices, tables: KERNEL_TABLES };
  const tables = state.rules.filter((r) => r.action === undefined && ruleMayMatch(r, path)).map((r) => r.table);
  return { ...path, tables: [...new Set([...KERNEL_TABLES, ...tables])] };
}
