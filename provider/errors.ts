/**
 * The one error type for failures on a host: which host (one spelling, `hostSpelling`), what the
 * provider was doing, the command that ran (argv), its exit code and output, and the cause.
 * `reason` says which of the failures it is; the message is written for users from the fields.
 */
import { describe, type Operation } from "./operations";
import type { Progress } from "./protocol";

export { argvOf } from "./operations";

/** How a host is named in every message: "user@host:port", plus " via JUMP" behind a jump host. */
export function hostSpelling(t: { user: string; host: string; port: number; proxyJump?: string | undefined }): string {
  return `${t.user}@${t.host}:${t.port}${t.proxyJump ? ` via ${t.proxyJump}` : ""}`;
}

/**
 * - `command`: a remote command (or ssh itself) failed;
 * - `partial`: a change set stopped at a failed step: `progress` says what was applied;
 * - `rollbackPending`: the connection was lost after arming: the host undoes the change set itself;
 * - `rolledBack`: the host was reached again only after its timer had undone the change set;
 * - `hostChanged`: under the lock, the parts of the state the change set was planned on (`changed`)
 *   were no longer as read: nothing was applied.
 */
export type HostFailure = "command" | "partial" | "rollbackPending" | "rolledBack" | "hostChanged";

/** What a HostError carries. */
export interface HostErrorFields {
  reason: HostFailure;
  host: string;
  /** What the provider was doing, e.g. "Endpoint endpoint/192.168.0.2: 3 change(s)". */
  operation: string;
  /** The command that ran: the failed step, or the ssh invocation. */
  argv?: readonly string[];
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  /** Why ssh failed, in words a user can act on. */
  hint?: string;
  progress?: Progress;
  /** For `rollbackPending`: whether the timer was known to be armed when the connection broke. */
  armed?: boolean;
  /** For `hostChanged`: the parts of the state that changed ("pending": an unconfirmed change set was rolled back first). */
  changed?: readonly string[];
  cause?: unknown;
}

const causeText = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));
const listOps = (ops: readonly Operation[]) => (ops.length ? ops.map(describe).join("; ") : "nothing");

function messageOf(f: HostErrorFields, seconds: number): string {
  switch (f.reason) {
    case "command": {
      const status = f.exitCode === null || f.exitCode === undefined ? "was killed" : `exited ${f.exitCode}`;
      const detail = f.stderr?.trim() ? `: ${f.stderr.trim().slice(0, 2000)}` : "";
      return `on ${f.host}: \`${f.operation}\` ${status}${detail}${f.hint ? ` (${f.hint})` : ""}`;
    }
    case "partial": {
      const p = f.progress ?? { applied: [], notAttempted: [] };
      return (
        `on ${f.host}: ${p.failed ? `failed: ${describe(p.failed)}` : "the change set failed"}. ` +
        `Applied: ${listOps(p.applied)}. Not attempted: ${listOps(p.notAttempted)}. Cause: ${causeText(f.cause)}`
      );
    }
    case "rollbackPending": {
      const armed = f.armed ?? true;
      return (
        `on ${f.host}: ${f.operation}: the connection was lost ${armed ? "after the change set was applied, so it was not confirmed" : "while applying"}; ` +
        `${armed ? "the host rolls it back" : "whatever was applied, the host rolls back"} by itself within ${seconds}s (commit-confirmed), ` +
        `so it should become reachable again. Cause: ${causeText(f.cause)}`
      );
    }
    case "hostChanged": {
      const parts = f.changed?.length ? f.changed.join(", ") : "its state";
      return (
        `on ${f.host}: ${f.operation}: the host changed since it was read (${parts}), so nothing was applied: ` +
        "another operation, a boot replay or a daemon acted in between. Run again"
      );
    }
    case "rolledBack":
      return (
        `on ${f.host}: ${f.operation}: the change set was not confirmed within ${seconds}s (the host was unreachable after applying it), ` +
        "so the host rolled it back by itself (commit-confirmed). Nothing of it remains; check what cut the connection"
      );
  }
}

/** A failure on a host. Immutable: every field is set once, here. */
export class HostError extends Error {
  readonly reason: HostFailure;
  readonly host: string;
  readonly operation: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly hint: string | undefined;
  readonly progress: Progress | undefined;

  /** `confirmSeconds` is the commit-confirmed timeout the rollback messages quote. */
  constructor(fields: HostErrorFields, confirmSeconds = 0) {
    super(messageOf(fields, confirmSeconds), fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = "HostError";
    this.reason = fields.reason;
    this.host = fields.host;
    this.operation = fields.operation;
    this.argv = Object.freeze([...(fields.argv ?? [])]);
    this.exitCode = fields.exitCode ?? null;
    this.stdout = fields.stdout ?? "";
    this.stderr = fields.stderr ?? "";
    this.hint = fields.hint;
    this.progress = fields.progress && Object.freeze({ ...fields.progress, applied: [...fields.progress.applied], notAttempted: [...fields.progress.notAttempted] });
    Object.freeze(this);
  }
}
