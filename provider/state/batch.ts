/**
 * Which change sets of one host may share a round trip (pure). Each was planned on the same read
 * of the host; sent together they must do what they would have done one after another, so a
 * change set joins a batch only when nothing an earlier one writes is something its plan read or
 * writes too. Keys are as fine as the plans' reads: an interface's addresses ("addrs:eno1"), a
 * table's rules or routes ("rules:101"), a file ("file:PATH"), a sysctl ("sysctl:KEY"), the boot
 * replay's machinery ("replay"); a whole part ("addrs", "files") overlaps each of its pieces.
 */
import { PARTS_DIR, SYSCTL_FILE_PREFIX } from "../hostpaths";
import { dependenciesOf, type Operation } from "../operations";
import type { Progress } from "../protocol";

/**
 * The removal of the replay once no part is left: decided on the host under the lock, so it
 * reads nothing of the plan's read, and two of them commute; a part written after it might find
 * the replay gone, so part writes read it.
 */
const REPLAY_IF_UNUSED = "replay:ifUnused";

/** A file of the replay's machinery (script, units, udev rule, the managers' hooks): not a part, not a sysctl file. */
function isMachinery(path: string): boolean {
  return !path.startsWith(`${PARTS_DIR}/`) && !path.startsWith(SYSCTL_FILE_PREFIX);
}

/** What an operation writes on the host, as keys. */
export function writesOf(op: Operation): string[] {
  switch (op.type) {
    case "address":
    case "link":
      return [`addrs:${op.dev}`];
    case "rule":
      return [`rules:${op.table}`];
    case "route":
      return [`routes:${op.table}`];
    case "endpoint":
    case "limits":
      return ["mptcp"];
    case "sysctl":
      return [`sysctl:${op.key}`];
    case "file":
      return [`file:${op.path}`, ...(isMachinery(op.path) ? ["replay"] : [])];
    case "bootUnit":
      return op.action === "removeIfUnused" ? [REPLAY_IF_UNUSED] : ["replay"];
    case "managerConfig":
      return ["files", "rules", "routes", "addrs"];
    case "nm":
      return ["nm", "addrs", "rules", "routes"];
  }
}

/** What an operation's plan read, as keys. */
export function readsOf(op: Operation): string[] {
  switch (op.type) {
    case "address":
    case "link":
    case "rule":
    case "route":
    case "sysctl":
      return writesOf(op);
    case "file":
      // A part is written where the plan saw the replay that runs it installed (or installs it).
      return [`file:${op.path}`, ...(op.action === "write" && op.path.startsWith(`${PARTS_DIR}/`) ? ["replay", REPLAY_IF_UNUSED] : [])];
    case "bootUnit":
      return op.action === "removeIfUnused" ? [] : ["replay"];
    default:
      return dependenciesOf([op]);
  }
}

/** The whole part a key is a piece of ("addrs:eno1" of "addrs", a file or the replay of "files"). */
function partOf(key: string): string {
  if (key.startsWith("file:") || key === "replay" || key === REPLAY_IF_UNUSED) return "files";
  return key.split(":")[0]!;
}

/** Whether two keys name overlapping things: the same, or a whole part and one of its pieces. */
function overlap(a: string, b: string): boolean {
  return a === b || (!a.includes(":") && a !== "replay" && partOf(b) === a) || (!b.includes(":") && b !== "replay" && partOf(a) === b);
}

/** Operations whose effect does not depend on when they run: the same one twice is the same as once. */
function sameIdempotent(a: Operation, b: Operation): boolean {
  if (!(a.type === "file" || (a.type === "bootUnit" && a.action !== "removeIfUnused")) || a.type !== b.type) return false;
  return JSON.stringify({ ...a, note: undefined }) === JSON.stringify({ ...b, note: undefined });
}

/**
 * `later`'s operations that the batch does not already hold: an identical file write or
 * enablement that an earlier change set makes (both installing the replay on a clean host) goes
 * once, at the earlier one's place.
 */
export function withoutRepeats(earlier: readonly Operation[], later: readonly Operation[]): { fresh: Operation[]; repeated: Operation[] } {
  const repeated = later.filter((op) => earlier.some((e) => sameIdempotent(e, op)));
  return { fresh: later.filter((op) => !repeated.includes(op)), repeated };
}

/** Whether `later`, planned on the same read as `earlier`, would have been planned otherwise after it, or undo it. */
export function conflicts(earlier: readonly Operation[], later: readonly Operation[]): boolean {
  const { fresh, repeated } = withoutRepeats(earlier, later);
  // What the repeats write, `later` wrote itself as the earlier one does: its plan expected it.
  const expected = new Set(repeated.flatMap(writesOf));
  const written = earlier.flatMap(writesOf);
  const touched = fresh.flatMap((op) => [...readsOf(op), ...writesOf(op).filter((k) => k !== REPLAY_IF_UNUSED)]).filter((k) => !expected.has(k));
  return written.some((w) => touched.some((t) => overlap(w, t)));
}

/**
 * Where a change set goes among those of its round trip. An endpoint's subflows take the policy
 * routes of its address, and the tables of a host share the endpoints' round trip: endpoints
 * that go are removed first, while their routes still stand, and endpoints that come are added
 * last, once their routes are in. Everything else keeps its place.
 */
function placeOf(changes: readonly Operation[]): number {
  const endpoints = changes.filter((op) => op.type === "endpoint");
  if (endpoints.some((op) => op.action === "add" || op.action === "change")) return 1;
  return endpoints.length > 0 ? -1 : 0;
}

/**
 * The change sets that go in one round trip: in arrival order (endpoints placed around the
 * routes, placeOf), each joins unless it conflicts with those already in (without the
 * operations they already hold); the rest wait for the next round trip (and are planned again then).
 */
export function batchOf<T extends { changes: readonly Operation[] }>(arrived: readonly T[]): { batch: T[]; later: T[] } {
  const batch: T[] = [];
  const later: T[] = [];
  // A stable sort: change sets of one place keep their arrival order.
  const planned = [...arrived].sort((a, b) => placeOf(a.changes) - placeOf(b.changes));
  for (const p of planned) {
    const taken = batch.flatMap((b) => b.changes);
    if (batch.length > 0 && p.changes.length > 0 && conflicts(taken, p.changes)) later.push(p);
    else batch.push({ ...p, changes: withoutRepeats(taken, p.changes).fresh });
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
