/**
 * What helps when MPTCP underperforms, measured: MPTCP again with the other paths as `backup`,
 * with each scheduler the kernel offers, and with the advised socket buffers. Each remedy is
 * applied on the hosts, measured, and undone, whatever happens in between.
 */
import { shellCommand } from "../transport/quote";
import type { SshTransport } from "../transport/ssh";
import { median } from "./parse";
import type { PathSpec } from "./verdict";
import type { BufferAdvice, HostBuffers } from "./window";

/** A change that may make MPTCP do better on these paths. */
export type Remedy = { kind: "backup"; paths: string[] } | { kind: "scheduler"; name: string } | { kind: "buffers"; sysctls: Record<string, string> };

/** MPTCP's throughput under one remedy. */
export interface RemedyResult {
  remedy: Remedy;
  /** e.g. "eno2 as backup", "scheduler redundant", "the advised buffers". */
  label: string;
  mptcpMbps: number;
}

/** What measureRemedies needs. */
export interface RemedySpec {
  server: { name: string; transport: SshTransport };
  client: { name: string; transport: SshTransport };
  paths: readonly PathSpec[];
  addresses: Record<string, string[]>;
  /** The path that did best alone; the others become backups. */
  bestDev: string | undefined;
  advice: BufferAdvice | undefined;
  buffers: { server: HostBuffers; client: HostBuffers };
  runs: number;
  /** One MPTCP transfer as the measurement makes it, in Mbit/s. */
  mptcp: () => Promise<number>;
  log: (message: string) => void;
}

/** The remedies worth measuring for these paths and hosts (pure). */
export function remediesFor(paths: readonly PathSpec[], bestDev: string | undefined, client: HostBuffers, advice: BufferAdvice | undefined): Remedy[] {
  const out: Remedy[] = [];
  const active = paths.filter((p) => p.role === "active").map((p) => p.dev);
  const best = bestDev ?? active[0];
  const others = active.filter((d) => d !== best);
  if (others.length) out.push({ kind: "backup", paths: others });
  for (const name of client.availableSchedulers) if (name !== client.scheduler) out.push({ kind: "scheduler", name });
  if (advice) out.push({ kind: "buffers", sysctls: advice.sysctls });
  return out;
}

/** A remedy in words. */
export function remedyLabel(r: Remedy): string {
  if (r.kind === "backup") return `${r.paths.join(", ")} as backup`;
  if (r.kind === "scheduler") return `scheduler ${r.name}`;
  return `the advised buffers (${Object.entries(r.sysctls).map(([k, v]) => `${k.replace("net.ipv4.", "")} max ${v.split(" ")[2]}`).join(", ")})`;
}

interface Endpoint {
  id: number;
  address: string;
  dev?: string;
  flags?: string[];
}

/** Applies a remedy; returns how to undo it. Throws (naming host and command) when it cannot. */
async function apply(spec: RemedySpec, r: Remedy): Promise<() => Promise<unknown>> {
  const c = spec.client.transport;
  const s = spec.server.transport;
  const run = (t: SshTransport, args: string[]) => t.run(`${shellCommand(args)}\n`, args.join(" "));
  if (r.kind === "backup") {
    // The client's own endpoints on those paths: their backup flag reaches the server (MP_PRIO
    // or the MP_JOIN's B bit), and each new connection opens those subflows as backups.
    const endpoints = JSON.parse((await run(c, ["ip", "-j", "mptcp", "endpoint", "show"])).stdout || "[]") as Endpoint[];
    const mine = endpoints.filter((e) => r.paths.some((dev) => e.dev === dev || spec.addresses[dev]?.includes(e.address)));
    const missing = r.paths.filter((dev) => !mine.some((e) => e.dev === dev || spec.addresses[dev]?.includes(e.address)));
    if (missing.length) throw new Error(`${spec.client.name}: no MPTCP endpoint on ${missing.join(", ")} to flag as backup (declare one, e.g. a subflow endpoint)`);
    const flip = mine.filter((e) => !(e.flags ?? []).includes("backup"));
    for (const e of flip) await run(c, ["ip", "mptcp", "endpoint", "change", "id", String(e.id), "backup"]);
    return async () => {
      for (const e of flip) await run(c, ["ip", "mptcp", "endpoint", "change", "id", String(e.id), "nobackup"]);
    };
  }
  if (r.kind === "scheduler") {
    // The sender picks the subflow for each packet: the client's scheduler is the one that counts.
    const before = spec.buffers.client.scheduler ?? "default";
    await run(c, ["sysctl", "-q", "-w", `net.mptcp.scheduler=${r.name}`]);
    return () => run(c, ["sysctl", "-q", "-w", `net.mptcp.scheduler=${before}`]);
  }
  // Both hosts, as the advice says: either may send.
  const undo: Array<() => Promise<unknown>> = [];
  for (const [t, b] of [[s, spec.buffers.server], [c, spec.buffers.client]] as const) {
    const previous = { "net.ipv4.tcp_rmem": b.tcpRmem.join(" "), "net.ipv4.tcp_wmem": b.tcpWmem.join(" ") };
    await run(t, ["sysctl", "-q", "-w", ...Object.entries(r.sysctls).map(([k, v]) => `${k}=${v}`)]);
    undo.push(() => run(t, ["sysctl", "-q", "-w", ...Object.entries(previous).map(([k, v]) => `${k}=${v}`)]));
  }
  return async () => {
    for (const u of undo) await u();
  };
}

/** Measures MPTCP under each remedy (medians of `runs`), best first; remedies that cannot apply are logged and skipped. */
export async function measureRemedies(spec: RemedySpec): Promise<RemedyResult[]> {
  const results: RemedyResult[] = [];
  for (const remedy of remediesFor(spec.paths, spec.bestDev, spec.buffers.client, spec.advice)) {
    const label = remedyLabel(remedy);
    let undo: (() => Promise<unknown>) | undefined;
    try {
      undo = await apply(spec, remedy);
    } catch (error) {
      spec.log(`remedy ${label}: not measured: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    try {
      const runs: number[] = [];
      for (let i = 1; i <= spec.runs; i++) {
        spec.log(`${spec.client.name} -> ${spec.server.name}: MPTCP with ${label}, run ${i}/${spec.runs}...`);
        runs.push(await spec.mptcp());
      }
      results.push({ remedy, label, mptcpMbps: median(runs) });
    } finally {
      await undo();
    }
  }
  return results.sort((a, b) => b.mptcpMbps - a.mptcpMbps);
}
