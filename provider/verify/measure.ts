/**
 * Proof that MPTCP carries traffic on every path, measured between two hosts over their SSH
 * transports: single-path TCP against MPTCP throughput (iperf3 through mptcpize), the MP_JOIN
 * counters on both ends, each path's subflows seen on both ends, and a timeline of the bytes
 * each of the client's links sent; optionally a failover, where a path fails mid-transfer and
 * comes back. Used by `npm run verify`, the bench and the MptcpVerification resource.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { shellCommand, shellQuote } from "../transport/quote";
import type { SshTransport } from "../transport/ssh";
import { analyzeFailover, type FailoverResult, type FailoverWindows, type FailureKind } from "./failover";
import type { Injector } from "./inject";
import { median, parseAddresses, parseIperfMbps, parseMptcpCounters, parseSubflows, type Subflow } from "./parse";
import { parseTimeline, sentBytes, samplerScript, type Timeline } from "./timeline";
import { judge, type Joins, type PathResult, type PathSpec } from "./verdict";

/** One pair's result. */
export interface PairResult {
  server: string;
  client: string;
  target: string;
  tcpMbps: number;
  mptcpMbps: number;
  ratio: number;
  joins: Joins;
  /** Bytes the client sent on each link during the MPTCP runs. */
  linkBytes: Record<string, number>;
  paths: PathResult[];
  /** Every transfer's samples: the TCP and MPTCP runs, then each failover. */
  timelines: Timeline[];
  failover: FailoverResult[];
  ok: boolean;
  problems: string[];
}

/** One side of a measured pair. */
export interface MeasuredHost {
  name: string;
  transport: SshTransport;
}

/** A failover to measure after the throughput runs. */
export interface FailoverSpec {
  /** The client link whose path fails. */
  path: string;
  kinds: readonly FailureKind[];
  windows: FailoverWindows;
  injector: Injector;
}

/** What to measure between a server and a client. */
export interface PairSpec {
  server: MeasuredHost;
  client: MeasuredHost;
  /** The client's links, each a path with its role. */
  paths: readonly PathSpec[];
  /** The server address the client connects to (its first path). */
  target: string;
  seconds: number;
  runs: number;
  port?: number;
  failover?: FailoverSpec | undefined;
  log?: (message: string) => void;
}

async function sh(t: SshTransport, args: string[], what = args.join(" "), timeoutMs?: number): Promise<string> {
  return (await t.run(`${shellCommand(args)}\n`, what, timeoutMs)).stdout;
}

/** The context one pair's transfers share. */
interface Run {
  spec: PairSpec;
  port: string;
  devs: string[];
  addresses: Record<string, string[]>;
  stopFile: string;
}

/** Runs `transfer` while the client samples its links; returns the transfer's value and the timeline. */
async function sampled<T>(run: Run, label: string, maxSeconds: number, transfer: () => Promise<T>): Promise<{ value: T; timeline: Timeline }> {
  const c = run.spec.client.transport;
  const sampler = c.run(samplerScript(run.devs, Number(run.port), run.stopFile, maxSeconds + 15), `sample links (${label})`, (maxSeconds + 30) * 1000);
  // Settled here so that a failing transfer never leaves the sampler's rejection unhandled.
  const settled = sampler.then(
    (r) => ({ output: r.stdout }),
    (error: unknown) => ({ error }),
  );
  // The sampler removes a stale stop file first; give it that moment before traffic starts.
  await sleep(150);
  let value: T;
  try {
    value = await transfer();
  } finally {
    await c.run(`touch ${shellQuote(run.stopFile)}\n`, "stop the sampler").catch(() => undefined);
    await settled;
  }
  const outcome = await settled;
  if ("error" in outcome) throw outcome.error;
  const timeline = parseTimeline(outcome.output, run.devs, run.addresses, label);
  return { value, timeline };
}

function iperf(run: Run, seconds: number, mptcp: boolean): Promise<number> {
  const args = ["iperf3", "-c", run.spec.target, "-p", run.port, "-t", String(seconds), "-J"];
  return sh(run.spec.client.transport, mptcp ? ["mptcpize", "run", ...args] : args, mptcp ? "iperf3 (MPTCP via mptcpize)" : "iperf3 (TCP)", (seconds + 60) * 1000).then(parseIperfMbps);
}

async function subflowsOnBothEnds(run: Run): Promise<{ client: Subflow[]; server: Subflow[] }> {
  const [client, server] = await Promise.all([
    sh(run.spec.client.transport, ["ss", "-tniH", "state", "established", `( dport = :${run.port} )`], "list subflows"),
    sh(run.spec.server.transport, ["ss", "-tniH", "state", "established", `( sport = :${run.port} )`], "list subflows"),
  ]);
  return { client: parseSubflows(client), server: parseSubflows(server) };
}

async function measureFailover(run: Run, failover: FailoverSpec, kind: FailureKind): Promise<FailoverResult> {
  const { before, during, after } = failover.windows;
  const total = before + during + after;
  const failed = run.spec.paths.find((p) => p.dev === failover.path)!;
  const log = run.spec.log ?? (() => undefined);
  let failedEpoch = 0;
  let restoredEpoch = 0;
  const { timeline, value: transferError } = await sampled(run, `failover: ${kind} on ${failover.path}`, total, async () => {
    const transfer = iperf(run, total, true).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    try {
      await sleep(before * 1000);
      log(`${run.spec.client.name}: failing ${failover.path} (${failover.injector.describe(kind)})`);
      await failover.injector.fail(kind);
      failedEpoch = Date.now();
      await sleep(during * 1000);
    } finally {
      await failover.injector.restore(kind);
      restoredEpoch = Date.now();
      log(`${run.spec.client.name}: ${failover.path} restored`);
    }
    return transfer;
  });
  const at = (epoch: number) => (epoch - timeline.startEpochMs) / 1000;
  timeline.events.push({ t: at(failedEpoch), label: `${kind === "carrier" ? "carrier lost" : "packets dropped"} on ${failover.path}` }, { t: at(restoredEpoch), label: `${failover.path} restored` });
  const result = analyzeFailover(kind, failed, run.spec.paths, timeline, at(failedEpoch), at(restoredEpoch));
  if (transferError) result.problems.push(`${kind} on ${failover.path}: the transfer failed: ${transferError}`);
  result.ok = result.problems.length === 0;
  return result;
}

/** Measures one pair; throws when a prerequisite is missing on either host. */
export async function measurePair(spec: PairSpec): Promise<PairResult> {
  const { server, client, target } = spec;
  const s = server.transport;
  const c = client.transport;
  const log = spec.log ?? (() => undefined);
  const port = String(spec.port ?? 5201);
  const pidFile = `/tmp/mptcp-pulumi-verify-${server.name}.pid`;
  const devs = spec.paths.map((p) => p.dev);
  for (const [t, h] of [[s, server], [c, client]] as const) {
    const missing = (await t.run("for p in iperf3 mptcpize ss; do command -v $p >/dev/null || echo $p; done\n", "check prerequisites")).stdout.trim();
    if (missing) throw new Error(`${h.name}: missing ${missing.split("\n").join(", ")} (apt-get install iperf3 mptcpize iproute2)`);
  }
  const addresses = parseAddresses(await sh(c, ["ip", "-o", "addr", "show"], "list addresses"));
  for (const d of devs) if (!addresses[d]) throw new Error(`${client.name}: link ${d} has no address (ip -o addr show)`);
  const run: Run = { spec, port, devs, addresses, stopFile: `/tmp/mptcp-pulumi-sampler-${client.name}.stop` };
  await s.run(`[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}\nmptcpize run iperf3 -s -D -p ${port} -I ${pidFile}\nsleep 0.3\n`, "start iperf3 server (mptcpize)");
  const tcp: number[] = [];
  const mptcp: number[] = [];
  const timelines: Timeline[] = [];
  const bytes: Record<string, number> = Object.fromEntries(devs.map((d) => [d, 0]));
  let snapshot: { client: Subflow[]; server: Subflow[] } = { client: [], server: [] };
  const failover: FailoverResult[] = [];
  const counters = async (t: SshTransport) => parseMptcpCounters(await sh(t, ["cat", "/proc/net/netstat"]));
  const c0 = await counters(c);
  const s0 = await counters(s);
  let c1 = c0;
  let s1 = s0;
  try {
    for (let i = 1; i <= spec.runs; i++) {
      const what = `${client.name} -> ${server.name} (${target}): run ${i}/${spec.runs}`;
      log(`${what}: TCP ${spec.seconds}s...`);
      const t = await sampled(run, `TCP, run ${i}`, spec.seconds, () => iperf(run, spec.seconds, false));
      tcp.push(t.value);
      timelines.push(t.timeline);
      log(`${what}: MPTCP ${spec.seconds}s...`);
      const m = await sampled(run, `MPTCP, run ${i}`, spec.seconds, async () => {
        const transfer = iperf(run, spec.seconds, true);
        // Which subflows exist, and which are backups, on both ends, in the middle of the transfer.
        const seen = sleep((spec.seconds * 1000) / 2).then(() => subflowsOnBothEnds(run));
        const [mbps, subflows] = await Promise.all([transfer, seen]);
        if (i === 1) snapshot = subflows;
        return mbps;
      });
      mptcp.push(m.value);
      timelines.push(m.timeline);
      const sent = sentBytes(m.timeline);
      for (const d of devs) bytes[d]! += sent[d] ?? 0;
    }
    c1 = await counters(c);
    s1 = await counters(s);
    for (const kind of spec.failover?.kinds ?? []) {
      log(`${client.name} -> ${server.name}: failover (${kind} on ${spec.failover!.path})...`);
      const result = await measureFailover(run, spec.failover!, kind);
      failover.push(result);
      timelines.push(result.timeline);
    }
  } finally {
    await s.run(`[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}; exit 0\n`, "stop iperf3 server");
  }
  const delta = (a: Record<string, number>, b: Record<string, number>, k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  const joins = {
    clientSynAckRx: delta(c0, c1, "MPJoinSynAckRx"),
    serverSynRx: delta(s0, s1, "MPJoinSynRx"),
    serverAckRx: delta(s0, s1, "MPJoinAckRx"),
    mpCapable: delta(s0, s1, "MPCapableSYNRX"),
  };
  const verdict = judge({ paths: spec.paths, bytes, clientSubflows: snapshot.client, serverSubflows: snapshot.server, clientAddresses: addresses, joins });
  const problems = [...verdict.problems, ...failover.flatMap((f) => f.problems)];
  const tcpMbps = median(tcp);
  const mptcpMbps = median(mptcp);
  return { server: server.name, client: client.name, target, tcpMbps, mptcpMbps, ratio: mptcpMbps / tcpMbps, joins, linkBytes: bytes, paths: verdict.paths, timelines, failover, ok: problems.length === 0, problems };
}
