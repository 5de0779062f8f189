/**
 * Shared helpers for the unit tests: the recorded probe fixtures and HostState objects built
 * from them. Every call parses afresh, so a test may mutate its state without affecting others.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { connectionSchema, type Connection } from "../../provider/connection";
import { render, type Operation } from "../../provider/operations";
import { UNIT_LINK, UNIT_PATH } from "../../provider/hostpaths";
import { PlanError } from "../../provider/resource";
import { parseProbe } from "../../provider/protocol";
import type { HostState } from "../../provider/state/types";
import { validate, type CheckFailure } from "../../provider/validation";
import type { z } from "zod";

const FIXTURE_DIR = join(__dirname, "../fixtures/");

/** Recorded probe output of iproute2 6.1.0 on kernel 6.18. */
export const PROBE_6_1 = "probe-iproute2-6.1-kernel-6.18.txt";
/** Source-derived probe output of iproute2 5.15.0 on kernel 5.15 (see iproute2-5.15-NOTES.md). */
export const PROBE_5_15 = "probe-iproute2-5.15-kernel-5.15.txt";
/** Text forms (`ip mptcp endpoint show`, `ip rule show`) of iproute2 6.1. */
export const TEXT_FORMS_6_1 = "text-forms-iproute2-6.1.txt";

/** The text of a fixture file. */
export function fixtureText(name: string): string {
  return readFileSync(`${FIXTURE_DIR}${name}`, "utf8");
}

/** A fresh HostState parsed from a probe fixture. */
export function hostState(version: "6.1" | "5.15" = "6.1"): HostState {
  return parseProbe(fixtureText(version === "6.1" ? PROBE_6_1 : PROBE_5_15));
}

/** The connection input every resource test uses (the lab's client, server2). */
export const CONNECTION = { host: "172.31.2.2" } as const;
/** The same connection, parsed (defaults applied), where a planner takes a Connection. */
export const PARSED_CONNECTION: Connection = connectionSchema.parse(CONNECTION);

/**
 * Plays the file operations of a plan onto `state.files`, as the host would after a successful
 * apply, so a second plan can be checked for idempotence. Other operations are ignored.
 */
export function applyFileChanges(state: HostState, changes: readonly Operation[]): HostState {
  for (const op of changes) {
    if (op.type === "file" && op.action === "write") state.files[op.path] = op.content.endsWith("\n") ? op.content : `${op.content}\n`;
    if (op.type === "file" && op.action === "remove") delete state.files[op.path];
    // The unit's enablement is a symlink; the probe reports its target.
    if (op.type === "bootUnit" && op.action === "enable") state.files[UNIT_LINK] = `${UNIT_PATH}\n`;
  }
  return state;
}

/** The `ip` argument lists of a plan, in order. */
export function ipArgs(changes: readonly Operation[]): string[][] {
  return changes.map(render).flatMap((r) => (r.kind === "ip" ? [r.args] : []));
}

/** The `ip` operations of a plan as the command lines they run ("mptcp endpoint add ..."; "-6 rule add ..."). */
export function ipLines(changes: readonly Operation[]): string[] {
  return changes.map(render).flatMap((r) => (r.kind === "ip" ? [`${r.family === 6 ? "-6 " : ""}${r.args.join(" ")}`] : []));
}

/** The paths a plan writes. */
export function writtenPaths(changes: readonly Operation[]): string[] {
  return changes.flatMap((op) => (op.type === "file" && op.action === "write" ? [op.path] : []));
}

/** The paths a plan removes. */
export function removedPaths(changes: readonly Operation[]): string[] {
  return changes.flatMap((op) => (op.type === "file" && op.action === "remove" ? [op.path] : []));
}

/** The content a plan writes to `path`, if it writes it. */
export function writtenContent(changes: readonly Operation[], path: string): string | undefined {
  const op = changes.find((c) => c.type === "file" && c.action === "write" && c.path === path);
  return op?.type === "file" && op.action === "write" ? op.content : undefined;
}

/** Runs `fn`, expecting a PlanError; returns its message. */
export function planErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlanError) return error.message;
    throw error;
  }
  throw new Error("expected a PlanError, but the plan succeeded");
}

/** The check failures of a resource schema for `input` (the connection is added), [] when valid. */
export function checkFailures(schema: z.ZodType, input: Record<string, unknown>): CheckFailure[] {
  const result = validate(schema, { connection: CONNECTION, ...input });
  return result.ok ? [] : result.failures;
}
