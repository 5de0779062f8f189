/**
 * An interface NetworkManager manages: NM's own MPTCP endpoints are turned off there (the stack's
 * Endpoint resources are the one source of a host's endpoints; the README's "NetworkManager"
 * section says why), and its declared addresses must be the connection's, because NM removes
 * addresses it does not know at every reapply or reactivation. Pure.
 */
import type { NmOp } from "../operations";
import { nmSettableValue } from "../operations/nm";
import { nmConnectionOf, type NmConnection } from "../state/nm";
import type { HostState } from "../state/types";
import { canonicalCidr, type CheckFailure } from "../validation";

const KEY = "connection.mptcp-flags";
/** NM_MPTCP_FLAGS_DISABLED. */
const DISABLED_BIT = 0x1;

/** The connection NM has on an interface and its MPTCP flags before we first changed them. */
export interface NmMptcpHome {
  device: string;
  uuid: string;
  connectionId: string;
  previousFlags: string;
  /** The connection's addresses at the last read (canonical CIDR): preview refuses others. */
  addresses: string[];
}

/** The addresses a connection configures, canonical. */
function connectionAddresses(conn: NmConnection): string[] {
  return [conn.settings["ipv4.addresses"], conn.settings["ipv6.addresses"]].flatMap((v) => v.split(",")).map((a) => a.trim()).filter((a) => a.includes("/")).map(canonicalCidr);
}

/** Declared addresses NM's connection lacks, each as a {property, reason} naming the interface, NM and the fix. */
export function nmAddressProblems(d: { name: string; addresses: readonly string[] }, home: Pick<NmMptcpHome, "connectionId" | "addresses"> | undefined): CheckFailure[] {
  if (!home) return [];
  return d.addresses.flatMap((cidr, i) =>
    home.addresses.includes(cidr)
      ? []
      : [
          {
            property: `addresses[${i}]`,
            reason:
              `${d.name} is managed by NetworkManager (connection ${home.connectionId}), which removes ${cidr} at its next reapply or reactivation because the connection does not have it. ` +
              `Fix: add it to the connection (nmcli connection modify ${home.connectionId} +ipv${cidr.includes(":") ? 6 : 4}.addresses ${cidr}), then run up again`,
          },
        ],
  );
}

/** What NM's connection on the interface says now, for the refusal at plan time. */
export function nmInterfaceNow(actual: HostState, device: string): Pick<NmMptcpHome, "connectionId" | "addresses"> | undefined {
  const conn = nmConnectionOf(actual, device);
  return conn ? { connectionId: conn.id, addresses: connectionAddresses(conn) } : undefined;
}

/** Whether a printed mptcp-flags value ("0x1 (disabled)", "disabled", "1") turns NM's endpoints off. */
export function nmMptcpDisabled(printed: string): boolean {
  const n = Number(nmSettableValue(KEY, printed));
  return Number.isInteger(n) ? (n & DISABLED_BIT) !== 0 : /\bdisabled\b/.test(printed);
}

/** The operation turning NM's MPTCP handling off on the interface's connection, if NM manages it and it is on. */
export function nmMptcpOff(actual: HostState, device: string): NmOp[] {
  const conn = nmConnectionOf(actual, device);
  if (!conn || nmMptcpDisabled(conn.settings[KEY])) return [];
  return [{ type: "nm", device, uuid: conn.uuid, connectionId: conn.id, set: { [KEY]: "disabled" }, note: "(NetworkManager's own MPTCP endpoints off: the stack declares them)" }];
}

/** What to record at create: the connection's flags before we turned them off. */
export function nmMptcpHomeOf(conn: NmConnection | undefined, previous: NmMptcpHome | undefined): NmMptcpHome | undefined {
  if (!conn) return undefined;
  if (previous?.uuid === conn.uuid) return { ...previous, addresses: connectionAddresses(conn) };
  return { device: conn.device, uuid: conn.uuid, connectionId: conn.id, previousFlags: nmSettableValue(KEY, conn.settings[KEY]), addresses: connectionAddresses(conn) };
}

/** Whether NM's own endpoints stay off on the interface (true when NM does not manage it). */
export function nmMptcpKeptOff(actual: HostState, device: string): boolean {
  const conn = nmConnectionOf(actual, device);
  return !conn || nmMptcpDisabled(conn.settings[KEY]);
}

/** The operation that gives the connection its flags back. */
export function nmMptcpRestore(actual: HostState, home: NmMptcpHome | undefined): NmOp[] {
  const conn = home ? nmConnectionOf(actual, home.device) : undefined;
  if (!home || !conn || conn.uuid !== home.uuid || nmSettableValue(KEY, conn.settings[KEY]) === home.previousFlags) return [];
  return [{ type: "nm", device: home.device, uuid: home.uuid, connectionId: home.connectionId, set: { [KEY]: home.previousFlags }, note: "(restore)" }];
}
