/**
 * Long fat paths on the VM tier (netem inside the guests: this machine's kernel has none),
 * side by side in one run, medians of the runs:
 *
 * - the reference setup's three steps on two 50 Mbit/s paths of 200 ms one way: single-path
 *   TCP, MPTCP with the kernel's own buffers, MPTCP with the lab stack's 32 MiB tuning (each
 *   run applies both through the stack with `pulumi up`, in turn);
 * - a short and a long path (5 ms and 200 ms one way), the kernel's buffers: MPTCP against the
 *   best single path, with the default scheduler and under each remedy the verification
 *   measures (the long path as backup, every scheduler the kernel offers, the advised buffers).
 *
 * Why these numbers: the VM tier's emulated CPUs fill about 50 Mbit/s per link. At 200 ms one
 * way a path's bandwidth-delay product is 50 Mbit/s x 400 ms = 2.5 MB, two paths 5 MB. The
 * 512 MiB guests' default tcp_rmem maximum (3.4 MiB) gives 1.8 MB (6.1) to 2.4 MB (6.12) of
 * window: less than one path needs, so the buffers and not the links set the limit; the lab
 * stack's 32 MiB gives 16 MB, three times what two paths need.
 */
import type { SshTransport } from "../provider/transport/ssh";
import { groupConfigSchema, pairUp } from "../provider/components/config";
import { peerAddresses, verificationPaths } from "../provider/components/paths";
import { measurePair, median, type PairResult } from "../provider/verify";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";
import { keyPaths, labHosts, stackHosts } from "../test/lab/topology";
import { transport } from "./dataplane";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** The long fat pair's one-way delay per link (ms), and the short/long pair's. */
export const LONG_FAT_DELAYS = [200, 200];
export const SHORT_LONG_DELAYS = [5, 200];
/** Seconds of each transfer left out while windows open (slow start over 400 ms round trips), and measured. */
export const WARMUP = 6;
export const SECONDS = 10;

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

/** Runs both scenarios on a VM pair of `release`; leaves the VM tier down. */
export async function longPathScenarios(runs: number, release: string, log: (s: string) => void): Promise<LongPathsReport> {
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
    measurePair({ server: { name: server.name, transport: t.s }, client: { name: client.name, transport: t.c }, paths, target, seconds: SECONDS, warmup: WARMUP, eachPath: true, remedies, runs: 1, log });
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
    `Schedulers the kernel offers: ${r.schedulers.join(", ") || "none (no net.mptcp.scheduler before 6.6)"}; each other than the one in use is a row above.`,
    `The verification (median run): ${sl.problems.join("; ") || "no problem"}. ${sl.verdict}.`,
  );
  return lines;
}
