/**
 * Changes a plan asks for, and their compilation into one remote script.
 *
 * A resource's whole change set travels in one SSH round trip: sysctl writes, one `ip -batch`
 * for the network objects, and the boot-replay files. The script takes a lock on the host so
 * two operations never interleave, and reports which steps were applied, so a partial failure
 * says exactly what changed.
 */
import { posix } from "node:path";
import { LOCK_FILE_SHELL, ROLLBACK_DIR_SHELL } from "./hostpaths";
import { heredocMarker, ipBatchLine, shellCommand } from "./transport/quote";

/** One change on a host; `summary` is what users read in errors and logs. */
export type Change =
  | { kind: "ip"; args: string[]; summary: string }
  | { kind: "sysctl"; key: string; value: string; summary: string }
  | { kind: "writeFile"; path: string; content: string; summary: string }
  | { kind: "removeFile"; path: string; summary: string }
  | { kind: "shell"; args: string[]; summary: string };

export { LOCK_FILE_SHELL } from "./hostpaths";

/** Whether a change could cut the SSH session: links, addresses, routing and their sysctls. */
export function mayCutConnection(change: Change): boolean {
  if (change.kind === "ip") return ["link", "address", "rule", "route"].includes(change.args[0] ?? "");
  if (change.kind === "sysctl") return /^net\.(ipv4\.(conf\.|ip_|route\.)|ipv6\.(conf\.|route\.))/.test(change.key);
  return false;
}

/** How long a second operation waits for the host lock before giving up. */
export const LOCK_WAIT_SECONDS = 120;

const APPLIED = "@@mptcp-pulumi-applied@@";
const FAILED = "@@mptcp-pulumi-failed@@";

/** A contiguous group of changes that runs as one shell step. */
interface Step {
  first: number;
  changes: Change[];
  text: string;
}

function stepsOf(changes: readonly Change[]): Step[] {
  const steps: Step[] = [];
  let i = 0;
  while (i < changes.length) {
    const change = changes[i]!;
    if (change.kind === "ip") {
      const group: Change[] = [];
      while (i < changes.length && changes[i]!.kind === "ip") group.push(changes[i++]!);
      const lines = group.map((c) => ipBatchLine((c as { args: string[] }).args));
      const marker = heredocMarker(lines);
      steps.push({ first: i - group.length, changes: group, text: `ip -batch - <<'${marker}'\n${lines.join("\n")}\n${marker}` });
      continue;
    }
    let text: string;
    switch (change.kind) {
      case "sysctl":
        text = shellCommand(["sysctl", "-q", "-w", `${change.key}=${change.value}`]);
        break;
      case "writeFile": {
        const lines = change.content.split("\n");
        const marker = heredocMarker(lines);
        const tmp = `${change.path}.mptcp-pulumi-tmp`;
        const body = change.content.endsWith("\n") ? change.content : `${change.content}\n`;
        text =
          `${shellCommand(["mkdir", "-p", posix.dirname(change.path)])} && ` +
          `cat > ${shellCommand([tmp])} <<'${marker}'\n${body}${marker}\n` +
          `${shellCommand(["mv", "-f", tmp, change.path])}`;
        break;
      }
      case "removeFile":
        text = shellCommand(["rm", "-f", change.path]);
        break;
      case "shell":
        text = shellCommand(change.args);
        break;
    }
    steps.push({ first: i, changes: [change], text });
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
export function compileScript(changes: readonly Change[], afterLock?: string, afterChanges?: string): string {
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
    const last = step.first + step.changes.length - 1;
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
export interface ApplyOutcome {
  applied: Change[];
  failed?: Change;
  notAttempted: Change[];
}

/** Reads the markers of a (possibly failed) script run. */
export function readOutcome(changes: readonly Change[], stdout: string, stderr: string): ApplyOutcome {
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
    if (match && changes[failedRange[0]]?.kind === "ip") {
      const line = Number(match[1]);
      for (let i = failedRange[0]; i < failedRange[0] + line - 1; i++) applied.add(i);
      failedIndex = failedRange[0] + line - 1;
    }
  }
  const result: ApplyOutcome = { applied: [], notAttempted: [] };
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
    const list = (changes: Change[]) => (changes.length ? changes.map((c) => c.summary).join("; ") : "nothing");
    super(
      `on ${host}: ${outcome.failed ? `failed: ${outcome.failed.summary}` : "the change set failed"}. ` +
        `Applied: ${list(outcome.applied)}. Not attempted: ${list(outcome.notAttempted)}. ` +
        `Cause: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = "PartialApplyError";
  }
}
