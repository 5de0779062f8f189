/**
 * Proof that MPTCP carries traffic on every path, measured between two hosts over their SSH
 * transports: single-path TCP against MPTCP throughput (iperf3 through mptcpize), the MP_JOIN
 * counters on both ends, each path's subflows seen on both ends, and a timeline of the bytes
 * each of the client's links sent; optionally a failover, where a path fails mid-transfer and
 * comes back. Used by `npm run verify`, the bench and the MptcpVerification resource.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { HostError } from "../errors";
import { shellCommand } from "../transport/quote";
import type { SshTransport } from "../transport/ssh";
import { analyzeFailover, type FailoverResult, type FailoverWindows, type FailureKind } from "./failover";
import type { Injector } from "./inject";
import { median, parseAddresses, parseIperfMbps, parseMptcpCounters, parseSubflows, type Subflow } from "./parse";
import { measureRemedies, type RemedyResult } from "./remedies";
import { parseMptcpInfo, parseTcpInfo, type MptcpSocketInfo, type TcpSocketInfo } from "./tcpinfo";
import { verifyProgram } from "./hostCalls";
import { parseTimeline, SAMPLE_INTERVAL_SECONDS, sentBytes, type Timeline } from "./timeline";
import { judge, type Joins, type PathResult, type PathSpec } from "./verdict";
import { adviseBuffers, analyzeWindow, BUFFER_SYSCTLS, medians, parseHostBuffers, pathRates, slowerThanBestPath, SLOWER_MARGIN, type BufferAdvice, type HostBuffers, type WindowAnalysis } from "./window";

/** One pair's result. */
export interface PairResult {
  server: string;
  client: string;
  target: string;
  tcpMbps: number;
  mptcpMbps: number;
  ratio: number;
  /** Single-path TCP per path (medians): the first path always, every path with `eachPath`. */
  tcpByPath: Record<string, number>;
  joins: Joins;
  /** Bytes the client sent on each link during the MPTCP runs. */
  linkBytes: Record<string, number>;
  paths: PathResult[];
  /** Every transfer's samples: the TCP and MPTCP runs, then each failover. */
  timelines: Timeline[];
  failover: FailoverResult[];
  /** Both hosts' kernels and socket buffer limits. */
  buffers: { server: HostBuffers; client: HostBuffers };
  /** Round trips, bandwidth-delay products and the window verdict of the MPTCP transfers. */
  window: WindowAnalysis;
  /** The buffer sizes that would remove a window limit (absent when there is none). */
  advice?: BufferAdvice;
  /** MPTCP under each remedy, when asked for (`remedies`), best first. */
  remedies?: RemedyResult[];
  ok: boolean;
  problems: string[];
}

/** One side of a measured pair. */
export interface MeasuredHost {
  name: string;
  transport: SshTransport;
  /** Whether the login reaches root through sudo (the verification's folder is made by root). */
  sudo: boolean;
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
  /** Seconds of each transfer left out of its figure while windows and rates settle (iperf3 -O). */
  warmup?: number;
  /** Measure single-path TCP on every path (each path's `peerAddress`), not just the first. */
  eachPath?: boolean;
  /** Also measure MPTCP under each remedy (the other paths as backup, each scheduler, the advised buffers). */
  remedies?: boolean;
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
  /** Names the samplers' files in the client login's own folder (with a count per measurement). */
  sampler: string;
  /** Samplers started so far. */
  samplers: number;
  warmup: number;
}

/** Runs `transfer` while the client samples its links; returns the transfer's value and the timeline. */
async function sampled<T>(run: Run, label: string, maxSeconds: number, transfer: () => Promise<T>): Promise<{ value: T; timeline: Timeline }> {
  const { transport: c, sudo } = run.spec.client;
  const name = `${run.sampler}-${++run.samplers}`;
  const sampler = c.run(verifyProgram(sudo, "sampler", [name, run.port, Math.ceil(maxSeconds + 15), SAMPLE_INTERVAL_SECONDS, ...run.devs]), `sample links (${label})`, (maxSeconds + 30) * 1000);
  // Settled here so that a failing transfer never leaves the sampler's rejection unhandled.
  const settled = sampler.then(
    (r) => ({ output: r.stdout }),
    (error: unknown) => ({ error }),
  );
  let value: T;
  try {
    // Traffic starts once the sampler samples (a busy host may take a second to start it).
    await c.run(verifyProgram(sudo, "sampler_ready", [name, 20]), "wait for the sampler");
    value = await transfer();
  } finally {
    await c.run(verifyProgram(sudo, "sampler_stop", [name]), "stop the sampler").catch(() => undefined);
    await settled;
  }
  const outcome = await settled;
  if ("error" in outcome) throw outcome.error;
  const timeline = parseTimeline(outcome.output, run.devs, run.addresses, label);
  return { value, timeline };
}

function iperf(run: Run, seconds: number, mptcp: boolean, target = run.spec.target, warmup = run.warmup): Promise<number> {
  const args = ["iperf3", "-c", target, "-p", run.port, "-t", String(seconds), ...(warmup ? ["-O", String(warmup)] : []), "-J"];
  return sh(run.spec.client.transport, mptcp ? ["mptcpize", "run", ...args] : args, mptcp ? "iperf3 (MPTCP via mptcpize)" : `iperf3 (TCP to ${target})`, (warmup + seconds + 60) * 1000).then(parseIperfMbps, (error: unknown) => {
    throw iperfFailure(error);
  });
}

/** iperf3 -J says why it failed on stdout, not stderr: put its reason into the host's error. */
function iperfFailure(error: unknown): unknown {
  if (!(error instanceof HostError) || !error.stdout.trim()) return error;
  try {
    parseIperfMbps(error.stdout);
  } catch (reason) {
    return new Error(`${error.message}: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: error });
  }
  return error;
}

/** What both ends' kernels say about the transfer's sockets at one moment. */
interface Snapshot {
  client: Subflow[];
  server: Subflow[];
  clientInfo: TcpSocketInfo[];
  clientMptcp: MptcpSocketInfo[];
  serverInfo: TcpSocketInfo[];
}

async function snapshot(run: Run): Promise<Snapshot> {
  const [client, server] = await Promise.all([
    // -M: the MPTCP connections too (what is outstanding at the data level); an ss without it
    // still lists the subflows.
    run.spec.client.transport
      .run(`${shellCommand(["ss", "-tMniH", "state", "established", `( dport = :${run.port} )`])} 2>/dev/null || ${shellCommand(["ss", "-tniH", "state", "established", `( dport = :${run.port} )`])}\n`, "list subflows")
      .then((r) => r.stdout),
    // -m: the receiver's buffer (rb), which the window comes out of.
    sh(run.spec.server.transport, ["ss", "-tnimH", "state", "established", `( sport = :${run.port} )`], "list subflows"),
  ]);
  return { client: parseSubflows(client), server: parseSubflows(server), clientInfo: parseTcpInfo(client), clientMptcp: parseMptcpInfo(client), serverInfo: parseTcpInfo(server) };
}

/** When, within a transfer of `seconds` after `warmup`, to read the kernels: the middle first (roles), then later. */
const SNAPSHOT_AT = [0.5, 0.7, 0.85];

async function measureFailover(run: Run, failover: FailoverSpec, kind: FailureKind): Promise<FailoverResult> {
  const { before, during, after } = failover.windows;
  const total = before + during + after;
  const failed = run.spec.paths.find((p) => p.dev === failover.path)!;
  const log = run.spec.log ?? (() => undefined);
  let failedEpoch = 0;
  let restoredEpoch = 0;
  const { timeline, value: transferError } = await sampled(run, `failover: ${kind} on ${failover.path}`, total, async () => {
    // No warm-up: the failure's timing is counted from the transfer's start.
    const transfer = iperf(run, total, true, run.spec.target, 0).then(
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
  const devs = spec.paths.map((p) => p.dev);
  for (const [t, h] of [[s, server], [c, client]] as const) {
    const missing = (await t.run("for p in iperf3 mptcpize ss; do command -v $p >/dev/null || echo $p; done\n", "check prerequisites")).stdout.trim();
    if (missing) throw new Error(`${h.name}: missing ${missing.split("\n").join(", ")} (apt-get install iperf3 mptcpize iproute2)`);
  }
  const addresses = parseAddresses(await sh(c, ["ip", "-o", "addr", "show"], "list addresses"));
  for (const d of devs) if (!addresses[d]) throw new Error(`${client.name}: link ${d} has no address (ip -o addr show)`);
  const warmup = spec.warmup ?? 0;
  const run: Run = { spec, port, devs, addresses, sampler: client.name, samplers: 0, warmup };
  const readBuffers = async (h: MeasuredHost) => parseHostBuffers((await h.transport.run(verifyProgram(h.sudo, "buffers", BUFFER_SYSCTLS), "read socket buffer sysctls")).stdout);
  const buffers = { server: await readBuffers(server), client: await readBuffers(client) };
  const others = spec.eachPath ? spec.paths.slice(1) : [];
  for (const p of others) if (!p.peerAddress) throw new Error(`${client.name}: path ${p.dev} has no server address to measure single-path TCP to`);
  await s.run(verifyProgram(server.sudo, "iperf_server_start", [port, server.name]), "start iperf3 server (mptcpize)");
  const tcp: number[] = [];
  const tcpRuns: Array<Record<string, number>> = [];
  const mptcp: number[] = [];
  // The kernels' readings of each MPTCP run's connection.
  const snapshots: Snapshot[][] = [];
  let remedies: RemedyResult[] | undefined;
  const timelines: Timeline[] = [];
  const bytes: Record<string, number> = Object.fromEntries(devs.map((d) => [d, 0]));
  let subflows: Snapshot = { client: [], server: [], clientInfo: [], clientMptcp: [], serverInfo: [] };
  const failover: FailoverResult[] = [];
  const counters = async (t: SshTransport) => parseMptcpCounters(await sh(t, ["cat", "/proc/net/netstat"]));
  const c0 = await counters(c);
  const s0 = await counters(s);
  let c1 = c0;
  let s1 = s0;
  try {
    for (let i = 1; i <= spec.runs; i++) {
      const what = `${client.name} -> ${server.name} (${target}): run ${i}/${spec.runs}`;
      log(`${what}: TCP ${spec.seconds}s${warmup ? ` after ${warmup}s of warm-up` : ""}...`);
      const t = await sampled(run, `TCP, run ${i}`, warmup + spec.seconds, () => iperf(run, spec.seconds, false));
      tcp.push(t.value);
      timelines.push(t.timeline);
      const byPath: Record<string, number> = { [devs[0]!]: t.value };
      for (const p of others) {
        log(`${what}: TCP on ${p.dev} (${p.peerAddress})...`);
        byPath[p.dev] = await iperf(run, spec.seconds, false, p.peerAddress);
      }
      tcpRuns.push(byPath);
      log(`${what}: MPTCP ${spec.seconds}s...`);
      const m = await sampled(run, `MPTCP, run ${i}`, warmup + spec.seconds, async () => {
        const transfer = iperf(run, spec.seconds, true);
        // The kernels' view of the subflows (roles, round trips, windows) at a few moments.
        const seen = (async () => {
          const taken: Snapshot[] = [];
          let elapsed = 0;
          for (const at of SNAPSHOT_AT) {
            const due = (warmup + spec.seconds * at) * 1000;
            await sleep(Math.max(0, due - elapsed));
            elapsed = due;
            taken.push(await snapshot(run));
          }
          return taken;
        })();
        const [mbps, taken] = await Promise.all([transfer, seen]);
        if (i === 1) subflows = taken[0]!;
        snapshots.push(taken);
        return mbps;
      });
      mptcp.push(m.value);
      timelines.push(m.timeline);
      const sent = sentBytes(m.timeline);
      for (const d of devs) bytes[d]! += sent[d] ?? 0;
    }
    c1 = await counters(c);
    s1 = await counters(s);
    if (spec.remedies) {
      remedies = await measureRemedies({
        server,
        client,
        paths: spec.paths,
        addresses,
        bestDev: bestPath(medians(tcpRuns)),
        advice: adviseFor(),
        buffers,
        runs: spec.runs,
        mptcp: () => iperf(run, spec.seconds, true),
        log,
      });
    }
    for (const kind of spec.failover?.kinds ?? []) {
      log(`${client.name} -> ${server.name}: failover (${kind} on ${spec.failover!.path})...`);
      const result = await measureFailover(run, spec.failover!, kind);
      failover.push(result);
      timelines.push(result.timeline);
    }
  } finally {
    // A failure here must not hide the measurement's own error.
    await s.run(verifyProgram(server.sudo, "iperf_server_stop", [server.name]), "stop iperf3 server").catch((error: unknown) => log(`${server.name}: ${error instanceof Error ? error.message : String(error)}`));
  }
  const delta = (a: Record<string, number>, b: Record<string, number>, k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  const joins = {
    clientSynAckRx: delta(c0, c1, "MPJoinSynAckRx"),
    serverSynRx: delta(s0, s1, "MPJoinSynRx"),
    serverAckRx: delta(s0, s1, "MPJoinAckRx"),
    mpCapable: delta(s0, s1, "MPCapableSYNRX"),
  };
  const verdict = judge({ paths: spec.paths, bytes, clientSubflows: subflows.client, serverSubflows: subflows.server, clientAddresses: addresses, joins });
  const tcpMbps = median(tcp);
  const mptcpMbps = median(mptcp);
  const tcpByPath = medians(tcpRuns);
  const window = windowOf();
  const advice = adviseBuffers(window, buffers.server, buffers.client);
  const problems = [...verdict.problems, ...failover.flatMap((f) => f.problems)];
  // A backup path is not meant to carry traffic: MPTCP answers to the best active path.
  const active = Object.fromEntries(Object.entries(tcpByPath).filter(([d]) => spec.paths.find((p) => p.dev === d)?.role !== "backup"));
  const slower = slowerThanBestPath(mptcpMbps, active);
  if (slower) problems.push(slowerProblem(mptcpMbps, slower, remedies));
  return {
    server: server.name,
    client: client.name,
    target,
    tcpMbps,
    mptcpMbps,
    ratio: mptcpMbps / tcpMbps,
    tcpByPath,
    joins,
    linkBytes: bytes,
    paths: verdict.paths,
    timelines,
    failover,
    buffers,
    window,
    ...(advice ? { advice } : {}),
    ...(remedies ? { remedies } : {}),
    ok: problems.length === 0,
    problems,
  };

  // The window of the run whose throughput is the median (the remedies need its advice mid-way).
  function windowOf(): WindowAnalysis {
    const total = Object.values(bytes).reduce((n, b) => n + b, 0);
    const shares = Object.fromEntries(devs.map((d) => [d, total ? bytes[d]! / total : 0]));
    const middle = snapshots[mptcp.indexOf([...mptcp].sort((a, b) => a - b)[Math.floor((mptcp.length - 1) / 2)]!)] ?? [];
    return analyzeWindow({
      paths: pathRates(devs, medians(tcpRuns), median(mptcp), shares),
      senderSnapshots: middle.map((x) => ({ tcp: x.clientInfo, mptcp: x.clientMptcp })),
      receiverSnapshots: middle.map((x) => x.serverInfo),
      addresses,
      receiver: { name: server.name, buffers: buffers.server },
      sender: { name: client.name, buffers: buffers.client },
      mptcp: true,
    });
  }
  function adviseFor(): BufferAdvice | undefined {
    return adviseBuffers(windowOf(), buffers.server, buffers.client);
  }
}

/** The path with the best single-path rate, when any was measured. */
function bestPath(tcpByPath: Record<string, number>): string | undefined {
  return Object.entries(tcpByPath).sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** "MPTCP is slower than the best single path (X vs Y Mbit/s on eno1)", with the best remedy measured. */
function slowerProblem(mptcpMbps: number, best: { dev: string; mbps: number }, remedies: RemedyResult[] | undefined): string {
  const head = `MPTCP is slower than the best single path (${mptcpMbps.toFixed(1)} vs ${best.mbps.toFixed(1)} Mbit/s on ${best.dev})`;
  const top = remedies?.[0];
  if (!remedies) return `${head}; npm run verify -- --remedies measures what helps`;
  if (!top) return `${head}; no remedy could be measured`;
  return `${head}; best remedy measured: ${top.label} (${top.mptcpMbps.toFixed(1)} Mbit/s${top.mptcpMbps < SLOWER_MARGIN * best.mbps ? `, still below ${best.dev} alone` : ""})`;
}

