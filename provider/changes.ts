/**
 * The compilation of a plan's operations into one remote script.
 *
 * A resource's whole change set travels in one SSH round trip: sysctl writes, one `ip -batch`
 * for the network objects, and the boot-replay files. The script takes a lock on the host so
 * two operations never interleave, and reports which steps were applied, so a partial failure
 * says exactly what changed.
 */
import { posix } from "node:path";
import { LOCK_FILE_SHELL, ROLLBACK_DIR_SHELL } from "./hostpaths";
import { describe, render, type Family, type Operation, type Rendered } from "./operations";
import { heredocMarker, ipBatchLine, shellCommand } from "./transport/quote";

export { LOCK_FILE_SHELL } from "./hostpaths";

/** How long a second operation waits for the host lock before giving up. */
export const LOCK_WAIT_SECONDS = 120;

const APPLIED = "@@mptcp-pulumi-applied@@";
const FAILED = "@@mptcp-pulumi-failed@@";

/** A contiguous group of operations that runs as one shell step. */
interface Step {
  first: number;
  count: number;
  text: string;
}

type IpLine = Extract<Rendered, { kind: "ip" }>;

/** Consecutive ip lines share one batch while their families agree (no family fits either). */
function ipGroup(rendered: readonly Rendered[], from: number): { lines: IpLine[]; family: Family | undefined } {
  const lines: IpLine[] = [];
  let family: Family | undefined;
  for (let i = from; i < rendered.length; i++) {
    const r = rendered[i]!;
    if (r.kind !== "ip" || (r.family !== undefined && family !== undefined && r.family !== family)) break;
    family ??= r.family;
    lines.push(r);
  }
  return { lines, family };
}

/** One rendered operation (not an ip line) as shell text. */
export function shellText(r: Exclude<Rendered, IpLine>): string {
  switch (r.kind) {
    case "exec":
      return shellCommand(r.argv);
    case "writeFile": {
      const marker = heredocMarker(r.content.split("\n"));
      const tmp = `${r.path}.mptcp-pulumi-tmp`;
      const body = r.content.endsWith("\n") ? r.content : `${r.content}\n`;
      return (
        `${shellCommand(["mkdir", "-p", posix.dirname(r.path)])} && ` +
        `cat > ${shellCommand([tmp])} <<'${marker}'\n${body}${marker}\n` +
        `${shellCommand(["mv", "-f", tmp, r.path])}`
      );
    }
    case "removeFile":
      return shellCommand(["rm", "-f", r.path]);
  }
}

/** One ip line as a standalone command. */
export function ipCommand(r: IpLine): string[] {
  return ["ip", ...(r.family === 6 ? ["-6"] : []), ...r.args];
}

/** What an item runs as on the host. */
function rendered(item: Operation | Rendered): Rendered {
  return "kind" in item ? item : render(item);
}

function stepsOf(items: readonly (Operation | Rendered)[]): Step[] {
  const all = items.map(rendered);
  const steps: Step[] = [];
  let i = 0;
  while (i < all.length) {
    const r = all[i]!;
    if (r.kind === "ip") {
      const { lines, family } = ipGroup(all, i);
      const text = lines.map((l) => ipBatchLine(l.args));
      const marker = heredocMarker(text);
      steps.push({ first: i, count: lines.length, text: `ip ${family === 6 ? "-6 " : ""}-batch - <<'${marker}'\n${text.join("\n")}\n${marker}` });
      i += lines.length;
      continue;
    }
    steps.push({ first: i, count: 1, text: shellText(r) });
    i++;
  }
  return steps;
}

/** Printed once the rollback timer is armed: from then on an unconfirmed change set is undone. */
export const ARMED = "@@mptcp-pulumi-armed@@";

/**
 * Compiles changes into one POSIX sh script that holds the host lock and reports progress.
 * `afterLock` runs once the lock is held, before the first change (it arms the rollback timer);
 * `afterChanges` runs once they all succeeded, still under the lock (it reads the new state).
 */
export function compileScript(changes: readonly (Operation | Rendered)[], afterLock?: string, afterChanges?: string): string {
  const out: string[] = [
    "export LC_ALL=C",
    "mkdir -p /run/lock || exit 1",
    `lock="${LOCK_FILE_SHELL}"`,
    `exec 9>"$lock"`,
    // flock(1) is util-linux, present on every distribution we support; without it we still run.
    `if command -v flock >/dev/null 2>&1; then flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "another mptcp-pulumi operation holds $lock on this host" >&2; exit 75; }; fi`,
    // A change set still waiting for its confirm may yet be rolled back: writing now could be
    // undone behind our back, so wait until it settles.
    `rb="${ROLLBACK_DIR_SHELL}"`,
    `for p in "$rb"/*.pending; do [ -e "$p" ] && { echo "a change set applied earlier is awaiting its confirm or its rollback ($p); retry once it settles" >&2; exit 76; }; done`,
  ];
  if (afterLock) out.push(`{\n${afterLock}\n} >&2 || { echo "could not arm the rollback timer" >&2; exit 4; }`, `echo "${ARMED}"`);
  for (const step of stepsOf(changes)) {
    const last = step.first + step.count - 1;
    // Step output goes to stderr: stdout carries only our markers, one per line.
    out.push(`{\n${step.text}\n} >&2`);
    // Exit 3, not the step's code: ip exits 255 like ssh itself, which would hide that the script ran.
    out.push(`rc=$?; if [ "$rc" -ne 0 ]; then echo "${FAILED} ${step.first} ${last} $rc"; exit 3; fi`);
    out.push(`echo "${APPLIED} ${step.first} ${last}"`);
  }
  if (afterChanges) out.push(afterChanges);
  out.push("exit 0");
  return `${out.join("\n")}\n`;
}

/** Whether a script's output shows that it ran and one of its steps failed. */
export function scriptReportedFailure(stdout: string): boolean {
  return stdout.includes(FAILED);
}

/** What a run of a compiled script did, read from its markers and from ip's own error lines. */
export interface ApplyOutcome<T = Operation> {
  applied: T[];
  failed?: T;
  notAttempted: T[];
}

/** Reads the markers of a (possibly failed) script run. */
export function readOutcome<T extends Operation | Rendered>(changes: readonly T[], stdout: string, stderr: string): ApplyOutcome<T> {
  const applied = new Set<number>();
  let failedRange: [number, number] | undefined;
  for (const line of stdout.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] === APPLIED) for (let i = Number(words[1]); i <= Number(words[2]); i++) applied.add(i);
    if (words[0] === FAILED) failedRange = [Number(words[1]), Number(words[2])];
  }
  let failedIndex: number | undefined;
  if (failedRange) {
    failedIndex = failedRange[0];
    // ip -batch stops at the first failing line and names it: "Command failed -:3".
    const match = /Command failed -:(\d+)/.exec(stderr);
    const first = changes[failedRange[0]];
    if (match && first !== undefined && rendered(first).kind === "ip") {
      const line = Number(match[1]);
      for (let i = failedRange[0]; i < failedRange[0] + line - 1; i++) applied.add(i);
      failedIndex = failedRange[0] + line - 1;
    }
  }
  const result: ApplyOutcome<T> = { applied: [], notAttempted: [] };
  changes.forEach((change, i) => {
    if (applied.has(i)) result.applied.push(change);
    else if (i === failedIndex) result.failed = change;
    else result.notAttempted.push(change);
  });
  return result;
}

/** A change set failed part-way: says what was applied, what failed and what was not tried. */
export class PartialApplyError extends Error {
  constructor(
    readonly host: string,
    readonly outcome: ApplyOutcome,
    options: { cause: unknown },
  ) {
    const list = (ops: Operation[]) => (ops.length ? ops.map(describe).join("; ") : "nothing");
    super(
      `on ${host}: ${outcome.failed ? `failed: ${describe(outcome.failed)}` : "the change set failed"}. ` +
        `Applied: ${list(outcome.applied)}. Not attempted: ${list(outcome.notAttempted)}. ` +
        `Cause: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = "PartialApplyError";
  }
}
