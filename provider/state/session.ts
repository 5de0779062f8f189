/**
 * One session per host per provider process: the shared SSH transport, the host's state read
 * once and shared by all of that host's resources, and a queue so this process sends one
 * program at a time per host (resources' change sets that can share it go together) while
 * different hosts proceed in parallel.
 */
import { randomBytes } from "node:crypto";
import { argvOf, HostError } from "../errors";
import { dependenciesOf, inverseAll, mayCutSession, type Operation } from "../operations";
import { applyScript, confirmScript, parseApplyRun, parseConfirm, parseProbe, readScript, type Preconditions, type ScriptRun } from "../protocol";
import { currentCall, noTracer, nowMs, type Tracer } from "../trace";
import type { RemoteResult, SshTransport } from "../transport/ssh";
import { sessionPath } from "../model/session";
import { HostChanges, type ChangeRequest } from "./changes";
import { inSysctlTrees } from "./probe";
import type { HostState } from "./types";

/** What a session needs of its transport: run a script on the host, and name the host. */
export interface ScriptTransport {
  run(script: string, what: string, timeoutMs?: number): Promise<RemoteResult>;
  describe(): string;
}

/** A host as this provider process sees it during one operation (over SSH, or in tests a namespace). */
export class HostSession<T extends ScriptTransport = SshTransport> {
  private cached: Promise<HostState> | undefined;
  private readonly extraSysctls = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private changes: HostChanges | undefined;
  /** Round trips made, by purpose; reported in debug logs and used by tests. */
  readonly roundTrips = { read: 0, apply: 0, confirm: 0 };

  constructor(
    readonly transport: T,
    private readonly confirmSeconds = 0,
    /** Privileged commands go through sudo (a non-root login). */
    private readonly sudo = false,
    private readonly tracer: Tracer = noTracer,
  ) {}

  /** "user@host:port". */
  get name(): string {
    return this.transport.describe();
  }

  /**
   * The host's state, read at most once until something changes it. `sysctlKeys` outside the
   * probe's default subtrees are added to this and every later read of the host.
   */
  state(sysctlKeys: readonly string[] = []): Promise<HostState> {
    const missing = sysctlKeys.filter((key) => !inSysctlTrees(key) && !this.extraSysctls.has(key));
    if (missing.length > 0) {
      for (const key of missing) this.extraSysctls.add(key);
      this.cached = undefined;
    }
    this.cached ??= this.readState().catch((error: unknown) => {
      this.cached = undefined;
      throw error;
    });
    return this.cached;
  }

  /** Forgets the cached state; the next `state()` reads the host again. */
  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * Plans and applies one resource's change set in the host's queue; change sets that can share
   * a round trip with it go together (changes.ts).
   */
  change<T>(request: ChangeRequest<T>): Promise<T> {
    this.changes ??= new HostChanges(this);
    return this.changes.submit(request);
  }

  /** Runs `work` after every earlier exclusive work on this host has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.recordingWait(work);
    const run = this.queue.then(next, next);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `work`, recording for the profile how long it waited for the host's queue (when tracing). */
  private recordingWait<T>(work: () => Promise<T>): () => Promise<T> {
    if (!this.tracer.on) return work;
    const start = nowMs();
    const call = currentCall();
    return () => {
      this.tracer.emit({ ev: "wait", host: this.name, call, start, end: nowMs() });
      return work();
    };
  }

  /**
   * Applies a change set in one round trip; on failure says exactly what was applied. `before`
   * is the state it was planned on: under the lock, the host checks that the parts of it the
   * change set depends on are unchanged, else nothing is applied (reason `hostChanged`: plan
   * again). With commit-confirmed on, the host arms a rollback to `before` first, and a second
   * round trip disarms it; if that one cannot reach the host, the host rolls back by itself.
   */
  async apply(changes: readonly Operation[], what: string, before?: HostState): Promise<void> {
    if (changes.length === 0) return;
    this.invalidate();
    this.roundTrips.apply++;
    // Only changes that could cut this connection are worth a confirm round trip: links,
    // addresses, routing and rp_filter on the session's path (all of them when the host did not
    // say which path it is), never MPTCP endpoints or buffers.
    const path = before ? sessionPath(before) : undefined;
    const guarded = before !== undefined && this.confirmSeconds > 0 && changes.some((op) => mayCutSession(op, path));
    const arming = guarded ? { token: `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`, seconds: this.confirmSeconds, undo: inverseAll(changes, before) } : undefined;
    const expect: Preconditions = {};
    // Routes judged off the session's path by the host's rules: those rules must still be as read.
    const judged = !guarded && path !== undefined && changes.some((op) => op.type === "route") ? (["rules"] as const) : [];
    for (const part of before ? [...dependenciesOf(changes), ...judged] : []) {
      const sum = before!.fingerprints[part];
      if (sum !== undefined) expect[part] = sum;
    }
    let run: ScriptRun;
    let failure: HostError | undefined;
    try {
      // The probe rides along: the state after the change comes back in the same round trip.
      const script = applyScript(changes, { arming, expect, extraSysctls: [...this.extraSysctls], sudo: this.sudo });
      run = { ...(await this.transport.run(script, what)), exitCode: 0 };
    } catch (error) {
      if (!(error instanceof HostError)) throw error;
      failure = error;
      run = { stdout: error.stdout, stderr: error.stderr, exitCode: error.exitCode };
    } finally {
      this.invalidate();
    }
    const outcome = parseApplyRun(changes, run);
    switch (outcome.kind) {
      case "applied":
        break;
      case "failed":
        // The script ran and stopped at a failed step; we still reach the host, so keep what
        // was applied (and say exactly what) rather than let the timer undo it behind our back.
        if (arming) await this.confirm(arming.token).catch(() => undefined);
        throw new HostError({
          reason: "partial",
          host: this.name,
          operation: what,
          argv: outcome.failed ? argvOf(outcome.failed) : failure?.argv,
          exitCode: failure?.exitCode,
          stdout: run.stdout,
          stderr: run.stderr,
          progress: outcome,
          cause: failure,
        });
      case "connectionLost":
        // The connection broke: the script may have run. If it did, the armed timer undoes it.
        if (arming) throw this.rollbackError("rollbackPending", what, failure, outcome.armed);
        throw failure;
      case "hostChanged":
        throw new HostError({ reason: "hostChanged", host: this.name, operation: what, changed: outcome.parts, exitCode: failure?.exitCode, stdout: run.stdout, stderr: run.stderr, cause: failure });
      default:
        throw failure;
    }
    if (arming) {
      let confirmed: boolean;
      try {
        confirmed = await this.confirm(arming.token);
      } catch (error) {
        throw this.rollbackError("rollbackPending", what, error, true);
      }
      // The host went back to `before` (or soon will): the state read after the change is void.
      if (!confirmed) throw this.rollbackError("rolledBack", what, undefined, true);
    }
    this.cached = Promise.resolve(outcome.state);
  }

  /** The change set is (or will be) undone by the host's own timer. */
  private rollbackError(reason: "rollbackPending" | "rolledBack", what: string, cause: unknown, armed: boolean): HostError {
    const ssh = cause instanceof HostError ? cause : undefined;
    return new HostError(
      { reason, host: this.name, operation: what, argv: ssh?.argv, exitCode: ssh?.exitCode, stdout: ssh?.stdout, stderr: ssh?.stderr, armed, cause },
      this.confirmSeconds,
    );
  }

  /** Disarms the timer; false when it had already fired (the host rolled back). */
  private async confirm(token: string): Promise<boolean> {
    this.roundTrips.confirm++;
    const { stdout } = await this.transport.run(confirmScript(token, this.sudo), "confirm the change set (disarm the rollback timer)", 30_000);
    return parseConfirm(stdout);
  }

  private async readState(): Promise<HostState> {
    this.roundTrips.read++;
    const { stdout } = await this.transport.run(readScript([...this.extraSysctls], this.sudo), "read host state (uname, sysctl, ip mptcp/addr/rule/route)");
    return parseProbe(stdout);
  }
}
