/**
 * The remote protocol, in one place: how a change set, its lock, its commit-confirmed timer and
 * the read of the host's new state become one POSIX sh script, and how a run of that script
 * (its markers on stdout and its exit code) becomes a typed outcome. Every marker and exit code
 * the provider uses on a host is defined here and nowhere else. Values reach the script quoted
 * once, by transport/quote.ts, or as here-document data.
 */
import { posix } from "node:path";
import { takeHostLock } from "./hostLock";
import { ROLLBACK_DIR_SHELL } from "./hostpaths";
import { render, type Family, type Operation, type Rendered } from "./operations";
import { parseProbeSections, probeScript } from "./state/probe";
import type { HostState } from "./state/types";
import { asRoot, AS_ROOT_FUNCTION, privilegePrelude } from "./privilege";
import { heredocMarker, ipBatchLine, shellCommand } from "./transport/quote";

export { LOCK_FILE_SHELL } from "./hostpaths";

/** How long a second operation waits for the host lock before giving up. */
export const LOCK_WAIT_SECONDS = 120;

const APPLIED = "@@mptcp-pulumi-applied@@";
const FAILED = "@@mptcp-pulumi-failed@@";
/** Printed once the rollback timer is armed: from then on an unconfirmed change set is undone. */
const ARMED = "@@mptcp-pulumi-armed@@";
/** Starts every section of the host's state; the probe names its sections with `section NAME`. */
const SECTION = "@@mptcp-pulumi@@";
/** Printed by the confirm script: the timer was still armed, and now is not. */
const CONFIRMED = "confirmed";
/** Printed by the confirm script: too late, the timer had fired and the host rolled back. */
const EXPIRED = "expired";

/**
 * Exit codes of an apply script. A step's own code is never passed through: ip exits 255 like
 * ssh itself, which would hide that the script ran.
 */
const EXIT = { stepFailed: 3, armFailed: 4, lockBusy: 75, awaitingRollback: 76 } as const;

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

/** One rendered operation (not an ip line) as shell text; privileged commands run as root. */
export function shellText(r: Exclude<Rendered, IpLine>): string {
  switch (r.kind) {
    case "exec":
      return shellCommand(r.escalates === "inside" ? r.argv : asRoot(r.argv));
    case "writeFile": {
      const marker = heredocMarker(r.content.split("\n"));
      const tmp = `${r.path}.mptcp-pulumi-tmp`;
      const body = r.content.endsWith("\n") ? r.content : `${r.content}\n`;
      return (
        `${shellCommand(asRoot(["mkdir", "-p", posix.dirname(r.path)]))} && ` +
        `${shellCommand(asRoot(["tee", tmp]))} >/dev/null <<'${marker}'\n${body}${marker}\n` +
        (r.mode ? `${shellCommand(asRoot(["chmod", r.mode, tmp]))} && ` : "") +
        `${shellCommand(asRoot(["mv", "-f", tmp, r.path]))}`
      );
    }
    case "removeFile":
      return shellCommand(asRoot(["rm", "-f", r.path]));
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
      steps.push({ first: i, count: lines.length, text: `${shellCommand(asRoot(ipCommand({ kind: "ip", family, args: ["-batch", "-"] })))} <<'${marker}'\n${text.join("\n")}\n${marker}` });
      i += lines.length;
      continue;
    }
    steps.push({ first: i, count: 1, text: shellText(r) });
    i++;
  }
  return steps;
}

/** The prelude of every script: C locale, `section NAME` to start a section of state, and `as_root`. */
function prelude(sudo: boolean): string[] {
  // A non-root login's PATH often lacks the sbin folders (sysctl lives there on Debian).
  return ["export LC_ALL=C", 'export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"', `section() { echo "${SECTION} $*"; }`, ...privilegePrelude(sudo)];
}

/**
 * Compiles changes into one POSIX sh script that holds the host lock and reports progress.
 * `afterLock` runs once the lock is held, before the first change (it arms the rollback timer);
 * `afterChanges` runs once they all succeeded, still under the lock (it reads the new state).
 */
export function compileScript(changes: readonly (Operation | Rendered)[], afterLock?: string, afterChanges?: string, sudo = false): string {
  const out: string[] = [
    ...prelude(sudo),
    ...takeHostLock(LOCK_WAIT_SECONDS, `{ echo "another mptcp-pulumi operation holds $lock on this host" >&2; exit ${EXIT.lockBusy}; }`),
    // A change set still waiting for its confirm may yet be rolled back: writing now could be
    // undone behind our back, so wait until it settles.
    `rb="${ROLLBACK_DIR_SHELL}"`,
    `for p in "$rb"/*.pending; do [ -e "$p" ] && { echo "a change set applied earlier is awaiting its confirm or its rollback ($p); retry once it settles" >&2; exit ${EXIT.awaitingRollback}; }; done`,
  ];
  if (afterLock) out.push(`{\n${afterLock}\n} >&2 || { echo "could not arm the rollback timer" >&2; exit ${EXIT.armFailed}; }`, `echo "${ARMED}"`);
  for (const step of stepsOf(changes)) {
    const last = step.first + step.count - 1;
    // Step output goes to stderr: stdout carries only our markers, one per line.
    out.push(`{\n${step.text}\n} >&2`);
    out.push(`rc=$?; if [ "$rc" -ne 0 ]; then echo "${FAILED} ${step.first} ${last} $rc"; exit ${EXIT.stepFailed}; fi`);
    out.push(`echo "${APPLIED} ${step.first} ${last}"`);
  }
  if (afterChanges) out.push(afterChanges);
  out.push("exit 0");
  return `${out.join("\n")}\n`;
}

/** Commit-confirmed: the token naming the timer, how long it waits, and what it would run. */
export interface Arming {
  token: string;
  seconds: number;
  undo: readonly Operation[];
}

/**
 * The one round trip of a change set: lock, optional timer, the operations, then the new state.
 * With `sudo`, privileged commands go through `sudo -n` (a non-root login).
 */
export function applyScript(ops: readonly Operation[], extraSysctls: readonly string[], arming?: Arming, sudo = false): string {
  return compileScript(ops, arming ? armScript(arming.token, arming.seconds, arming.undo) : undefined, probeScript(extraSysctls), sudo);
}

/** The read-only round trip: the host's state, no lock (reading needs no privilege). */
export function readScript(extraSysctls: readonly string[]): string {
  return `${[...prelude(false), probeScript(extraSysctls), "exit 0"].join("\n")}\n`;
}

/** Splits output into its state sections (text before the first section is ignored). */
export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith(`${SECTION} `)) {
      if (name !== undefined) sections.set(name, lines.join("\n"));
      name = line.slice(SECTION.length + 1);
      lines = [];
    } else if (name !== undefined) {
      lines.push(line);
    }
  }
  if (name !== undefined) sections.set(name, lines.join("\n"));
  return sections;
}

/** The host's state from the output of a read or apply script. */
export function parseProbe(output: string): HostState {
  return parseProbeSections(splitSections(output));
}

/** What a run printed and how it ended: what the transport hands back, success or not. */
export interface ScriptRun {
  stdout: string;
  stderr: string;
  /** null when the process was killed or the connection broke without a status. */
  exitCode: number | null;
}

/** What a run of an apply script did, by operation. */
export interface Progress<T = Operation> {
  applied: T[];
  failed?: T;
  notAttempted: T[];
}

/**
 * The typed outcome of an apply run:
 * - `applied`: every operation ran; `state` is the host's state right after, under the lock;
 * - `failed`: a step failed; what was applied, what failed and what was not attempted;
 * - `lockBusy`: another operation held the host lock; nothing was attempted;
 * - `rollbackPending`: an earlier change set awaits its confirm or rollback; nothing was attempted;
 * - `armFailed`: the timer could not be armed; nothing was attempted;
 * - `connectionLost`: ssh itself failed; the script may have run (the timer undoes it if armed);
 * - `error`: anything else (the transport's error says what).
 * `armed` says whether the commit-confirmed timer was armed before the run ended.
 */
export type ApplyOutcome =
  | { kind: "applied"; armed: boolean; applied: Operation[]; state: HostState }
  | ({ kind: "failed"; armed: boolean } & Progress)
  | { kind: "lockBusy" | "rollbackPending" | "armFailed" | "connectionLost" | "error"; armed: boolean; notAttempted: Operation[] };

/** Reads a run of `applyScript(ops, ...)`. */
export function parseApplyRun(ops: readonly Operation[], run: ScriptRun): ApplyOutcome {
  const armed = run.stdout.split("\n").some((line) => line.trim() === ARMED);
  if (run.exitCode === 0) return { kind: "applied", armed, applied: [...ops], state: parseProbe(run.stdout) };
  if (run.stdout.includes(FAILED)) return { kind: "failed", armed, ...readOutcome(ops, run.stdout, run.stderr) };
  const kind =
    run.exitCode === EXIT.lockBusy
      ? "lockBusy"
      : run.exitCode === EXIT.awaitingRollback
        ? "rollbackPending"
        : run.exitCode === EXIT.armFailed
          ? "armFailed"
          : run.exitCode === 255 || run.exitCode === null
            ? "connectionLost"
            : "error";
  return { kind, armed, notAttempted: [...ops] };
}

/** Reads the markers of a (possibly failed) script run. */
export function readOutcome<T extends Operation | Rendered>(changes: readonly T[], stdout: string, stderr: string): Progress<T> {
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
  const result: Progress<T> = { applied: [], notAttempted: [] };
  changes.forEach((change, i) => {
    if (applied.has(i)) result.applied.push(change);
    else if (i === failedIndex) result.failed = change;
    else result.notAttempted.push(change);
  });
  return result;
}

/** One undo operation as a best-effort shell line (a failed line must not stop the rest). */
function undoLine(op: Operation): string {
  const r = render(op);
  if (r.kind === "ip") return `${shellCommand(asRoot(ipCommand(r)))} || true`;
  // A file is restored with printf: a here-document inside the rollback script would need a
  // marker of its own; one quoted word does not.
  if (r.kind === "writeFile") return `printf '%s' ${shellCommand([r.content])} | ${shellCommand(asRoot(["tee", r.path]))} >/dev/null${r.mode ? ` && ${shellCommand(asRoot(["chmod", r.mode, r.path]))}` : ""} || true`;
  return `{ ${shellText(r)}; } || true`;
}

/** Tokens name timer files; they are generated, but check anyway before they reach a shell. */
function checkToken(token: string): string {
  if (!/^[a-z0-9-]+$/.test(token)) throw new Error(`invalid rollback token ${JSON.stringify(token)}`);
  return token;
}

/** Script text that arms the timer: writes the rollback, starts a detached sleeper. */
export function armScript(token: string, seconds: number, undo: readonly Operation[]): string {
  const base = `"$rb/${checkToken(token)}`;
  // The timer runs as the login user (it inherits MPTCP_PULUMI_SUDO); each undo line escalates.
  const rollback = ["#!/bin/sh", "# mptcp-pulumi rollback: runs when the provider could not confirm the change set", AS_ROOT_FUNCTION, ...undo.map(undoLine), ""].join("\n");
  return [
    `rb="${ROLLBACK_DIR_SHELL}"`,
    // The folder belongs to the login user, who writes the timer's files and later confirms.
    `${shellCommand(asRoot(["mkdir", "-p"]))} "$rb" && ${shellCommand(asRoot(["chown"]))} "$(id -u)" "$rb" && chmod 700 "$rb"`,
    `printf '%s' ${shellCommand([rollback])} > ${base}.rollback"`,
    `: > ${base}.pending"`,
    // Detached from this session, so a cut SSH connection cannot take the timer with it.
    // It must not inherit the lock (fd 9), or the host would stay locked until it fires.
    `setsid sh -c ${shellCommand([
      // Claim the token by renaming it: a confirm that comes later finds it gone, and one that
      // came first removed it, so exactly one of the two wins.
      `sleep ${seconds}; ${takeHostLock(LOCK_WAIT_SECONDS, ":").join("; ")}; b="$1"; if mv "$b.pending" "$b.firing" 2>/dev/null; then { sh "$b.rollback"; echo "rolled back at $(date)"; } > "$b.log" 2>&1; fi; rm -f "$b.firing" "$b.rollback" "$b.pid"`,
    ])} sh ${base}" 9>&- </dev/null >/dev/null 2>&1 &`,
    `echo $! > ${base}.pid"`,
  ].join("\n");
}

/** Script text that disarms the timer once the provider reached the host again. */
export function confirmScript(token: string): string {
  const b = `"$rb/${checkToken(token)}`;
  // rm succeeding is the claim; the timer's mv cannot then fire the rollback.
  return [
    `rb="${ROLLBACK_DIR_SHELL}"`,
    `if rm ${b}.pending" 2>/dev/null; then [ -f ${b}.pid" ] && kill "$(cat ${b}.pid")" 2>/dev/null; rm -f ${b}.rollback" ${b}.pid"; echo ${CONFIRMED}; else echo ${EXPIRED}; fi`,
    "exit 0",
    "",
  ].join("\n");
}

/** Whether the confirm found the timer still armed (true) or already fired (false). */
export function parseConfirm(stdout: string): boolean {
  return stdout.trim() === CONFIRMED;
}
