/**
 * A host's change sets, one round trip for as many as can share it. Resources of one host that
 * the engine runs at the same time each ask for their change; those that arrive while the host's
 * round trip is in flight are planned together on the next read and sent in one program when
 * none depends on what another changes (batch.ts), the rest in later round trips. Each resource
 * still gets its own outcome: its own exact partial report and undo when its part failed, a new
 * plan when it was not attempted, and its own check once applied.
 */
import { HostError } from "../errors";
import { describe, inverseAll, type Operation } from "../operations";
import { batchOf, shareOf } from "./batch";
import type { HostSession } from "./session";
import type { HostState } from "./types";

/** One resource's change, as it asks for it. */
export interface ChangeRequest<T> {
  /** Sysctl keys its plan reads. */
  keys: readonly string[];
  /** Its change set on the host as read (pure; throws PlanError on impossible input). */
  plan(actual: HostState): Operation[];
  /** What it is, for messages: "Endpoint endpoint/192.168.0.2". */
  what: string;
  /** Once its change set is applied, inside the host's queue: read back, check, undo if needed. */
  settle(before: HostState, changes: Operation[]): Promise<T>;
}

/** What the queue needs of a host session (tests give it a stand-in). */
export type ChangeHost = Pick<HostSession, "state" | "apply" | "exclusive" | "invalidate">;

/** How many times a change set is planned again when the host changed between the read and the lock. */
const REPLANS = 2;

/**
 * How long an idle host's queue waits after a change set arrives before it starts the round trip.
 * The engine starts a level's resources of one host (its tables, its interfaces and sysctls)
 * within a few tens of milliseconds of each other; sent at once, the first went alone and the
 * rest took a second round trip (6 per host for the lab stack's `up`, 4 with this wait).
 */
export const GATHER_MS = 100;

interface Waiting<T> extends ChangeRequest<T> {
  replans: number;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Undoes applied changes (of a change set that failed half-way); returns a sentence for the error message. */
export async function undoApplied(session: Pick<HostSession, "apply">, applied: readonly Operation[], before: HostState): Promise<string> {
  const undo = inverseAll(applied, before);
  if (undo.length === 0) return "";
  // No preconditions: the host is, by design, no longer as `before` was read.
  return session.apply(undo, "undo a change set that failed").then(
    () => ` Those changes were undone, so the host is as it was before (${undo.map(describe).join("; ")}).`,
    (undoError: unknown) => ` Undoing them failed too: ${undoError instanceof Error ? undoError.message : String(undoError)}`,
  );
}

/** The change queue of one host session. */
export class HostChanges {
  private waiting: Array<Waiting<unknown>> = [];
  private scheduled = false;

  constructor(private readonly session: ChangeHost) {}

  /** Plans and applies one resource's change set (with others of the host when they can share the round trip). */
  submit<T>(request: ChangeRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ ...request, replans: 0, resolve: resolve as (value: unknown) => void, reject } as Waiting<unknown>);
      this.schedule();
    });
  }

  /**
   * One round in the host's queue at a time; it takes whatever waits when it starts. A round
   * that starts an idle queue first gathers for `gather` ms; what arrived during a round waited
   * already and goes next.
   */
  private schedule(gather = GATHER_MS): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    const start = () =>
      void this.session.exclusive(async () => {
        this.scheduled = false;
        const requests = this.waiting.splice(0);
        try {
          await this.round(requests);
        } catch (error) {
          // A fault of ours must not leave a resource waiting forever (settled ones ignore this).
          for (const r of requests) r.reject(error);
        }
        this.schedule(0);
      });
    if (gather > 0) setTimeout(start, gather);
    else start();
  }

  private async round(requests: Array<Waiting<unknown>>): Promise<void> {
    if (requests.length === 0) return;
    let before: HostState;
    try {
      before = await this.session.state(requests.flatMap((r) => r.keys));
    } catch (error) {
      for (const r of requests) r.reject(error);
      return;
    }
    const planned: Array<{ request: Waiting<unknown>; changes: Operation[] }> = [];
    for (const request of requests) {
      try {
        planned.push({ request, changes: request.plan(before) });
      } catch (error) {
        request.reject(error);
      }
    }
    const { batch, later } = batchOf(planned);
    // Planned again on the next read: it follows what this batch changes.
    this.waiting.unshift(...later.map((p) => p.request));
    const all = batch.flatMap((b) => b.changes);
    const what = batch.map((b) => b.request.what).join(", ");
    try {
      await this.session.apply(all, `${what}: ${all.length} change(s)`, before);
    } catch (error) {
      await this.failed(error, batch, all, before);
      return;
    }
    for (const { request, changes } of batch) {
      await request.settle(before, changes).then(request.resolve, request.reject);
    }
  }

  /** A batch that did not go through: each change set learns what happened to its own part. */
  private async failed(error: unknown, batch: ReadonlyArray<{ request: Waiting<unknown>; changes: Operation[] }>, all: readonly Operation[], before: HostState): Promise<void> {
    if (error instanceof HostError && error.reason === "hostChanged") {
      // Nothing was applied: plan again (each at most REPLANS times), ahead of newer requests.
      this.session.invalidate();
      const again = batch.filter((b) => b.request.replans < REPLANS);
      for (const b of batch) if (!again.includes(b)) b.request.reject(error);
      this.waiting.unshift(...again.map((b) => ({ ...b.request, replans: b.request.replans + 1 })));
      return;
    }
    if (!(error instanceof HostError && error.reason === "partial" && error.progress)) {
      for (const b of batch) b.request.reject(error);
      return;
    }
    let from = 0;
    const retry: Array<Waiting<unknown>> = [];
    for (const { request, changes } of batch) {
      const share = shareOf(error.progress, all, from, changes.length);
      from += changes.length;
      if (changes.length === 0 || share.applied.length === changes.length) {
        // Its whole change set went through before the failure: it is done.
        await request.settle(before, changes).then(request.resolve, request.reject);
      } else if (share.failed === undefined && share.applied.length === 0) {
        // Not attempted: it did not fail, so it is planned again on the host as it is now.
        retry.push(request);
      } else {
        const own = new HostError({ reason: "partial", host: error.host, operation: `${request.what}: ${changes.length} change(s)`, argv: error.argv, exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr, progress: share, cause: error.cause });
        // Its first operation failed: nothing of it to undo.
        if (share.applied.length === 0) request.reject(own);
        else request.reject(new Error(`${own.message}${await undoApplied(this.session, share.applied, before)}`, { cause: own }));
      }
    }
    this.waiting.unshift(...retry);
  }
}
