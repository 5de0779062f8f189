/**
 * Drift check for GitOps: `pulumi preview --refresh --json` reads what the servers really have,
 * changes nothing, and says what `up` would do about it. Exits 0 when every resource matches its
 * declaration, 1 when something would be created, updated, replaced or deleted, 2 when the check
 * itself failed (a host unreachable, a bad config, no engine).
 *
 * Usage: npm run drift -- [--stack lab] [--config-file F] [--cwd DIR] [--report FILE] [--json]
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./tempProject";

/** One step of `pulumi preview --json`: the fields the drift check reads. */
export interface PreviewStep {
  op: string;
  urn: string;
  diffReasons?: string[] | null;
  replaceReasons?: string[] | null;
  detailedDiff?: Record<string, unknown> | null;
  oldState?: { type?: string; outputs?: Record<string, unknown> } | null;
  newState?: { type?: string; inputs?: Record<string, unknown> } | null;
}

/** `pulumi preview --json` output: the fields the drift check reads. */
export interface PreviewOutput {
  steps?: PreviewStep[];
  changeSummary?: Record<string, number>;
  diagnostics?: Array<{ message: string; severity: string; urn?: string }>;
}

/** One resource whose host state differs from its declaration. */
export interface DriftedResource {
  name: string;
  type: string;
  op: string;
  properties: string[];
  reason: string;
}

/** MPTCP endpoints a host has that the stack does not declare (its MptcpHost's `foreign` output). */
export interface ForeignEndpoints {
  /** The MptcpHost resource's name. */
  name: string;
  /** keep: reported only; remove: `up` deletes them (and the host counts as drifted). */
  policy: string;
  endpoints: string[];
}

/** The drift check's verdict; `--json` and `--report` print exactly this. */
export interface DriftPlan {
  drifted: boolean;
  resources: DriftedResource[];
  changeSummary: Record<string, number>;
  matching: number;
  foreign: ForeignEndpoints[];
}

/** The foreign endpoints the refreshed MptcpHost outputs list, per host. */
export function foreignEndpoints(preview: PreviewOutput): ForeignEndpoints[] {
  const found = new Map<string, ForeignEndpoints>();
  for (const step of preview.steps ?? []) {
    const outputs = step.oldState?.outputs;
    if (urnType(step.urn) !== "pulumi-nodejs:dynamic/mptcp:MptcpHost" || !Array.isArray(outputs?.["foreign"])) continue;
    const endpoints = (outputs["foreign"] as unknown[]).map(String);
    if (endpoints.length) found.set(step.urn, { name: urnName(step.urn), policy: String(outputs["foreignEndpoints"] ?? "keep"), endpoints });
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

// Steps that leave the hosts and the state as they are. Anything else counts as drift, so an op
// a later engine adds fails the check instead of hiding a change.
const NO_CHANGE_OPS = new Set(["same", "refresh", "read", "read-replacement", "discard", "discard-replaced", "remove-pending-replace"]);
// A replacement shows as up to three steps (create-replacement, replace, delete-replaced).
const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "import-replacement"]);
// The engine's placeholder for a value only known after apply: not a difference.
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Parses `pulumi preview --json` output; throws when it is not that. */
export function parsePreview(text: string): PreviewOutput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const head = text.trim().slice(0, 200);
    throw new Error(`pulumi preview printed no JSON${head ? `: ${head}` : ""}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("pulumi preview printed JSON that is not a preview");
  return parsed as PreviewOutput;
}

/**
 * The parts of a URN, `urn:pulumi:STACK::PROJECT::TYPE::NAME`. Only the name may hold `::`
 * (a resource named after an IPv6 address), so it is everything after the third separator.
 */
function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  if (parts.length < 4) return { type: "", name: urn };
  return { type: parts[2]!, name: parts.slice(3).join("::") };
}

/** The resource name in a URN. */
export function urnName(urn: string): string {
  return urnParts(urn).name;
}

/** The resource type in a URN, without the parent types a nested resource carries (`A$B`). */
export function urnType(urn: string): string {
  return urnParts(urn).type.split("$").pop() ?? "";
}

/** Whether a URN is the stack, a provider or a component (MptcpGroup, MptcpServer): bookkeeping, nothing on a host. */
function isBookkeeping(urn: string): boolean {
  return !urnType(urn).startsWith("pulumi-nodejs:dynamic/");
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Pulumi's property path syntax: `a.b`, or `a["net.ipv4.tcp_rmem"]` when the key is not a name. */
function propertyPath(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Paths where `actual` differs from `desired`, descending into objects; arrays compare whole. */
export function differingPaths(actual: unknown, desired: unknown, parent = ""): string[] {
  if (desired === UNKNOWN) return [];
  if (isPlainObject(actual) && isPlainObject(desired)) {
    return Object.keys(desired).flatMap((key) => differingPaths(actual[key], desired[key], propertyPath(parent, key)));
  }
  return canonical(actual) === canonical(desired) ? [] : [parent];
}

/** The properties a step changes, as property paths. */
export function changedProperties(step: PreviewStep): string[] {
  // A dynamic provider reports no diffReasons or detailedDiff, so compare what read() saw on the
  // host (oldState.outputs) with what the program declares (newState.inputs).
  const desired = { ...(step.newState?.inputs ?? {}) };
  delete desired["__provider"];
  const actual = step.oldState?.outputs;
  const computed = actual ? differingPaths(actual, desired) : [];
  // Our provider's read() sets persisted: false when a boot replay part is missing; it is not an input.
  if (actual?.["persisted"] === false) computed.push("persisted");
  const reported = [...(step.diffReasons ?? []), ...(step.replaceReasons ?? []), ...Object.keys(step.detailedDiff ?? {})];
  const covered = (reason: string) => computed.some((p) => p === reason || p.startsWith(`${reason}.`) || p.startsWith(`${reason}[`));
  return [...new Set([...computed, ...reported.filter((r) => !covered(r))])];
}

function reasonFor(op: string, properties: readonly string[], refreshed: boolean): string {
  if (op === "create") return refreshed ? "missing on the host" : "declared, never applied";
  if (op === "delete") return "no longer declared, still in the stack's state";
  if (properties.length === 0) return "the provider reports a difference";
  return properties.map((p) => (p === "persisted" ? "persisted (the boot replay part is missing or stale)" : p)).join(", ");
}

/** The drift plan of a preview: every resource `up` would touch, with what differs. */
export function driftPlan(preview: PreviewOutput): DriftPlan {
  const byUrn = new Map<string, { ops: string[]; steps: PreviewStep[] }>();
  for (const step of preview.steps ?? []) {
    if (isBookkeeping(step.urn)) continue;
    const entry = byUrn.get(step.urn) ?? { ops: [], steps: [] };
    entry.ops.push(step.op);
    entry.steps.push(step);
    byUrn.set(step.urn, entry);
  }
  const resources: DriftedResource[] = [];
  for (const [urn, { ops, steps }] of byUrn) {
    const changes = steps.filter((s) => !NO_CHANGE_OPS.has(s.op));
    if (changes.length === 0) continue;
    const op = changes.some((s) => REPLACE_OPS.has(s.op)) ? "replace" : changes[0]!.op;
    const properties = [...new Set(changes.flatMap(changedProperties))];
    resources.push({ name: urnName(urn), type: urnType(urn), op, properties, reason: reasonFor(op, properties, ops.includes("refresh")) });
  }
  const changeSummary = preview.changeSummary ?? {};
  // changeSummary counts the stack and the components as resources too, as "same" unless they
  // are being created (the preview lists them with --show-sames).
  const bookkeepingSame = new Set((preview.steps ?? []).filter((s) => isBookkeeping(s.urn) && s.op === "same").map((s) => s.urn)).size;
  const matching = Math.max(0, (changeSummary["same"] ?? 0) - bookkeepingSame);
  resources.sort((a, b) => a.name.localeCompare(b.name));
  const foreign = foreignEndpoints(preview);
  for (const f of foreign) {
    const host = resources.find((r) => r.name === f.name);
    if (host && f.policy === "remove") host.reason = `foreign endpoints to remove: ${f.endpoints.join("; ")}`;
  }
  return { drifted: resources.length > 0, resources, changeSummary, matching, foreign };
}

/** The error diagnostics of a failed preview, one line per distinct message with the resources it hit. */
export function previewErrors(preview: PreviewOutput): string[] {
  // The provider's stack traces arrive as "info#err" lines, and a host that does not answer fails
  // every one of its resources with the same message: keep the errors, once each.
  const byMessage = new Map<string, string[]>();
  for (const d of preview.diagnostics ?? []) {
    if (d.severity !== "error") continue;
    const message = d.message.trim().replace(/^error: /, "");
    if (message === "preview failed") continue;
    const names = byMessage.get(message) ?? [];
    if (d.urn) names.push(urnName(d.urn));
    byMessage.set(message, names);
  }
  return [...byMessage].map(([message, names]) => (names.length ? `${names.join(", ")}: ${message}` : message));
}

const SYMBOLS: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-" };

/** Foreign endpoints as text lines (after the verdict): reported whatever the policy. */
function foreignLines(plan: DriftPlan): string[] {
  return (plan.foreign ?? []).map((f) => `  foreign MPTCP endpoints on ${f.name} (${f.policy === "remove" ? "up removes them" : "kept: foreignEndpoints is keep"}): ${f.endpoints.join("; ")}`);
}

/** The plan as text: one line when nothing drifted, else one line per drifted resource; then foreign endpoints. */
export function formatPlan(plan: DriftPlan): string {
  if (!plan.drifted) return [`no drift: ${plan.matching} resource${plan.matching === 1 ? " matches" : "s match"}`, ...foreignLines(plan)].join("\n");
  const n = plan.resources.length;
  const lines = [`drift: ${n} resource${n === 1 ? " differs" : "s differ"} from the stack (up would change ${n === 1 ? "it" : "them"}), ${plan.matching} match`];
  for (const r of plan.resources) {
    lines.push(`  ${(SYMBOLS[r.op] ?? "?").padEnd(2)} ${r.name} (${r.type.replace(/^pulumi-nodejs:dynamic\//, "")}) ${r.op}: ${r.reason}`);
  }
  return [...lines, ...foreignLines(plan)].join("\n");
}

interface Options {
  stack: string;
  configFile?: string;
  cwd?: string;
  report?: string;
  json: boolean;
}

function optionsOf(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { stack: { type: "string", default: "lab" }, "config-file": { type: "string" }, cwd: { type: "string" }, report: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const options: Options = { stack: values.stack, json: values.json };
  if (values["config-file"] !== undefined) options.configFile = resolve(values["config-file"]);
  if (values.cwd !== undefined) options.cwd = resolve(values.cwd);
  if (values.report !== undefined) options.report = resolve(values.report);
  // pulumi takes a missing --config-file for an empty one, and would check the wrong stack.
  if (options.configFile && !existsSync(options.configFile)) throw new Error(`drift: no config file ${options.configFile}`);
  return options;
}

function runPreview(options: Options): PreviewOutput {
  const args = ["scripts/pulumi.sh", ...(options.cwd ? ["-C", options.cwd] : []), "preview", "--refresh", "--json", "--show-sames", "--stack", options.stack, "--non-interactive"];
  if (options.configFile) args.push("--config-file", options.configFile);
  process.stderr.write(`drift: pulumi preview --refresh --stack ${options.stack} (reads every host, changes nothing)...\n`);
  // Preview JSON carries every resource's serialized provider: megabytes for a large stack.
  const r = spawnSync("bash", args, { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 512 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw r.error;
  let preview: PreviewOutput | undefined;
  try {
    preview = parsePreview(r.stdout);
  } catch (error) {
    if (r.status === 0) throw error;
  }
  if (r.status !== 0 || !preview) {
    // With --json, pulumi reports its errors as diagnostics on stdout; stderr has the rest.
    const errors = preview ? previewErrors(preview) : [];
    const stdout = preview ? "" : r.stdout.trim();
    throw new Error([`drift: pulumi preview failed (exit ${r.status ?? r.signal}); nothing was checked`, ...errors.map((e) => `  ${e}`), r.stderr.trim(), stdout].filter(Boolean).join("\n"));
  }
  return preview;
}

async function main(): Promise<void> {
  const options = optionsOf(process.argv.slice(2));
  const plan = driftPlan(runPreview(options));
  if (options.report) writeFileSync(options.report, `${JSON.stringify(plan, null, 2)}\n`);
  process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
  process.exitCode = plan.drifted ? 1 : 0;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
