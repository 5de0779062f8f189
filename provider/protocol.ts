/**
 * The remote protocol, in one place: the words and exit codes the programs on a host use to talk
 * back (set as their environment, the library in provider/host/ prints them), how a change set,
 * its preconditions and its commit-confirmed timer become one program, and how a run of that
 * program (its marker lines on stdout and its exit code) becomes a typed outcome.
 */
import {
  LOCK_WAIT_SECONDS,
  MANAGER_UNITS,
  MPTCPD_CONF,
  MPTCPD_PLUGIN_GLOBS,
  NETPLAN_FILE_GLOBS,
  NETWORKD_CONF_GLOBS,
  IFUPDOWN_STATE,
  OUR_FILE_GLOBS,
  OUR_LINKS,
  RT_TABLES_GLOBS,
  RUN_DIR,
} from "./hostpaths";
import { MANAGER_FILES, program, type HostFile } from "./host";
import { ipCommand, render, type Family, type Operation, type Rendered } from "./operations";
import { NM_KEYS } from "./keepers/networkmanager/facts";
import type { StatePart } from "./state/fingerprints";
import { parseProbeSections, probeSysctls } from "./state/probe";
import type { HostState } from "./state/types";
import { heredocMarker, ipBatchLine, shellCommand } from "./transport/quote";

export { LOCK_WAIT_SECONDS } from "./hostpaths";

/** Starts every line the programs print for the provider; the next word says what it is. */
export const MARK = "@@mptcp-pulumi@@";

/**
 * Exit codes of a change-set program. A step's own code is never passed through: ip exits 255
 * like ssh itself, which would hide that the program ran.
 */
const EXIT = { stepFailed: 3, armFailed: 4, lockUnusable: 5, lockBusy: 75, awaitingRollback: 76, hostChanged: 77 } as const;

/** What every program on a host starts with: the protocol's words, the host's paths, sudo or not. */
export function hostEnvironment(sudo: boolean): Record<string, string | number> {
  return {
    MPTCP_PULUMI_MARK: MARK,
    MPTCP_PULUMI_EXIT_STEP_FAILED: EXIT.stepFailed,
    MPTCP_PULUMI_EXIT_LOCK_UNUSABLE: EXIT.lockUnusable,
    MPTCP_PULUMI_EXIT_LOCK_BUSY: EXIT.lockBusy,
    MPTCP_PULUMI_EXIT_AWAITING_ROLLBACK: EXIT.awaitingRollback,
    MPTCP_PULUMI_EXIT_HOST_CHANGED: EXIT.hostChanged,
    MPTCP_PULUMI_LOCK_WAIT: LOCK_WAIT_SECONDS,
    MPTCP_PULUMI_RUN: RUN_DIR,
    MPTCP_PULUMI_SUDO: sudo ? 1 : 0,
    MPTCP_PULUMI_FILES: OUR_FILE_GLOBS.join(" "),
    MPTCP_PULUMI_LINKS: OUR_LINKS.join(" "),
    MPTCP_PULUMI_NM_KEYS: NM_KEYS.join(","),
    MPTCP_PULUMI_UNITS: Object.values(MANAGER_UNITS).join(" "),
    MPTCP_PULUMI_MPTCPD_UNIT: MANAGER_UNITS.mptcpd,
    MPTCP_PULUMI_NETWORKD_CONF: NETWORKD_CONF_GLOBS.join(" "),
    MPTCP_PULUMI_NETPLAN_FILES: NETPLAN_FILE_GLOBS.join(" "),
    MPTCP_PULUMI_IFSTATE: IFUPDOWN_STATE,
    MPTCP_PULUMI_MPTCPD_CONF: MPTCPD_CONF,
    MPTCP_PULUMI_MPTCPD_PLUGINS: MPTCPD_PLUGIN_GLOBS.join(" "),
    MPTCP_PULUMI_RT_TABLES: RT_TABLES_GLOBS.join(" "),
  };
}

/** A program run in a provider session: C locale, the sbin folders (a non-root login's PATH lacks them). */
export function sessionProgram(sudo: boolean, files: readonly HostFile[], main: readonly string[]): string {
  return program(hostEnvironment(sudo), files, ["export LC_ALL=C", 'export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"', ...main]);
}

/** The library a change set needs: the lock and timer, the operations' functions, the managers', the probe. */
const CHANGE_FILES: readonly HostFile[] = ["lib", "session", "ops", ...MANAGER_FILES, "probe"];

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

/**
 * Text on stdin of a command: a quoted here-document whose marker the text cannot end early.
 * `then` continues the command's line (`|| exit 4`): after the body it would be a new command.
 */
function withStdin(command: string, text: string, then = ""): string {
  const body = text.endsWith("\n") ? text : `${text}\n`;
  const marker = heredocMarker(body.split("\n"));
  return `${command} <<'${marker}'${then}\n${body}${marker}`;
}

/** One rendered operation (not a batched ip line) as shell text; privileged commands run as root. */
export function shellText(r: Rendered): string {
  switch (r.kind) {
    case "ip":
      return shellCommand(["as_root", ...ipCommand(r)]);
    case "exec":
      return shellCommand(["as_root", ...r.argv]);
    case "call":
      return r.stdin === undefined ? shellCommand([r.fn, ...r.args]) : withStdin(shellCommand([r.fn, ...r.args]), r.stdin);
    case "writeFile":
      return withStdin(shellCommand(["write_file", r.path, r.mode]), r.content);
    case "removeFile":
      return shellCommand(["as_root", "rm", "-f", r.path]);
  }
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
      const batch = shellCommand(["as_root", ...ipCommand({ kind: "ip", family, args: ["-batch", "-"] })]);
      steps.push({ first: i, count: lines.length, text: withStdin(batch, lines.map((l) => ipBatchLine(l.args)).join("\n")) });
      i += lines.length;
      continue;
    }
    steps.push({ first: i, count: 1, text: shellText(r) });
    i++;
  }
  return steps;
}

/** Commit-confirmed: the token naming the timer, how long it waits, and what it would run. */
export interface Arming {
  token: string;
  seconds: number;
  undo: readonly Operation[];
}

/** What a change set was planned on: the checksum of each part of the host's state it depends on. */
export type Preconditions = Partial<Record<StatePart, string>>;

/** Options of a change-set program. */
export interface ChangeOptions {
  /** Arm the commit-confirmed timer first. */
  arming?: Arming | undefined;
  /** Refuse to apply when these parts of the state changed since they were read. */
  expect?: Preconditions | undefined;
  /** Sysctl keys beyond the probe's subtrees to read back with the new state. */
  extraSysctls?: readonly string[] | undefined;
  /** Privileged commands through `sudo -n` (a non-root login). */
  sudo?: boolean | undefined;
}

/**
 * The one round trip of a change set: the lock, its preconditions, the optional timer, the
 * operations (each step's progress reported), then the host's new state, under the lock.
 */
export function applyScript(changes: readonly (Operation | Rendered)[], options: ChangeOptions = {}): string {
  const expect = Object.entries(options.expect ?? {}).map(([part, sum]) => `${part}=${sum}`);
  const main = [`begin_change ${shellCommand([String(LOCK_WAIT_SECONDS), ...expect])} || exit $?`];
  if (options.arming) {
    const { token, seconds, undo } = options.arming;
    main.push(withStdin(shellCommand(["arm", checkToken(token), String(seconds)]), rollbackProgram(undo, options.sudo ?? false), ` || exit ${EXIT.armFailed}`));
  }
  for (const step of stepsOf(changes)) {
    // Step output goes to stderr: stdout carries only the marker lines and the state.
    main.push(`{\n${step.text}\n} >&2`, `step_done ${step.first} ${step.first + step.count - 1} $?`);
  }
  main.push(`probe ${shellCommand(probeSysctls(options.extraSysctls ?? []))}`, "exit 0");
  return sessionProgram(options.sudo ?? false, CHANGE_FILES, main);
}

/**
 * The read-only round trip: the host's state, no lock. A non-root login (`sudo`) reads our
 * root-only files through sudo, exactly as a change set's check under the lock reads them:
 * the two must see the same text, or every change set finds the host "changed".
 */
export function readScript(extraSysctls: readonly string[], sudo: boolean): string {
  return sessionProgram(sudo, ["lib", ...MANAGER_FILES, "probe"], [`probe ${shellCommand(probeSysctls(extraSysctls))}`, "exit 0"]);
}

/**
 * The rollback program the timer runs: the library, the undo of the change set as the function
 * `undo` (each line best effort: one failure must not stop the rest), and its main.
 */
export function rollbackProgram(undo: readonly Operation[], sudo: boolean): string {
  const lines = undo.map((op) => `{ ${shellText(render(op))}\n} || true`);
  return program(hostEnvironment(sudo), ["lib", "session", "ops", ...MANAGER_FILES], ["undo() {", ":", ...lines, "}", 'rollback_main "$0" "$@"']);
}

/** Splits output into its state sections (text before the first section is ignored). */
export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  const head = `${MARK} section `;
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith(head)) {
      if (name !== undefined) sections.set(name, lines.join("\n"));
      name = line.slice(head.length);
      lines = [];
    } else if (name !== undefined && !line.startsWith(`${MARK} `)) {
      lines.push(line);
    }
  }
  if (name !== undefined) sections.set(name, lines.join("\n"));
  return sections;
}

/** The host's state from the output of a read or change-set program. */
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

/** What a run of a change-set program did, by operation. */
export interface Progress<T = Operation> {
  applied: T[];
  failed?: T;
  notAttempted: T[];
}

/**
 * The typed outcome of a change-set run:
 * - `applied`: every operation ran; `state` is the host's state right after, under the lock;
 * - `failed`: a step failed; what was applied, what failed and what was not attempted;
 * - `hostChanged`: the parts of the state named in `parts` changed since the plan read them (or
 *   an unconfirmed change set was rolled back first): nothing was attempted, plan again;
 * - `lockBusy`: another operation held the host lock; nothing was attempted;
 * - `rollbackPending`: an earlier change set awaits its confirm or rollback; nothing was attempted;
 * - `armFailed`: the timer could not be armed; nothing was attempted;
 * - `connectionLost`: ssh itself failed; the program may have run (the timer undoes it if armed);
 * - `error`: anything else, the lock folder refused among it (the transport's error says what).
 * `armed` says whether the commit-confirmed timer was armed before the run ended.
 */
export type ApplyOutcome =
  | { kind: "applied"; armed: boolean; applied: Operation[]; state: HostState }
  | ({ kind: "failed"; armed: boolean } & Progress)
  | { kind: "hostChanged"; armed: false; parts: string[]; notAttempted: Operation[] }
  | { kind: "lockBusy" | "rollbackPending" | "armFailed" | "connectionLost" | "error"; armed: boolean; notAttempted: Operation[] };

/** The marker lines of a run, as words after the marker. */
function markerLines(stdout: string): string[][] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith(`${MARK} `))
    .map((line) => line.slice(MARK.length + 1).trim().split(/\s+/));
}

/** Reads a run of `applyScript(ops, ...)`. */
export function parseApplyRun(ops: readonly Operation[], run: ScriptRun): ApplyOutcome {
  const lines = markerLines(run.stdout);
  const armed = lines.some((w) => w[0] === "armed");
  if (run.exitCode === 0) return { kind: "applied", armed, applied: [...ops], state: parseProbe(run.stdout) };
  if (lines.some((w) => w[0] === "failed")) return { kind: "failed", armed, ...readOutcome(ops, run.stdout, run.stderr) };
  if (run.exitCode === EXIT.hostChanged) return { kind: "hostChanged", armed: false, parts: lines.filter((w) => w[0] === "changed").flatMap((w) => w.slice(1)), notAttempted: [...ops] };
  const kinds: Record<number, "lockBusy" | "rollbackPending" | "armFailed"> = { [EXIT.lockBusy]: "lockBusy", [EXIT.awaitingRollback]: "rollbackPending", [EXIT.armFailed]: "armFailed" };
  const kind = (run.exitCode !== null ? kinds[run.exitCode] : undefined) ?? (run.exitCode === 255 || run.exitCode === null ? "connectionLost" : "error");
  return { kind, armed, notAttempted: [...ops] };
}

/** Reads the markers of a (possibly failed) program run. */
export function readOutcome<T extends Operation | Rendered>(changes: readonly T[], stdout: string, stderr: string): Progress<T> {
  const applied = new Set<number>();
  let failedRange: [number, number] | undefined;
  for (const words of markerLines(stdout)) {
    if (words[0] === "applied") for (let i = Number(words[1]); i <= Number(words[2]); i++) applied.add(i);
    if (words[0] === "failed") failedRange = [Number(words[1]), Number(words[2])];
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

/** Tokens name timer files; they are generated, but check anyway before they reach a host. */
function checkToken(token: string): string {
  if (!/^[a-z0-9-]+$/.test(token)) throw new Error(`invalid rollback token ${JSON.stringify(token)}`);
  return token;
}

/** The program that disarms the timer once the provider reached the host again. */
export function confirmScript(token: string, sudo = false): string {
  return sessionProgram(sudo, ["lib", "session"], [shellCommand(["confirm", checkToken(token)]), "exit 0"]);
}

/** Whether the confirm found the timer still armed (true) or already fired (false). */
export function parseConfirm(stdout: string): boolean {
  return markerLines(stdout).some((w) => w[0] === "confirmed");
}
