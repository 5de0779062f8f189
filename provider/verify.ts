/**
 * Proof that MPTCP carries traffic on both paths, measured between two hosts over their SSH
 * transports: single-path TCP against MPTCP throughput (iperf3 through mptcpize), the MP_JOIN
 * counters on both ends, and the bytes each of the client's links carried. Used by
 * `npm run verify` and by the MptcpVerification resource.
 */
import { shellCommand } from "./transport/quote";
import type { SshTransport } from "./transport/ssh";

/** MPTcpExt counters from /proc/net/netstat. */
export function parseMptcpCounters(netstat: string): Record<string, number> {
  const lines = netstat.split("\n").filter((l) => l.startsWith("MPTcpExt:"));
  if (lines.length < 2) return {};
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

/** Receiver-side throughput in Mbit/s from `iperf3 -J` output. */
export function parseIperfMbps(json: string): number {
  const report = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error("iperf3 printed no receiver summary");
  return bps / 1e6;
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One pair's result. */
export interface PairResult {
  server: string;
  client: string;
  target: string;
  tcpMbps: number;
  mptcpMbps: number;
  ratio: number;
  joins: { clientSynAckRx: number; serverSynRx: number; serverAckRx: number; mpCapable: number };
  linkBytes: Record<string, number>;
  ok: boolean;
  problems: string[];
}

/** One side of a measured pair. */
export interface MeasuredHost {
  name: string;
  transport: SshTransport;
}

/** What to measure between a server and a client. */
export interface PairSpec {
  server: MeasuredHost;
  client: MeasuredHost & { devs: string[] };
  /** The server address the client connects to (its first path). */
  target: string;
  seconds: number;
  runs: number;
  port?: number;
  log?: (message: string) => void;
}

async function sh(t: SshTransport, args: string[], what = args.join(" ")): Promise<string> {
  return (await t.run(`${shellCommand(args)}\n`, what)).stdout;
}

async function linkBytes(t: SshTransport, devs: string[]): Promise<Record<string, number>> {
  const script = devs.map((d) => `echo ${shellCommand([d])} $(cat ${shellCommand([`/sys/class/net/${d}/statistics/tx_bytes`])}) $(cat ${shellCommand([`/sys/class/net/${d}/statistics/rx_bytes`])})`).join("\n");
  const out = (await t.run(`${script}\n`, "read link counters")).stdout;
  const bytes: Record<string, number> = {};
  for (const line of out.trim().split("\n")) {
    const [dev, tx, rx] = line.split(" ");
    if (dev) bytes[dev] = Number(tx) + Number(rx);
  }
  return bytes;
}

/** Measures one pair; throws when a prerequisite is missing on either host. */
export async function measurePair(spec: PairSpec): Promise<PairResult> {
  const { server, client, target } = spec;
  const s = server.transport;
  const c = client.transport;
  const log = spec.log ?? (() => undefined);
  const options = { seconds: spec.seconds, runs: spec.runs };
  const problems: string[] = [];
  const port = String(spec.port ?? 5201);
  const pidFile = `/tmp/mptcp-pulumi-verify-${server.name}.pid`;
  for (const [t, h] of [[s, server], [c, client]] as const) {
    const missing = (await t.run("for p in iperf3 mptcpize; do command -v $p >/dev/null || echo $p; done\n", "check prerequisites")).stdout.trim();
    if (missing) throw new Error(`${h.name}: missing ${missing.split("\n").join(", ")} (apt-get install iperf3 mptcpize)`);
  }
  await s.run(`[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}\nmptcpize run iperf3 -s -D -p ${port} -I ${pidFile}\nsleep 0.3\n`, "start iperf3 server (mptcpize)");
  const devs = client.devs;
  const tcp: number[] = [];
  const mptcp: number[] = [];
  const bytes: Record<string, number> = Object.fromEntries(devs.map((d) => [d, 0]));
  const counters = async (t: SshTransport) => parseMptcpCounters(await sh(t, ["cat", "/proc/net/netstat"]));
  const c0 = await counters(c);
  const s0 = await counters(s);
  try {
    for (let run = 1; run <= options.runs; run++) {
      log(`${client.name} -> ${server.name} (${target}): run ${run}/${options.runs}: TCP ${options.seconds}s...`);
      tcp.push(parseIperfMbps(await sh(c, ["iperf3", "-c", target, "-p", port, "-t", String(options.seconds), "-J"], "iperf3 (TCP)")));
      log(`${client.name} -> ${server.name} (${target}): run ${run}/${options.runs}: MPTCP ${options.seconds}s...`);
      const b0 = await linkBytes(c, devs);
      mptcp.push(parseIperfMbps(await sh(c, ["mptcpize", "run", "iperf3", "-c", target, "-p", port, "-t", String(options.seconds), "-J"], "iperf3 (MPTCP via mptcpize)")));
      const b1 = await linkBytes(c, devs);
      for (const d of devs) bytes[d]! += (b1[d] ?? 0) - (b0[d] ?? 0);
    }
  } finally {
    await s.run(`[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}; exit 0\n`, "stop iperf3 server");
  }
  const c1 = await counters(c);
  const s1 = await counters(s);
  const delta = (a: Record<string, number>, b: Record<string, number>, k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  const joins = {
    clientSynAckRx: delta(c0, c1, "MPJoinSynAckRx"),
    serverSynRx: delta(s0, s1, "MPJoinSynRx"),
    serverAckRx: delta(s0, s1, "MPJoinAckRx"),
    mpCapable: delta(s0, s1, "MPCapableSYNRX"),
  };
  if (joins.mpCapable === 0) problems.push("no MPTCP connection reached the server (MPCapableSYNRX did not move): MPTCP fell back to TCP");
  if (joins.serverAckRx === 0) problems.push("no second path joined (MPJoinAckRx did not move on the server)");
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  for (const [dev, n] of Object.entries(bytes)) {
    if (total > 0 && n < total * 0.05) problems.push(`link ${dev} carried only ${(n / 1e6).toFixed(1)} MB of ${(total / 1e6).toFixed(1)} MB`);
  }
  const tcpMbps = median(tcp);
  const mptcpMbps = median(mptcp);
  return { server: server.name, client: client.name, target, tcpMbps, mptcpMbps, ratio: mptcpMbps / tcpMbps, joins, linkBytes: bytes, ok: problems.length === 0, problems };
}

/** Formats results as a table. */
export function formatTable(results: readonly PairResult[]): string {
  const rows = [["pair", "TCP Mbit/s", "MPTCP Mbit/s", "ratio", "joins (client synack / server syn,ack)", "bytes per client link (MB)", "result"]];
  for (const r of results) {
    rows.push([
      `${r.client} -> ${r.server}`,
      r.tcpMbps.toFixed(1),
      r.mptcpMbps.toFixed(1),
      `${r.ratio.toFixed(2)}x`,
      `${r.joins.clientSynAckRx} / ${r.joins.serverSynRx},${r.joins.serverAckRx}`,
      Object.entries(r.linkBytes).map(([d, n]) => `${d} ${(n / 1e6).toFixed(1)}`).join(", "),
      r.ok ? "OK: both paths" : `FAIL: ${r.problems.join("; ")}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`).join("\n");
}

