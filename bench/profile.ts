/**
 * The profile of one Pulumi operation, from the trace the program and the provider wrote
 * (provider/trace.ts) and the command's own start, end and CPU: where the wall time went (CLI and
 * engine start, the program, the provider's start, the resources' work, the wrap-up), the CPU of
 * each process, SSH round trips per host, per resource and by purpose, and the time resources
 * waited on their dependencies. Pure: the bench hands it what it measured.
 */
import { WAITS_FOR } from "../provider/components/levels";
import type { CallLabel, TraceEvent } from "../provider/trace";
import { median } from "../provider/verify";

/** The command as the bench saw it: epoch ms at spawn and exit, and the CPU of it and all it waited for. */
export interface CommandRun {
  startMs: number;
  endMs: number;
  cpuMs: number;
}

/** What an operation's SSH round trip was for, from the transport's description of it. */
export type Purpose = "connect" | "read" | "apply" | "confirm" | "undo";

/** One host's share of the operation. */
export interface HostProfile {
  host: string;
  roundTrips: number;
  byPurpose: Partial<Record<Purpose, number>>;
  /** Seconds with at least one round trip to the host in flight. */
  sshSeconds: number;
  /** Seconds from the host's first provider call to its last one's end. */
  spanSeconds: number;
}

/** Where one operation's time went, in seconds (CPU in CPU seconds). */
export interface Profile {
  wallSeconds: number;
  phases: {
    /** Spawn to the program's start (up, preview) or to the provider's (refresh, destroy). */
    cliStart: number;
    /** The program's start to its first resource reaching the provider (Node.js, the SDK, the program). */
    program: number | null;
    /** The provider process's start to its code loaded (the dynamic-provider host, then ours on its first call). */
    providerLoad: number | null;
    /** The first provider call's start to the last one's end: the resources' work, waits included. */
    work: number;
    /** The last provider call's end to the command's exit (the engine's wrap-up, saving the state). */
    wrapUp: number;
  };
  cpu: { total: number; provider: number; program: number; other: number };
  calls: Record<string, number>;
  roundTrips: {
    total: number;
    byPurpose: Partial<Record<Purpose, number>>;
    perHostMax: number;
    perHostMedian: number;
    /** Per resource kind: round trips made inside that kind's calls, per resource. */
    perResource: Record<string, number>;
    medianMs: number;
  };
  hosts: HostProfile[];
  waits: {
    /** Per resource, from its dependencies' last work call ending to its own first call: the program and SDK. */
    dependencyToRegistrationMs: number | null;
    /** Per resource, from its check or diff ending to its create, update or delete: the engine's scheduling. */
    registrationToWorkMs: number | null;
    /** Per resource, waiting for the host's queue (another resource of the host busy in this process). */
    hostQueueMs: number | null;
    /** Dependency levels of the longest chain among a host's resources. */
    levels: number;
  };
}

/** The purpose of a round trip, from what the transport was told it does. */
export function purposeOf(what: string): Purpose {
  if (what === "connect") return "connect";
  if (what.startsWith("read host state")) return "read";
  if (what.startsWith("confirm")) return "confirm";
  if (what.startsWith("undo")) return "undo";
  return "apply";
}

const WORK = new Set(["create", "update", "delete", "read"]);
const key = (c: CallLabel) => `${c.host}\u0000${c.kind}\u0000${c.id}`;
const s = (ms: number) => ms / 1000;

/** Seconds covered by at least one of the spans (overlaps counted once). */
export function coveredSeconds(spans: ReadonlyArray<{ start: number; end: number }>): number {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let total = 0;
  let open: { start: number; end: number } | undefined;
  for (const x of sorted) {
    if (open && x.start <= open.end) {
      open.end = Math.max(open.end, x.end);
      continue;
    }
    if (open) total += open.end - open.start;
    open = { ...x };
  }
  return s(total + (open ? open.end - open.start : 0));
}

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** The kinds a resource kind waits for within its host (levels.ts); a delete waits for the reverse. */
function waitsFor(kind: string): readonly string[] {
  return (WAITS_FOR as Readonly<Record<string, readonly string[] | undefined>>)[kind] ?? [];
}

/** Longest dependency chain among the kinds present. */
function levelsOf(kinds: ReadonlySet<string>): number {
  const depth = (k: string): number => 1 + Math.max(0, ...waitsFor(k).filter((d) => kinds.has(d)).map(depth));
  return Math.max(0, ...[...kinds].map(depth));
}

/** The profile of one operation. */
export function profileOf(run: CommandRun, events: readonly TraceEvent[]): Profile {
  const procs = events.filter((e): e is Extract<TraceEvent, { ev: "process" }> => e.ev === "process");
  const cpuSamples = events.filter((e): e is Extract<TraceEvent, { ev: "exit" | "cpu" }> => e.ev === "exit" || e.ev === "cpu");
  const calls = events.filter((e): e is Extract<TraceEvent, { ev: "call" }> => e.ev === "call");
  const ssh = events.filter((e): e is Extract<TraceEvent, { ev: "ssh" }> => e.ev === "ssh");
  const waits = events.filter((e): e is Extract<TraceEvent, { ev: "wait" }> => e.ev === "wait");
  const program = procs.find((p) => p.role === "program");
  const providers = procs.filter((p) => p.role === "provider");
  const firstCall = Math.min(...calls.map((c) => c.start));
  const lastCall = Math.max(...calls.map((c) => c.end));
  const hasCalls = calls.length > 0;
  const firstProcess = Math.min(...[program?.startedMs, ...providers.map((p) => p.startedMs)].filter((x): x is number => x !== undefined));
  const cliStart = (program?.startedMs ?? (Number.isFinite(firstProcess) ? firstProcess : run.endMs)) - run.startMs;
  // Each process's last CPU sample (its exit, or its last call's when a signal ended it).
  const lastCpu = new Map<number, (typeof cpuSamples)[number]>();
  for (const e of cpuSamples) if ((lastCpu.get(e.pid)?.atMs ?? -Infinity) <= e.atMs) lastCpu.set(e.pid, e);
  const cpuOf = (role: string) => [...lastCpu.values()].filter((e) => e.role === role).reduce((n, e) => n + e.cpuUserMs + e.cpuSystemMs, 0);

  const hostNames = [...new Set([...ssh.map((x) => x.host), ...calls.map((c) => c.host)])].sort();
  const hosts: HostProfile[] = hostNames.map((host) => {
    const mine = ssh.filter((x) => x.host === host);
    const theirCalls = calls.filter((c) => c.host === host);
    const byPurpose: Partial<Record<Purpose, number>> = {};
    for (const x of mine) byPurpose[purposeOf(x.what)] = (byPurpose[purposeOf(x.what)] ?? 0) + 1;
    return {
      host,
      roundTrips: mine.length,
      byPurpose,
      sshSeconds: coveredSeconds(mine),
      spanSeconds: theirCalls.length ? s(Math.max(...theirCalls.map((c) => c.end)) - Math.min(...theirCalls.map((c) => c.start))) : 0,
    };
  });
  const byPurpose: Partial<Record<Purpose, number>> = {};
  for (const x of ssh) byPurpose[purposeOf(x.what)] = (byPurpose[purposeOf(x.what)] ?? 0) + 1;

  // Round trips per resource, by the kind of call they ran in.
  const resources = new Map<string, CallLabel>();
  for (const c of calls) resources.set(key(c), { kind: c.kind, id: c.id, host: c.host });
  const perResource: Record<string, number> = {};
  for (const kind of new Set([...resources.values()].map((r) => r.kind))) {
    const count = [...resources.values()].filter((r) => r.kind === kind).length;
    perResource[kind] = ssh.filter((x) => x.call?.kind === kind).length / count;
  }

  // Dependency waits: each resource against the work calls of what it depends on, on its host.
  const workOf = new Map<string, { start: number; end: number }>();
  const firstOf = new Map<string, number>();
  const preEndOf = new Map<string, number>();
  for (const c of calls) {
    const k = key(c);
    firstOf.set(k, Math.min(firstOf.get(k) ?? Infinity, c.start));
    if (WORK.has(c.method)) workOf.set(k, { start: c.start, end: c.end });
    else preEndOf.set(k, Math.max(preEndOf.get(k) ?? -Infinity, c.end));
  }
  const deleting = calls.some((c) => c.method === "delete");
  // Reads (refresh) wait on nothing: the engine refreshes every resource at once.
  const ordered = calls.some((c) => c.method === "create" || c.method === "update" || c.method === "delete");
  const toRegistration: number[] = [];
  const toWork: number[] = [];
  for (const [k, r] of resources) {
    const work = workOf.get(k);
    if (!work) continue;
    const pre = preEndOf.get(k);
    if (pre !== undefined && pre <= work.start) toWork.push(work.start - pre);
    const deps = [...resources.entries()].filter(([, d]) => d.host === r.host && (deleting ? waitsFor(d.kind).includes(r.kind) : waitsFor(r.kind).includes(d.kind)));
    const ends = deps.map(([dk]) => workOf.get(dk)?.end).filter((x): x is number => x !== undefined);
    if (ordered && ends.length) toRegistration.push(firstOf.get(k)! - Math.max(...ends));
  }
  const perHost = hosts.map((h) => h.roundTrips);
  const kindsByHost = new Map<string, Set<string>>();
  for (const r of resources.values()) kindsByHost.set(r.host, (kindsByHost.get(r.host) ?? new Set()).add(r.kind));
  const programCpu = cpuOf("program");
  const providerCpu = cpuOf("provider");
  const loaded = providers.length ? Math.min(...providers.map((p) => p.loadedMs - p.startedMs)) : null;
  return {
    wallSeconds: s(run.endMs - run.startMs),
    phases: {
      cliStart: s(cliStart),
      program: program && hasCalls ? s(firstCall - program.startedMs) : null,
      providerLoad: loaded === null ? null : s(loaded),
      work: hasCalls ? s(lastCall - firstCall) : 0,
      wrapUp: s(run.endMs - (hasCalls ? lastCall : run.startMs + cliStart)),
    },
    cpu: { total: s(run.cpuMs), provider: s(providerCpu), program: s(programCpu), other: s(Math.max(0, run.cpuMs - providerCpu - programCpu)) },
    calls: Object.fromEntries([...new Set(calls.map((c) => c.method))].map((m) => [m, calls.filter((c) => c.method === m).length])),
    roundTrips: {
      total: ssh.length,
      byPurpose,
      perHostMax: Math.max(0, ...perHost),
      perHostMedian: perHost.length ? median(perHost) : 0,
      perResource,
      medianMs: ssh.length ? median(ssh.map((x) => x.end - x.start)) : 0,
    },
    hosts,
    waits: {
      dependencyToRegistrationMs: mean(toRegistration),
      registrationToWorkMs: mean(toWork),
      hostQueueMs: mean(waits.map((w) => w.end - w.start)),
      levels: Math.max(0, ...[...kindsByHost.values()].map(levelsOf)),
    },
  };
}

/** Parses a trace file's lines (a torn last line is skipped). */
export function parseTrace(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as TraceEvent);
    } catch {
      // A line cut by a killed process: the rest of the trace still counts.
    }
  }
  return events;
}
