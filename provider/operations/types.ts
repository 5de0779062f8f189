/** What every operation family provides, and the forms an operation renders to. */
import type { HostFunction } from "../host";
import type { SessionPath } from "../model/session";
import type { StatePart } from "../state/fingerprints";
import type { HostState } from "../state/types";

/** An IP address family. IPv4 is iproute2's default for rules and routes; IPv6 must be asked for. */
export type Family = 4 | 6;

/**
 * How an operation runs on the host. `ip` is one `ip -batch` line; `family` 6 puts it in an
 * `ip -6 -batch` group (rules and routes need it: a batch line cannot carry `-6`), 4 in a plain
 * one (iproute2's default family), and undefined (MPTCP, links) in either. `exec` is one
 * command as argv, run as root. `call` runs one of the host library's functions
 * (provider/host/ops.sh) with its arguments and optional stdin; it runs its own privileged steps
 * as root. Files are written (with their mode) or removed whole.
 */
export type Rendered =
  | { kind: "ip"; family?: Family | undefined; args: string[] }
  | { kind: "exec"; argv: string[] }
  | { kind: "call"; fn: HostFunction; args: string[]; stdin?: string | undefined }
  | { kind: "writeFile"; path: string; content: string; mode: string }
  | { kind: "removeFile"; path: string };

/** The one place a family of operations defines what it means. */
export interface OperationFamily<T, Inverse = T> {
  /** How the operation runs on the host. */
  render(op: T): Rendered;
  /**
   * Whether it could cut the management (SSH) session, so it must be armed for commit-confirmed.
   * `path` is the session's path on the host; undefined when unknown (then anything that could cut a session may).
   */
  mayCut(op: T, path: SessionPath | undefined): boolean;
  /** The operations that undo it, given the host's state before it ran. */
  inverse(op: T, before: HostState): Inverse[];
  /** What users read, when the rendered command alone would not say it (scripts, files). */
  describe?(op: T): string | undefined;
  /**
   * The parts of the host's state its plan and its inverse were made from: a change set applies
   * only if they are unchanged under the lock (another stack, a replay, mptcpd may act between).
   */
  dependsOn(op: T): readonly StatePart[];
}

/** A note users read after the rendered command, e.g. "(was 1500)". */
export interface Noted {
  note?: string | undefined;
}

