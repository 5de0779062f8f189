/**
 * NetworkManager's own MPTCP endpoints, turned off on the interfaces the stack declares: the
 * stack's Endpoint resources are the one source of a host's endpoints (see the README's
 * "NetworkManager" section for why). Pure.
 */
import type { NmOp } from "../operations";
import { nmSettableValue } from "../operations/nm";
import { nmConnectionOf, type NmConnection } from "../state/nm";
import type { HostState } from "../state/types";

const KEY = "connection.mptcp-flags";
/** NM_MPTCP_FLAGS_DISABLED. */
const DISABLED_BIT = 0x1;

/** The connection NM has on an interface and its MPTCP flags before we first changed them. */
export interface NmMptcpHome {
  device: string;
  uuid: string;
  connectionId: string;
  previousFlags: string;
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
  if (previous?.uuid === conn.uuid) return previous;
  return { device: conn.device, uuid: conn.uuid, connectionId: conn.id, previousFlags: nmSettableValue(KEY, conn.settings[KEY]) };
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
