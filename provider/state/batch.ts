/**
 * Which change sets of one host may share a round trip (pure). Each was planned on the same read
 * of the host; sent together they must do what they would have done one after another, so a
 * change set joins a batch only when nothing an earlier one writes is something its plan read or
 * writes too. Reads are the parts each operation declares it was planned on (dependsOn), writes
 * what its family changes; a file and a sysctl count by their own path and key.
 */
import { dependenciesOf, type Operation } from "../operations";
import type { Progress } from "../protocol";

/** What an operation writes on the host, as keys. */
export function writesOf(op: Operation): string[] {
  switch (op.type) {
    case "address":
    case "link":
      return ["addrs"];
    case "rule":
      return ["rules"];
    case "route":
      return ["routes"];
    case "endpoint":
    case "limits":
      return ["mptcp"];
    case "sysctl":
      return [`sysctl:${op.key}`];
    case "file":
      return [`file:${op.path}`];
    case "bootUnit":
      return ["files"];
    case "managerConfig":
      return ["files", "rules", "routes", "addrs"];
    case "nm":
      return ["nm", "addrs", "rules", "routes"];
  }
}

/** What an operation's plan read, as keys (a file its path; a sysctl its key). */
export function readsOf(op: Operation): string[] {
  const parts: string[] = dependenciesOf([op]).filter((p) => !(op.type === "file" && p === "files"));
  if (op.type === "file") parts.push(`file:${op.path}`);
  if (op.type === "sysctl") parts.push(`sysctl:${op.key}`);
  return parts;
}

/** Whether two keys name overlapping things ("files" holds every file). */
function overlap(a: string, b: string): boolean {
  return a === b || (a === "files" && b.startsWith("file:")) || (b === "files" && a.startsWith("file:"));
}

/** Whether `later`, planned on the same read as `earlier`, would have been planned otherwise after it, or undo it. */
export function conflicts(earlier: readonly Operation[], later: readonly Operation[]): boolean {
  const written = earlier.flatMap(writesOf);
  const touched = later.flatMap((op) => [...readsOf(op), ...writesOf(op)]);
  return written.some((w) => touched.some((t) => overlap(w, t)));
}

/**
 * The change sets that go in one round trip: in arrival order, each joins unless it conflicts
 * with those already in; the rest wait for the next round trip (and are planned again then).
 */
export function batchOf<T extends { changes: readonly Operation[] }>(planned: readonly T[]): { batch: T[]; later: T[] } {
  const batch: T[] = [];
  const later: T[] = [];
  for (const p of planned) {
    const taken = batch.flatMap((b) => b.changes);
    if (batch.length > 0 && p.changes.length > 0 && conflicts(taken, p.changes)) later.push(p);
    else batch.push(p);
  }
  return { batch, later };
}

/** One change set's share of a batch's progress, from its operations' positions in the batch. */
export function shareOf(progress: Progress, all: readonly Operation[], from: number, count: number): Progress {
  const mine = new Set(all.slice(from, from + count));
  const share: Progress = { applied: progress.applied.filter((op) => mine.has(op)), notAttempted: progress.notAttempted.filter((op) => mine.has(op)) };
  if (progress.failed !== undefined && mine.has(progress.failed)) share.failed = progress.failed;
  return share;
}
