/**
 * An operation's trace for the benchmark's profile (bench/profile.ts): when MPTCP_PULUMI_TRACE
 * names a file, the program and the provider append one JSON line per event to it (a process's
 * start and CPU, each provider call, each SSH round trip with the call it ran for). Unset, the
 * tracer does nothing. Appends of one short line each, so processes can share the file.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync } from "node:fs";

/** The environment variable naming the trace file. */
export const TRACE_ENV = "MPTCP_PULUMI_TRACE";

/** Which resource a piece of work is for: its kind, its identity on the host and the host. */
export interface CallLabel {
  kind: string;
  id: string;
  host: string;
}

/** One line of a trace; times are epoch milliseconds (fractional). */
export type TraceEvent =
  | { ev: "process"; role: "program" | "provider"; pid: number; startedMs: number; loadedMs: number }
  | { ev: "exit" | "cpu"; role: "program" | "provider"; pid: number; atMs: number; cpuUserMs: number; cpuSystemMs: number }
  | ({ ev: "call"; pid: number; method: string; start: number; end: number; ok: boolean } & CallLabel)
  | { ev: "ssh"; pid: number; host: string; what: string; call: CallLabel | undefined; start: number; end: number; ok: boolean; bytes: number }
  | { ev: "wait"; pid: number; host: string; call: CallLabel | undefined; start: number; end: number };

/** What the provider and program report to: a file, or nothing. */
export interface Tracer {
  readonly on: boolean;
  /** Appends an event (the pid is added here). */
  emit(event: DistributiveOmit<TraceEvent, "pid">): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The tracer that records nothing. */
export const noTracer: Tracer = { on: false, emit: () => undefined };

/** A clock in epoch milliseconds with sub-millisecond resolution (Date.now() has whole ms only). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A tracer appending to `file`; a failed write is dropped (a trace must never fail an operation). */
export function fileTracer(file: string): Tracer {
  return {
    on: true,
    emit(event) {
      try {
        appendFileSync(file, `${JSON.stringify({ ...event, pid: process.pid })}\n`);
      } catch {
        // The profile loses a line; the operation goes on.
      }
    },
  };
}

/** The tracer the environment asks for. */
export function tracerFromEnv(env: NodeJS.ProcessEnv = process.env): Tracer {
  const file = env[TRACE_ENV];
  return file ? fileTracer(file) : noTracer;
}

/** The CPU this process used so far, as a trace event. */
function cpuEvent(ev: "exit" | "cpu", role: "program" | "provider") {
  const cpu = process.cpuUsage();
  return { ev, role, atMs: nowMs(), cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000 } as const;
}

/** The role `traceProcess` recorded for this process, for the CPU samples `traced` takes. */
let processRole: "program" | "provider" | undefined;

/**
 * Records this process: when it started and when this was called (its code loaded), and at its
 * exit the CPU it used. The engine may end a provider by a signal, without an exit: each traced
 * call records the CPU so far too.
 */
export function traceProcess(tracer: Tracer, role: "program" | "provider"): void {
  if (!tracer.on) return;
  processRole = role;
  const loadedMs = nowMs();
  tracer.emit({ ev: "process", role, startedMs: loadedMs - process.uptime() * 1000, loadedMs });
  process.once("exit", () => tracer.emit(cpuEvent("exit", role)));
}

/** The resource the current asynchronous work is for (set by `traced`). */
const current = new AsyncLocalStorage<CallLabel>();

/** The label of the provider call the caller runs in, if any. */
export function currentCall(): CallLabel | undefined {
  return current.getStore();
}

/** Runs one provider call, recording its span under `label` (computed only when tracing). */
export async function traced<T>(tracer: Tracer, method: string, label: () => CallLabel, work: () => Promise<T>): Promise<T> {
  if (!tracer.on) return work();
  const which = label();
  const start = nowMs();
  let ok = false;
  try {
    const result = await current.run(which, work);
    ok = true;
    return result;
  } finally {
    tracer.emit({ ev: "call", method, ...which, start, end: nowMs(), ok });
    if (processRole) tracer.emit(cpuEvent("cpu", processRole));
  }
}

/** The provider methods whose calls a trace records. */
const METHODS = ["check", "diff", "create", "read", "update", "delete"] as const;

/**
 * `provider` with each CRUD call traced; `label` names the resource from the call's last
 * argument (every method's inputs or stored outputs come last). Unchanged when not tracing.
 */
export function tracedProvider<P extends object>(provider: P, tracer: Tracer, label: (props: unknown) => CallLabel): P {
  if (!tracer.on) return provider;
  const wrapped = { ...provider } as Record<string, unknown>;
  for (const method of METHODS) {
    const fn = (provider as Record<string, unknown>)[method];
    if (typeof fn !== "function") continue;
    wrapped[method] = (...args: unknown[]) => traced(tracer, method, () => label(args.at(-1)), () => Promise.resolve(fn.apply(provider, args)));
  }
  return wrapped as P;
}
