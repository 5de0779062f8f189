/**
 * The data-plane scenarios of the benchmark, side by side in one run on the lab: two links, three
 * links, two asymmetric links (against the sum of each link's own single-path rate), a backup
 * path, and a primary path failing under a backup (carrier loss and silent drop: the stall, also
 * with net.mptcp.stale_loss_cnt at 1 and 16 around its default of 4).
 * Each scenario rebuilds the lab with its links and rates, applies the stack with the provider
 * (`pulumi up`), then measures with the verification's own code over SSH. Medians of the runs.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connectionSchema, toSshTarget, usesSudo } from "../provider/connection";
import { SshTransport } from "../provider/transport/ssh";
import { measurePair, median, netnsInjector, parseIperfMbps, type FailoverResult, type PairResult } from "../provider/verify";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";
import { groupConfigSchema, pairUp, type HostConfig } from "../provider/components/config";
import { verificationPaths } from "../provider/components/paths";
import { keyPaths, labHosts, stackHosts } from "../test/lab/topology";

/** The kernel settings that govern how fast a failed subflow is given up on. */
export const STALL_SYSCTLS = ["net.mptcp.stale_loss_cnt", "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.mptcp.scheduler", "net.mptcp.enabled"];

/** One scenario's figures. */
export interface ScenarioResult {
  name: string;
  links: string;
  /** Single-path TCP on each link (Mbit/s, medians). */
  tcpMbps: Record<string, number>;
  mptcpMbps: number;
  /** MPTCP against the first link's TCP, and against the sum of every active link's TCP. */
  ratioToFirst: number;
  ratioToSum: number;
  /** Share of the MPTCP bytes per link (%), medians. */
  sharePercent: Record<string, number>;
  ok: boolean;
  problems: string[];
  target?: string;
  /** Failover figures, medians of the runs, per kind. */
  failover?: Array<{ kind: string; stallSeconds: number; stalls: number[]; beforeMbps: number; duringMbps: number; afterMbps: number; tookOver: string; recovered: string; backAfterSeconds: Array<number | null> }>;
}

/** The data-plane report. */
export interface DataPlaneReport {
  runs: number;
  seconds: number;
  sysctls: Record<string, string>;
  scenarios: ScenarioResult[];
}

interface Scenario {
  name: string;
  links: number;
  rates: number[];
  backup?: string;
  failover?: boolean;
  /** Extra sysctls on both hosts, through the stack. */
  sysctls?: Record<string, string>;
  /** What it must reach, checked in the report: ratio to the first link's TCP or to the sum. */
  target?: { ratioToFirst?: number; ratioToSum?: number };
}

/** The failover scenario's windows: a long `after`, since a dropped path returns on TCP's backed-off timer. */
const FAILOVER_WINDOWS = { before: 3, during: 4, after: 8 };

const SCENARIOS: Scenario[] = [
  { name: "2 links", links: 2, rates: [200, 200], target: { ratioToFirst: 1.9 } },
  { name: "3 links", links: 3, rates: [200, 200, 200], target: { ratioToFirst: 2.8 } },
  { name: "asymmetric links", links: 2, rates: [200, 50], target: { ratioToSum: 0.85 } },
  { name: "backup path", links: 2, rates: [200, 200], backup: "eno2" },
  { name: "failover under a backup", links: 2, rates: [200, 200], backup: "eno2", failover: true },
  // The stall against the setting that decides when a subflow is stale (default 4).
  { name: "failover, stale_loss_cnt 1", links: 2, rates: [200, 200], backup: "eno2", failover: true, sysctls: { "net.mptcp.stale_loss_cnt": "1" } },
  { name: "failover, stale_loss_cnt 16", links: 2, rates: [200, 200], backup: "eno2", failover: true, sysctls: { "net.mptcp.stale_loss_cnt": "16" } },
];

function lab(log: (s: string) => void, ...args: string[]): void {
  const r = spawnSync("bash", [join(REPO_ROOT, "test/lab/lab.sh"), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`lab ${args.join(" ")}: ${r.stderr}`);
  log(`lab ${args.join(" ")}`);
}

/** An SSH transport to a stack host, its key paths resolved from the repository. */
export function transport(host: HostConfig): SshTransport {
  return new SshTransport(toSshTarget(connectionSchema.parse(host.connection), undefined, REPO_ROOT));
}

async function tcpOn(server: SshTransport, client: SshTransport, target: string, seconds: number): Promise<number> {
  const pid = "/tmp/mptcp-pulumi-bench-iperf.pid";
  await server.run(`[ -f ${pid} ] && kill $(cat ${pid}) 2>/dev/null; iperf3 -s -D -p 5202 -I ${pid}\nsleep 0.3\n`, "start iperf3 (TCP)");
  try {
    return parseIperfMbps((await client.run(`iperf3 -c ${target} -p 5202 -t ${seconds} -J\n`, `iperf3 to ${target}`, (seconds + 60) * 1000)).stdout);
  } finally {
    await server.run(`[ -f ${pid} ] && kill $(cat ${pid}) 2>/dev/null; rm -f ${pid}; exit 0\n`, "stop iperf3");
  }
}

async function runScenario(sc: Scenario, runs: number, seconds: number, log: (s: string) => void, sysctls: Record<string, string>): Promise<ScenarioResult> {
  lab(log, "down");
  lab(log, "up", "--links", String(sc.links), "--rates", sc.rates.join(","));
  const raw = stackHosts(labHosts(), keyPaths()) as Array<{ role: string; endpoints: Array<{ dev: string; flags: string[] }>; sysctls: Record<string, unknown> }>;
  for (const h of raw) Object.assign(h.sysctls, sc.sysctls ?? {});
  if (sc.backup) for (const e of raw.find((h) => h.role === "client")!.endpoints) if (e.dev === sc.backup) e.flags.push("backup");
  const project = new TempProject("benchdp", { "mptcp-pulumi:hosts": raw });
  const hosts = groupConfigSchema.parse({ hosts: raw }).hosts;
  const [{ server, client, target }] = pairUp(hosts) as [ReturnType<typeof pairUp>[number]];
  const s = transport(server);
  const c = transport(client);
  try {
    log(`${sc.name}: pulumi up`);
    project.ok("up", "--yes", "--skip-preview");
    if (Object.keys(sysctls).length === 0 && !sc.sysctls) {
      const out = (await c.run(`sysctl ${STALL_SYSCTLS.join(" ")} 2>&1\n`, "read sysctls")).stdout;
      for (const line of out.trim().split("\n")) {
        const [k, v] = line.split(" = ");
        if (k && v !== undefined) sysctls[k] = v;
      }
    }
    const paths = verificationPaths(server, client);
    const tcp: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p.dev, []]));
    const results: PairResult[] = [];
    for (let run = 1; run <= runs; run++) {
      log(`${sc.name}: run ${run}/${runs}`);
      // Single-path TCP on every link beyond the first (measurePair does the first).
      for (const p of paths.slice(1)) {
        const peer = server.interfaces.find((i) => i.name === p.peerDev)!.addresses[0]!.split("/")[0]!;
        tcp[p.dev]!.push(await tcpOn(s, c, peer, seconds));
      }
      const r = await measurePair({
        server: { name: server.name, transport: s, sudo: usesSudo(connectionSchema.parse(server.connection)) },
        client: { name: client.name, transport: c, sudo: usesSudo(connectionSchema.parse(client.connection)) },
        paths,
        target,
        seconds,
        runs: 1,
        failover: sc.failover ? { path: paths[0]!.dev, kinds: ["carrier", "drop"], windows: FAILOVER_WINDOWS, injector: netnsInjector(server.name, paths[0]!.peerDev!) } : undefined,
        log,
      });
      tcp[paths[0]!.dev]!.push(r.tcpMbps);
      results.push(r);
    }
    const tcpMbps = Object.fromEntries(Object.entries(tcp).map(([d, v]) => [d, median(v)]));
    const mptcpMbps = median(results.map((r) => r.mptcpMbps));
    const activeSum = paths.filter((p) => p.role === "active").reduce((n, p) => n + tcpMbps[p.dev]!, 0);
    const problems = [...new Set(results.flatMap((r) => r.problems))];
    const result: ScenarioResult = {
      name: sc.name,
      links: paths.map((p, i) => `${p.dev} ${sc.rates[i]}${p.role === "backup" ? " (backup)" : ""}`).join(", "),
      tcpMbps,
      mptcpMbps,
      ratioToFirst: mptcpMbps / tcpMbps[paths[0]!.dev]!,
      ratioToSum: mptcpMbps / activeSum,
      sharePercent: Object.fromEntries(paths.map((p) => [p.dev, median(results.map((r) => r.paths.find((x) => x.dev === p.dev)!.share * 100))])),
      ok: problems.length === 0,
      problems,
    };
    if (sc.target?.ratioToFirst) result.target = `>= ${sc.target.ratioToFirst}x the first link's TCP`;
    if (sc.target?.ratioToSum) result.target = `>= ${sc.target.ratioToSum} of the sum of the links' TCP`;
    if (sc.failover) {
      const byKind = (kind: string) => results.map((r) => r.failover.find((f) => f.kind === kind)).filter((f): f is FailoverResult => f !== undefined);
      result.failover = ["carrier", "drop"].map((kind) => {
        const f = byKind(kind);
        return {
          kind,
          stallSeconds: median(f.map((x) => x.stallSeconds)),
          stalls: f.map((x) => x.stallSeconds),
          beforeMbps: median(f.map((x) => x.beforeMbps)),
          duringMbps: median(f.map((x) => x.duringMbps)),
          afterMbps: median(f.map((x) => x.afterMbps)),
          tookOver: [...new Set(f.flatMap((x) => x.tookOver))].join(", "),
          recovered: `${f.filter((x) => x.recovered).length}/${f.length}`,
          backAfterSeconds: f.map((x) => x.recoveredAfterSeconds),
        };
      });
    }
    return result;
  } finally {
    await Promise.all([s.close(), c.close()]);
    project.remove();
  }
}

/** Runs every data-plane scenario; `log` shows progress. */
export async function dataPlaneScenarios(runs: number, seconds: number, log: (s: string) => void): Promise<DataPlaneReport> {
  const sysctls: Record<string, string> = {};
  const scenarios: ScenarioResult[] = [];
  for (const sc of SCENARIOS) scenarios.push(await runScenario(sc, runs, seconds, log, sysctls));
  lab(log, "down");
  return { runs, seconds, sysctls, scenarios };
}

/** The data-plane section of the markdown report. */
export function dataPlaneMarkdown(d: DataPlaneReport): string[] {
  const f = (n: number) => n.toFixed(1);
  const lines = [
    `Data plane (iperf3 through mptcpize, ${d.seconds} s per transfer, medians of ${d.runs} runs, measured side by side in one run):`,
    "",
    "| scenario | links (Mbit/s) | single-path TCP per link | MPTCP | MPTCP / first link | MPTCP / sum of active links | share per link | target | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const s of d.scenarios) {
    lines.push(
      `| ${s.name} | ${s.links} | ${Object.entries(s.tcpMbps).map(([k, v]) => `${k} ${f(v)}`).join(", ")} | ${f(s.mptcpMbps)} | ${s.ratioToFirst.toFixed(2)}x | ${s.ratioToSum.toFixed(2)} | ${Object.entries(s.sharePercent).map(([k, v]) => `${k} ${f(v)}%`).join(", ")} | ${s.target ?? ""} | ${s.ok ? "OK" : `FAIL: ${s.problems.join("; ")}`} |`,
    );
  }
  const fo = d.scenarios.filter((s) => s.failover);
  if (fo.length) {
    const w = FAILOVER_WINDOWS;
    lines.push("", `Failover of the primary path (eno1) with eno2 as backup, ${w.before} s before, ${w.during} s failed, ${w.after} s after:`, "", "| scenario | failure | stall s (median) | stalls per run (s) | Mbit/s before / during / after | took over | failed path back | back after (s, per run) |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const s of fo) {
      for (const x of s.failover!) {
        const back = x.backAfterSeconds.map((v) => (v === null ? "never" : v.toFixed(2))).join(", ");
        lines.push(`| ${s.name} | ${x.kind === "carrier" ? "carrier loss" : "silent drop"} | ${x.stallSeconds.toFixed(2)} | ${x.stalls.map((v) => v.toFixed(2)).join(", ")} | ${f(x.beforeMbps)} / ${f(x.duringMbps)} / ${f(x.afterMbps)} | ${x.tookOver} | ${x.recovered} | ${back} |`);
      }
    }
  }
  lines.push("", `Kernel settings on the client that govern the stall: ${Object.entries(d.sysctls).map(([k, v]) => `\`${k} = ${v}\``).join(", ")}.`);
  return lines;
}
