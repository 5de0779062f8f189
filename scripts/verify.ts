/**
 * Proof that MPTCP carries traffic on both paths: for each server/client pair of a stack,
 * single-path TCP against MPTCP throughput (iperf3, through mptcpize), the MP_JOIN counters on
 * both ends, and the bytes each data link carried. Exits non-zero when no second path joined.
 *
 * Usage: npm run verify -- [--stack lab] [--config-file F] [--seconds 5] [--runs 1] [--json]
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { connectionSchema, toSshTarget } from "../provider/connection";
import { SshTransport } from "../provider/transport/ssh";
import { shellCommand } from "../provider/transport/quote";
import { splitCidr } from "../provider/validation";
import { stackConfigSchema, resolvePaths, type HostConfig } from "../stacks/config";

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

interface Options {
  stack: string;
  configFile?: string;
  seconds: number;
  runs: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { stack: "lab", seconds: 5, runs: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i] ?? "";
    if (arg === "--stack") options.stack = next();
    else if (arg === "--config-file") options.configFile = resolve(next());
    else if (arg === "--seconds") options.seconds = Number(next());
    else if (arg === "--runs") options.runs = Number(next());
    else if (arg === "--json") options.json = true;
    else throw new Error(`verify: unknown argument ${arg}`);
  }
  if (!(options.seconds >= 1 && options.seconds <= 120)) throw new Error("verify: --seconds is 1..120");
  if (!(options.runs >= 1 && options.runs <= 20)) throw new Error("verify: --runs is 1..20");
  return options;
}

function stackConfig(options: Options): HostConfig[] {
  const root = resolve(__dirname, "../..");
  const args = ["scripts/pulumi.sh", "config", "get", "hosts", "--json", "--stack", options.stack];
  if (options.configFile) args.push("--config-file", options.configFile);
  const raw = execFileSync("bash", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return stackConfigSchema.parse({ hosts: (JSON.parse(raw) as { objectValue: unknown }).objectValue }).hosts;
}

function transportFor(host: HostConfig): SshTransport {
  const connection = connectionSchema.parse(resolvePaths(host.connection, resolve(__dirname, "../..")));
  return new SshTransport(toSshTarget(connection, process.env["MPTCP_PULUMI_PRIVATE_KEY"]));
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

/** Pairs each client with the server that shares the subnet of its first interface. */
function pairs(hosts: HostConfig[]): Array<{ server: HostConfig; client: HostConfig; target: string }> {
  const result: Array<{ server: HostConfig; client: HostConfig; target: string }> = [];
  for (const client of hosts.filter((h) => h.role === "client")) {
    const primary = client.interfaces[0]?.addresses[0];
    const net = primary ? splitCidr(primary) : undefined;
    for (const server of hosts.filter((h) => h.role === "server")) {
      const target = server.interfaces
        .flatMap((i) => i.addresses)
        .find((c) => net && splitCidr(c)?.prefix === net.prefix && sameSubnet(splitCidr(c)!.address, primary!));
      if (target) {
        result.push({ server, client, target: splitCidr(target)!.address });
        break;
      }
    }
  }
  return result;
}

function sameSubnet(address: string, cidr: string): boolean {
  const net = splitCidr(cidr)!;
  const toInt = (a: string) => a.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = net.prefix === 0 ? 0 : (~0 << (32 - net.prefix)) >>> 0;
  return (toInt(address) & mask) === (toInt(net.address) & mask);
}

async function verifyPair(server: HostConfig, client: HostConfig, target: string, options: Options, log: (s: string) => void): Promise<PairResult> {
  const s = transportFor(server);
  const c = transportFor(client);
  const problems: string[] = [];
  const port = "5201";
  const pidFile = `/tmp/mptcp-pulumi-verify-${server.name}.pid`;
  for (const [t, h] of [[s, server], [c, client]] as const) {
    const missing = (await t.run("for p in iperf3 mptcpize; do command -v $p >/dev/null || echo $p; done\n", "check prerequisites")).stdout.trim();
    if (missing) throw new Error(`${h.name}: missing ${missing.split("\n").join(", ")} (apt-get install iperf3 mptcpize)`);
  }
  await s.run(`[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}\nmptcpize run iperf3 -s -D -p ${port} -I ${pidFile}\nsleep 0.3\n`, "start iperf3 server (mptcpize)");
  const devs = client.interfaces.map((i) => i.name);
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
  await Promise.all([s.close(), c.close()]);
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

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const hosts = stackConfig(options);
  const found = pairs(hosts);
  if (found.length === 0) throw new Error("verify: no server/client pair sharing a subnet in the stack's hosts");
  const log = (s: string) => process.stderr.write(`verify: ${s}\n`);
  const results = await Promise.all(found.map(({ server, client, target }) => verifyPair(server, client, target, options, log)));
  process.stdout.write(options.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatTable(results)}\n`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
