/**
 * Long fat paths on the VM tier (netem inside the guests: this machine's kernel has none),
 * side by side in one run, medians of the runs:
 *
 * - the reference setup's three steps on two 50 Mbit/s paths of 150 ms one way: single-path
 *   TCP, MPTCP with the kernel's own buffers, MPTCP with the lab stack's 32 MiB tuning (each
 *   run applies both through the stack with `pulumi up`, in turn);
 * - a short and a long path (5 ms and 200 ms one way), the kernel's buffers: MPTCP against the
 *   best single path, with the default scheduler and under each remedy the verification
 *   measures (the long path as backup, every scheduler the kernel offers, the advised buffers).
 *
 * Why these numbers: the VM tier's emulated CPUs fill about 50 Mbit/s per link. At 150 ms one
 * way a path's bandwidth-delay product is 50 Mbit/s x 300 ms = 1.9 MB, two paths' 3.75 MB. The
 * 512 MiB guests' default tcp_rmem maximum (3.4 MiB) gives 1.8 MB of window (6.1; 1.7 to 2.4 MB
 * measured on 6.12): about one path's worth, so one path alone is (just) not held back, two are,
 * by the buffers and not the links; the lab stack's 32 MiB gives 16 MB, four times what two
 * paths need. (At 200 ms one way single-path TCP is window-limited too: 34.8 Mbit/s, MPTCP 23.9,
 * tuned 81.0 measured on 6.1 with 10 s transfers, 0.83 of the paths' sum: cubic regrows too
 * slowly at 400 ms round trips for a 10 s figure.) The short path's 5 ms against the long one's
 * 200 ms: a round-trip ratio of 40, where the long path's data holds the shared window.
 */
import { connectionSchema, usesSudo } from "../provider/connection";
import type { SshTransport } from "../provider/transport/ssh";
import { groupConfigSchema, pairUp } from "../provider/components/config";
import { peerAddresses, verificationPaths } from "../provider/components/paths";
import { measurePair, median, type PairResult } from "../provider/verify";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";
import { keyPaths, labDir, labHosts, stackHosts } from "../test/lab/topology";
import { transport } from "./dataplane";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/** The long fat pair's one-way delay per link (ms), and the short/long pair's. */
export const LONG_FAT_DELAYS = [150, 150];
export const SHORT_LONG_DELAYS = [5, 200];
/** Seconds of each transfer left out while windows open (slow start over 300-400 ms round trips), and measured. */
export const WARMUP = 6;
export const SECONDS = 15;

/** One measured configuration: single-path TCP per path, MPTCP, and the verification's verdicts, per run. */
export interface Measured {
  tcpMbps: Record<string, number>;
  mptcpMbps: number;
  runs: number[];
  windowLimited: boolean[];
  /** The window verdict and problems of the median run. */
  verdict: string;
  problems: string[];
  remedies: Record<string, number>;
  advice?: Record<string, string>;
}

/** The report of both scenarios. */
export interface LongPathsReport {
  release: string;
  kernel: string;
  /** net.mptcp.available_schedulers on the client (empty: the kernel has no choice). */
  schedulers: string[];
  buffers: { kernel: string; stack: string };
  runs: number;
  warmup: number;
  seconds: number;
  longFat: { delays: number[]; kernelBuffers: Measured; stackBuffers: Measured };
  shortLong: { delays: number[]; kernelBuffers: Measured };
}

function lab(log: (s: string) => void, ...args: string[]): void {
  const r = spawnSync("bash", [join(REPO_ROOT, "test/lab/lab.sh"), "--tier", "vm", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`lab --tier vm ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  log(`lab --tier vm ${args.join(" ")}`);
}

/** Medians of per-run results. */
export function summarize(results: readonly PairResult[]): Measured {
  const mptcp = results.map((r) => r.mptcpMbps);
  const mid = results[mptcp.indexOf([...mptcp].sort((a, b) => a - b)[Math.floor((mptcp.length - 1) / 2)]!)]!;
  const devs = Object.keys(results[0]?.tcpByPath ?? {});
  const labels = [...new Set(results.flatMap((r) => (r.remedies ?? []).map((x) => x.label)))];
  return {
    tcpMbps: Object.fromEntries(devs.map((d) => [d, median(results.map((r) => r.tcpByPath[d]!))])),
    mptcpMbps: median(mptcp),
    runs: mptcp,
    windowLimited: results.map((r) => r.window.windowLimited),
    verdict: mid.window.verdict,
    problems: mid.problems,
    remedies: Object.fromEntries(labels.map((l) => [l, median(results.map((r) => r.remedies?.find((x) => x.label === l)?.mptcpMbps).filter((v): v is number => v !== undefined))])),
    ...(mid.advice ? { advice: mid.advice.sysctls } : {}),
  };
}

/** Runs both scenarios on a VM pair of `release`; leaves the VM tier down (a failed run's consoles copied to `out`). */
export async function longPathScenarios(runs: number, release: string, out: string, log: (s: string) => void): Promise<LongPathsReport> {
  const up = (delays: number[]) => lab(log, "up", "--release", release, "--delays", delays.join(","));
  up(LONG_FAT_DELAYS);
  const config = (buffers: "stack" | "kernel") => ({ "mptcp-pulumi:hosts": stackHosts(labHosts("vm"), keyPaths("vm"), buffers) });
  const project = new TempProject("benchlp", config("kernel"));
  const hosts = groupConfigSchema.parse({ hosts: stackHosts(labHosts("vm"), keyPaths("vm")) }).hosts;
  const [{ server, client, target }] = pairUp(hosts) as [ReturnType<typeof pairUp>[number]];
  const s = transport(server);
  const c = transport(client);
  const peers = peerAddresses(server, client);
  const paths = verificationPaths(server, client).map((p) => ({ ...p, peerAddress: peers[p.dev] }));
  const measure = (t: { s: SshTransport; c: SshTransport }, remedies: boolean) =>
    measurePair({ server: { name: server.name, transport: t.s, sudo: usesSudo(connectionSchema.parse(server.connection)) }, client: { name: client.name, transport: t.c, sudo: usesSudo(connectionSchema.parse(client.connection)) }, paths, target, seconds: SECONDS, warmup: WARMUP, eachPath: true, remedies, runs: 1, log });
  const apply = (buffers: "stack" | "kernel") => {
    project.configure(config(buffers));
    log(`pulumi up (${buffers === "stack" ? "the stack's buffers" : "the kernel's buffers"})`);
    project.ok("up", "--yes", "--skip-preview");
  };
  try {
    const kernelRuns: PairResult[] = [];
    const stackRuns: PairResult[] = [];
    // Interleaved, so both buffer settings meet the same machine load.
    for (let run = 1; run <= runs; run++) {
      log(`long fat pair, run ${run}/${runs}`);
      apply("kernel");
      kernelRuns.push(await measure({ s, c }, false));
      apply("stack");
      stackRuns.push(await measure({ s, c }, false));
    }
    up(SHORT_LONG_DELAYS);
    apply("kernel");
    const shortLong: PairResult[] = [];
    for (let run = 1; run <= runs; run++) {
      log(`short and long path, run ${run}/${runs}`);
      shortLong.push(await measure({ s, c }, true));
    }
    project.ok("destroy", "--yes", "--skip-preview");
    const b = kernelRuns[0]!.buffers;
    return {
      release,
      kernel: b.server.kernel,
      schedulers: b.client.availableSchedulers,
      buffers: { kernel: b.server.tcpRmem.join(" "), stack: stackRuns[0]!.buffers.server.tcpRmem.join(" ") },
      runs,
      warmup: WARMUP,
      seconds: SECONDS,
      longFat: { delays: LONG_FAT_DELAYS, kernelBuffers: summarize(kernelRuns), stackBuffers: summarize(stackRuns) },
      shortLong: { delays: SHORT_LONG_DELAYS, kernelBuffers: summarize(shortLong) },
    };
  } catch (error) {
    // A guest that stopped answering may have panicked: keep what its console said.
    for (const name of [server.name, client.name]) {
      const consoleLog = join(labDir("vm"), name, "console.log");
      if (existsSync(consoleLog)) copyFileSync(consoleLog, join(out, `longpaths-${release}-${name}-console.log`));
    }
    log(`failed; the guests' consoles are in ${out}`);
    throw error;
  } finally {
    await Promise.all([s.close(), c.close()]);
    project.remove();
    lab(log, "down");
  }
}

const f = (n: number | undefined) => (n === undefined ? "?" : n.toFixed(1));
const mib = (triple: string) => `${(Number(triple.split(" ")[2]) / 2 ** 20).toFixed(1)} MiB`;
const limited = (m: Measured) => `${m.windowLimited.filter(Boolean).length}/${m.windowLimited.length} runs window-limited`;

/** The markdown of both scenarios. */
export function longPathsMarkdown(r: LongPathsReport): string[] {
  const k = r.longFat.kernelBuffers;
  const st = r.longFat.stackBuffers;
  const sum = (st.tcpMbps["eno1"] ?? 0) + (st.tcpMbps["eno2"] ?? 0);
  const lines = [
    `Long fat paths on the VM tier: Debian ${r.release} guests (kernel ${r.kernel}), two links at 50 Mbit/s, iperf3 through mptcpize, ${r.warmup} s of warm-up then ${r.seconds} s measured per transfer, medians of ${r.runs} runs measured side by side in one run.`,
    "",
    `The three steps, ${r.longFat.delays.join(" / ")} ms one way per link (round trip ${2 * r.longFat.delays[0]!} ms):`,
    "",
    "| step | buffers (tcp_rmem / tcp_wmem max) | single-path TCP eno1 | single-path TCP eno2 | MPTCP eno1 + eno2 (runs) | the verification says |",
    "| --- | --- | --- | --- | --- | --- |",
    `| 1. TCP on one path, 2. MPTCP | the kernel's own, ${mib(r.buffers.kernel)} | ${f(k.tcpMbps["eno1"])} | ${f(k.tcpMbps["eno2"])} | ${f(k.mptcpMbps)} (${k.runs.map(f).join(", ")}) | ${limited(k)}: ${k.verdict} |`,
    `| 3. MPTCP, tuned | the lab stack's, ${mib(r.buffers.stack)} | ${f(st.tcpMbps["eno1"])} | ${f(st.tcpMbps["eno2"])} | ${f(st.mptcpMbps)} (${st.runs.map(f).join(", ")}) | ${limited(st)}: ${st.verdict} |`,
    "",
    `Tuned MPTCP against the sum of the paths' own tuned single-path rates: ${(st.mptcpMbps / sum).toFixed(2)} (target: at least 0.85). MPTCP with the kernel's buffers against single-path TCP on eno1 with the same buffers: ${(k.mptcpMbps / (k.tcpMbps["eno1"] ?? 1)).toFixed(2)}x.`,
  ];
  const sl = r.shortLong.kernelBuffers;
  const best = Math.max(...Object.values(sl.tcpMbps));
  const row = (what: string, mbps: number | undefined) => `| ${what} | ${f(mbps)} | ${mbps === undefined ? "" : `${(mbps / best).toFixed(2)}x`} |`;
  lines.push(
    "",
    `A short and a long path, ${r.shortLong.delays.join(" / ")} ms one way (eno1 / eno2), the kernel's own buffers:`,
    "",
    "| configuration | Mbit/s | against the best single path |",
    "| --- | --- | --- |",
    row(`single-path TCP on eno1 (${r.shortLong.delays[0]} ms)`, sl.tcpMbps["eno1"]),
    row(`single-path TCP on eno2 (${r.shortLong.delays[1]} ms)`, sl.tcpMbps["eno2"]),
    row("MPTCP, default scheduler", sl.mptcpMbps),
    ...Object.entries(sl.remedies).map(([label, mbps]) => row(`MPTCP, ${label}`, mbps)),
    "",
    `Schedulers the kernel offers: ${r.schedulers.join(", ") || "none (this kernel has no net.mptcp.scheduler)"}; each other than the one in use is a row above.`,
    `The verification (median run): ${sl.problems.join("; ") || "no problem"}. ${sl.verdict}.`,
  );
  return lines;
}
