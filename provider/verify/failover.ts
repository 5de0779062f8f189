/**
 * What a failover did, read from the timeline (pure): the stall after the failure, throughput
 * before, during and after, which path took over, and whether the failed path came back once
 * its link returned.
 */
import type { PathSpec } from "./verdict";
import { mbpsBetween, rates, round, type Timeline } from "./timeline";

/** How a path fails: the link loses carrier, or it stays up and silently drops every packet. */
export type FailureKind = "carrier" | "drop";
/** Every failure kind, in the order they are measured. */
export const FAILURE_KINDS = ["carrier", "drop"] as const satisfies readonly FailureKind[];

/** Seconds of transfer before the failure, with the path failed, and after it returns. */
export interface FailoverWindows {
  before: number;
  during: number;
  after: number;
}

/** One failover's findings. */
export interface FailoverResult {
  kind: FailureKind;
  /** The client link whose path failed. */
  path: string;
  /** Seconds (on the timeline) at which the failure and the restore took effect. */
  failedAt: number;
  restoredAt: number;
  /** The longest time, while the path was failed, that the remaining paths moved at under half their steady rate. */
  stallSeconds: number;
  beforeMbps: number;
  duringMbps: number;
  afterMbps: number;
  /** Paths that carried the traffic while the failed one was down, busiest first. */
  tookOver: string[];
  /** Whether the failed path carried traffic again (active) or had its subflow back (backup). */
  recovered: boolean;
  /** Seconds from the restore until the failed path carried traffic again. */
  recoveredAfterSeconds: number | null;
  /** Established subflows on the failed path at the end of the transfer (its last sample with any subflow). */
  subflowsAtEnd: number;
  problems: string[];
  ok: boolean;
  timeline: Timeline;
}

/** The longest span within [from, to] made of intervals where `stalled` holds. */
export function longestStall(intervals: ReadonlyArray<{ t: number; end: number; mbps: Record<string, number> }>, stalled: (mbps: Record<string, number>) => boolean, from: number, to: number): number {
  let longest = 0;
  let start: number | undefined;
  for (const r of intervals) {
    if (r.end <= from || r.t >= to) continue;
    if (stalled(r.mbps)) start ??= Math.max(r.t, from);
    else if (start !== undefined) {
      longest = Math.max(longest, r.t - start);
      start = undefined;
    }
  }
  if (start !== undefined) longest = Math.max(longest, to - start);
  return longest;
}

/** Analyzes a failover transfer; `failedAt`/`restoredAt` are seconds on the timeline's axis. */
export function analyzeFailover(kind: FailureKind, failed: PathSpec, paths: readonly PathSpec[], timeline: Timeline, failedAt: number, restoredAt: number): FailoverResult {
  // The last sample while the connection still existed: the sampler outlives the transfer.
  const lastAlive = timeline.samples.filter((x) => Object.values(x.subflows).some((n) => n > 0)).at(-1);
  const end = lastAlive?.t ?? timeline.samples.at(-1)?.t ?? 0;
  const others = paths.filter((p) => p.dev !== failed.dev).map((p) => p.dev);
  const beforeMbps = mbpsBetween(timeline, Math.max(0.5, failedAt - 2), failedAt);
  const duringMbps = mbpsBetween(timeline, failedAt, restoredAt);
  const afterMbps = mbpsBetween(timeline, restoredAt + Math.min(1, (end - restoredAt) / 2), end);
  const intervals = rates(timeline);
  // Steady state on the remaining paths: the second half of the failure window.
  const steady = mbpsBetween(timeline, (failedAt + restoredAt) / 2, restoredAt, others);
  const sumOthers = (m: Record<string, number>) => others.reduce((n, d) => n + (m[d] ?? 0), 0);
  const stallSeconds = longestStall(intervals, (m) => sumOthers(m) < steady / 2 || steady === 0, failedAt, restoredAt);
  const duringBytes = Object.fromEntries(others.map((d) => [d, mbpsBetween(timeline, failedAt, restoredAt, [d])]));
  const tookOver = others.filter((d) => duringBytes[d]! > 1).sort((a, b) => duringBytes[b]! - duringBytes[a]!);
  const beforeOnFailed = mbpsBetween(timeline, Math.max(0.5, failedAt - 2), failedAt, [failed.dev]);
  const back = intervals.find((r) => r.t >= restoredAt && (r.mbps[failed.dev] ?? 0) >= Math.max(1, beforeOnFailed * 0.1));
  const subflowsAtEnd = lastAlive?.subflows[failed.dev] ?? 0;
  const recovered = failed.role === "backup" ? subflowsAtEnd > 0 : back !== undefined && subflowsAtEnd > 0;
  const problems: string[] = [];
  if (tookOver.length === 0 || duringMbps < beforeMbps * 0.1) problems.push(`${kind} on ${failed.dev}: the transfer did not continue on another path (${duringMbps.toFixed(1)} Mbit/s while ${failed.dev} was down)`);
  if (!recovered) {
    problems.push(
      subflowsAtEnd === 0
        ? `${kind} on ${failed.dev}: its subflow did not come back after the link returned (no subflow on ${failed.dev} at the end)`
        : `${kind} on ${failed.dev}: the path carried no traffic in the ${(end - restoredAt).toFixed(1)} s after the link returned (its ${subflowsAtEnd} subflow(s) still exist)`,
    );
  }
  return {
    kind,
    path: failed.dev,
    failedAt: round(failedAt, 2),
    restoredAt: round(restoredAt, 2),
    stallSeconds: round(stallSeconds, 2),
    beforeMbps: round(beforeMbps, 1),
    duringMbps: round(duringMbps, 1),
    afterMbps: round(afterMbps, 1),
    tookOver,
    recovered,
    recoveredAfterSeconds: back ? round(Math.max(0, back.t - restoredAt), 2) : null,
    subflowsAtEnd,
    problems,
    ok: problems.length === 0,
    timeline,
  };
}
