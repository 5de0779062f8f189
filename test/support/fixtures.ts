/**
 * Shared helpers for the unit tests: the recorded probe fixtures and HostState objects built
 * from them. Every call parses afresh, so a test may mutate its state without affecting others.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Change } from "../../provider/changes";
import { UNIT_LINK, UNIT_PATH } from "../../provider/persist";
import { PlanError } from "../../provider/resource";
import { parseProbe } from "../../provider/state/probe";
import type { HostState } from "../../provider/state/types";
import { validate, type CheckFailure } from "../../provider/validation";
import type { z } from "zod";

const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));

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

/**
 * Plays the file changes of a plan onto `state.files`, as the host would after a successful
 * apply, so a second plan can be checked for idempotence. Other kinds are ignored.
 */
export function applyFileChanges(state: HostState, changes: readonly Change[]): HostState {
  for (const change of changes) {
    if (change.kind === "writeFile") state.files[change.path] = change.content.endsWith("\n") ? change.content : `${change.content}\n`;
    if (change.kind === "removeFile") delete state.files[change.path];
    // The unit's enablement is a symlink made by a shell step; the probe reports its target.
    if (change.kind === "shell" && change.summary === "enable mptcp-pulumi.service at boot") state.files[UNIT_LINK] = `${UNIT_PATH}\n`;
  }
  return state;
}

/** The `ip` argument lists of a plan, in order. */
export function ipArgs(changes: readonly Change[]): string[][] {
  return changes.filter((c): c is Extract<Change, { kind: "ip" }> => c.kind === "ip").map((c) => c.args);
}

/** The `ip` changes of a plan as the command lines they run ("mptcp endpoint add ..."). */
export function ipLines(changes: readonly Change[]): string[] {
  return ipArgs(changes).map((args) => args.join(" "));
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
