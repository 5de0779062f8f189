/** The errors a change set on a host can end in. */
import { describe, type Operation } from "./operations";
import type { Progress } from "./protocol";

/** A change set failed part-way: says what was applied, what failed and what was not tried. */
export class PartialApplyError extends Error {
  constructor(
    readonly host: string,
    readonly outcome: Progress,
    options: { cause: unknown },
  ) {
    const list = (ops: readonly Operation[]) => (ops.length ? ops.map(describe).join("; ") : "nothing");
    super(
      `on ${host}: ${outcome.failed ? `failed: ${describe(outcome.failed)}` : "the change set failed"}. ` +
        `Applied: ${list(outcome.applied)}. Not attempted: ${list(outcome.notAttempted)}. ` +
        `Cause: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = "PartialApplyError";
  }
}

/** Applied, but the host could not be reached again: it will undo the change set by itself. */
export class RollbackPendingError extends Error {
  constructor(host: string, what: string, seconds: number, options: { cause: unknown; armed?: boolean }) {
    const cause = options.cause instanceof Error ? options.cause.message : String(options.cause);
    const known = options.armed ?? true;
    super(
      `on ${host}: ${what}: the connection was lost ${known ? "after the change set was applied, so it was not confirmed" : "while applying"}; ` +
        `${known ? "the host rolls it back" : "whatever was applied, the host rolls back"} by itself within ${seconds}s (commit-confirmed), ` +
        `so it should become reachable again. Cause: ${cause}`,
      { cause: options.cause },
    );
    this.name = "RollbackPendingError";
  }
}

/** The host was reached again only after its timer fired: it has already undone the change set. */
export class RolledBackError extends Error {
  constructor(host: string, what: string, seconds: number) {
    super(
      `on ${host}: ${what}: the change set was not confirmed within ${seconds}s (the host was unreachable after applying it), ` +
        "so the host rolled it back by itself (commit-confirmed). Nothing of it remains; check what cut the connection",
    );
    this.name = "RolledBackError";
  }
}

