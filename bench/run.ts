/**
 * Benchmark: what an operation costs at 2 and at 20 servers, and what MPTCP gains on the wire.
 *
 * For each lab size it runs, from clean servers, `pulumi up`, a no-change `pulumi preview`,
 * `pulumi refresh` and `pulumi destroy` (medians of --runs cycles), counts SSH connections per
 * host per operation from the servers' own sshd logs, and times a floor measured in the same
 * run: the same configuration applied by a plain script, one `ssh` and one `ip -batch` per
 * host, all hosts in parallel. Then the data plane (bench/dataplane.ts): two, three and
 * asymmetric links, a backup path, and failover stalls.
 *
 * `--only longpaths` runs instead the long fat paths on the VM tier (bench/longpaths.ts, about 15
 * minutes with the VM boot: not part of a full run). `--only ops` runs the operations and their
 * floor without the data plane. `--profile` also traces every operation (provider/trace.ts) and
 * reports where its time went (bench/profile.ts), with a timeline of one `up` per size
 * (`profile-up-<servers>.html`). `--ansible DIR` runs the Ansible peer (DIR/run.sh) for each
 * size in the same run. `--baseline DIR` runs the same operations with another checkout (built,
 * with its own node_modules), each run right after ours on a fresh lab: the before/after table.
 * With three sizes or more, each figure's cost per added server between the two largest is
 * reported beside the floor's. Every operation's CPU is reported twice: the command's tree, and
 * the lab servers' (bench/serversCpu.ts), which share this machine's cores.
 *
 * Usage: npm run bench -- [--pairs 1,10] [--runs 3] [--seconds 5] [--out bench/results] [--profile]
 *          [--ansible ../shared/peers/ansible] [--baseline DIR] [--only ops | --only dataplane | --only longpaths [--release bookworm|trixie]]
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median } from "../provider/verify";
import { TRACE_ENV } from "../provider/trace";
import { dataPlaneMarkdown, dataPlaneScenarios, type DataPlaneReport } from "./dataplane";
import { longPathScenarios, longPathsMarkdown } from "./longpaths";
import { parseTrace, profileOf, type CommandRun, type Profile } from "./profile";
import { beforeAfterMarkdown, cpuMarkdown, growthMarkdown, peerMarkdown, profileMarkdown, type PeerResult } from "./profileReport";
import { dropServersCpu, serversCpu, type ServersCpu } from "./serversCpu";
import { timelineHtml } from "./timeline";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";
import { keyPaths, labDir, labHosts, TOPOLOGY, type LabHost, stackHosts as labStackHosts } from "../test/lab/topology";

const ROOT = REPO_ROOT;
const LAB = join(ROOT, "test/lab/lab.sh");
const LAB_DIR = labDir("netns");

const OPS = ["up", "preview", "refresh", "destroy"] as const;
type Op = (typeof OPS)[number] | "floor";

/** One operation's measurements over the runs. */
export interface OpResult {
  seconds: number[];
  medianSeconds: number;
  /** SSH connections accepted per host during the operation: the worst host of each run. */
  maxConnectionsPerHost: number[];
  /** CPU seconds of the command and everything it waited for (CLI, program, provider, ssh), each run. */
  cpuSeconds?: number[];
  /** CPU seconds the lab servers spent for it (their sshd and all it ran), each run; absent without an accounting cgroup. */
  serversCpuSeconds?: number[];
  /** With --profile: the profile of the run whose time was the median. */
  profile?: Profile;
}

/** One lab size's results. */
export interface SizeResult {
  pairs: number;
  servers: number;
  ops: Record<Op, OpResult>;
  /** With --ansible: the peer's medians on the same lab size, in the same run. */
  ansible?: PeerResult;
  /** With --baseline: the same operations with another checkout, each run right after ours on a fresh lab. */
  baseline?: Record<(typeof OPS)[number], OpResult>;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function lab(...args: string[]): void {
  const r = spawnSync("bash", [LAB, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`lab ${args.join(" ")}: ${r.stderr}`);
}

function accepted(hosts: LabHost[]): Map<string, number> {
  return new Map(hosts.map((h) => [h.name, readFileSync(join(LAB_DIR, h.name, "sshd.log"), "utf8").split("\n").filter((l) => l.includes("Accepted publickey")).length]));
}

/** The lab stack's configuration generalized to every pair and link of the lab (test/lab/topology.ts). */
export function stackHosts(hosts: LabHost[]): unknown[] {
  return labStackHosts(hosts, keyPaths("netns"));
}

/** What the floor script runs on one host: the same state, one ip -batch. */
export function floorScript(host: ReturnType<typeof stackHosts>[number]): string {
  const h = host as { interfaces: Array<{ name: string; addresses: string[] }>; limits: { subflows: number; addAddrAccepted: number }; endpoints: Array<{ address: string; dev: string; flags: string[] }>; policyRoutes: Array<{ table: number; rules: Array<{ from: string; priority: number }>; routes: Array<{ dst: string; dev: string; scope: string }> }>; sysctls: Record<string, string> };
  const batch: string[] = [`mptcp limits set subflows ${h.limits.subflows} add_addr_accepted ${h.limits.addAddrAccepted}`];
  for (const i of h.interfaces) for (const a of i.addresses) batch.push(`address replace ${a} dev ${i.name}`, `link set dev ${i.name} up`);
  for (const p of h.policyRoutes) {
    for (const r of p.routes) batch.push(`route replace ${r.dst} dev ${r.dev} scope ${r.scope} table ${p.table}`);
    for (const r of p.rules) batch.push(`rule add priority ${r.priority} from ${r.from} table ${p.table}`);
  }
  for (const e of h.endpoints) batch.push(`mptcp endpoint add ${e.address} dev ${e.dev} ${e.flags.join(" ")}`);
  const sysctls = Object.entries(h.sysctls).map(([k, v]) => `sysctl -q -w '${k}=${v}'`);
  return ["sysctl -q -w net.mptcp.enabled=1", ...sysctls, "ip -batch - <<'EOF'", ...batch, "EOF", ""].join("\n");
}

function runFloor(hosts: LabHost[]): Promise<number> {
  const configs = stackHosts(hosts);
  const started = process.hrtime.bigint();
  return Promise.all(
    hosts.map(
      (h, i) =>
        new Promise<void>((done, fail) => {
          const child = spawn("ssh", ["-F", join(LAB_DIR, "ssh_config"), h.name, "sh -s"], { stdio: ["pipe", "ignore", "pipe"] });
          let err = "";
          child.stderr.on("data", (d: Buffer) => (err += d.toString()));
          child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`floor on ${h.name}: exit ${code}: ${err}`))));
          child.stdin.end(floorScript(configs[i]!));
        }),
    ),
  ).then(() => Number(process.hrtime.bigint() - started) / 1e9);
}

/** The benchmark's stack: every pair of the lab, no verification (its traffic would skew timings); `root` is the checkout that runs it. */
function benchProject(hosts: LabHost[], root?: string): TempProject {
  return new TempProject("bench", { "mptcp-pulumi:hosts": stackHosts(hosts) }, {}, undefined, root);
}

/** CPU milliseconds of this process's reaped children (and theirs), from /proc/self/stat. */
function childrenCpuMs(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
  // cutime and cstime are fields 16 and 17 of stat (13 and 14 after the command name), in clock ticks.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** One timed command: its seconds, and with a trace file its run and trace. */
interface Timed {
  seconds: number;
  run: CommandRun;
  traceFile: string | undefined;
}

/** Runs a pulumi command (traced into `traceFile` when given); throws with the output when it fails. */
function timed(project: TempProject, args: string[], traceFile?: string): Timed {
  if (traceFile) project.env[TRACE_ENV] = traceFile;
  else delete project.env[TRACE_ENV];
  const cpuBefore = childrenCpuMs();
  const startMs = performance.timeOrigin + performance.now();
  const r = project.pulumi(...args);
  const endMs = performance.timeOrigin + performance.now();
  if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return { seconds: r.seconds, run: { startMs, endMs, cpuMs: childrenCpuMs() - cpuBefore }, traceFile };
}

const OP_ARGS: Record<(typeof OPS)[number], string[]> = {
  up: ["up", "--yes", "--skip-preview"],
  preview: ["preview", "--expect-no-changes"],
  // Like up and destroy, without the preview pass: `refresh --yes` alone reads every host twice
  // (a preview in one provider process, then the refresh in another).
  refresh: ["refresh", "--yes", "--skip-preview"],
  destroy: ["destroy", "--yes", "--skip-preview"],
};

type Samples = { seconds: number[]; cpu: number[]; servers: number[]; conns: number[]; profiled: Array<{ timed: Timed; events: ReturnType<typeof parseTrace> }> };
const emptySamples = (): Samples => ({ seconds: [], cpu: [], servers: [], conns: [], profiled: [] });

/** The cgroup the lab servers' processes are counted in. */
const SERVERS_CGROUP = "mptcp-bench-servers";

/** The lab servers' CPU (bench/serversCpu.ts) of the lab just brought up. */
function labServersCpu(): ServersCpu | undefined {
  const prefix = TOPOLOGY.tiers.netns.netnsPrefix;
  return serversCpu(SERVERS_CGROUP, labHosts().map((h) => `${prefix}${h.name}`));
}

async function measureSize(pairs: number, runs: number, profile: { out: string } | undefined, baseline: string | undefined): Promise<SizeResult> {
  const samples = Object.fromEntries([...OPS, "floor"].map((op) => [op, emptySamples()])) as Record<Op, Samples>;
  const base = Object.fromEntries(OPS.map((op) => [op, emptySamples()])) as Record<(typeof OPS)[number], Samples>;
  const traces = profile ? mkdtempSync(join(tmpdir(), "mptcp-bench-trace-")) : undefined;
  const record = (op: Op, seconds: number, before: Map<string, number>, after: Map<string, number>, into: Samples = samples[op]) => {
    into.seconds.push(seconds);
    into.conns.push(Math.max(...[...after].map(([name, n]) => n - (before.get(name) ?? 0))));
  };
  for (let run = 1; run <= runs; run++) {
    log(`${pairs} pair(s), run ${run}/${runs}: fresh lab`);
    lab("down");
    lab("up", "--pairs", String(pairs));
    const hosts = labHosts();
    let before = accepted(hosts);
    const floorCpu = labServersCpu()?.start();
    const floor = await runFloor(hosts);
    record("floor", floor, before, accepted(hosts));
    if (floorCpu) samples.floor.servers.push(floorCpu());
    log(`${pairs} pair(s), run ${run}/${runs}: floor ${floor.toFixed(2)}s; fresh lab again for pulumi`);
    lab("down");
    lab("up", "--pairs", String(pairs));
    const servers = labServersCpu();
    const project = benchProject(labHosts());
    try {
      for (const op of OPS) {
        before = accepted(hosts);
        const opCpu = servers?.start();
        const t = timed(project, OP_ARGS[op], traces ? join(traces, `${op}-${run}.jsonl`) : undefined);
        record(op, t.seconds, before, accepted(hosts));
        samples[op].cpu.push(t.run.cpuMs / 1000);
        if (opCpu) samples[op].servers.push(opCpu());
        if (t.traceFile) samples[op].profiled.push({ timed: t, events: parseTrace(readFileSync(t.traceFile, "utf8")) });
        log(`${pairs} pair(s), run ${run}/${runs}: ${op} ${t.seconds.toFixed(2)}s`);
      }
    } finally {
      project.remove();
    }
    if (baseline) {
      log(`${pairs} pair(s), run ${run}/${runs}: fresh lab again for the baseline (${baseline})`);
      lab("down");
      lab("up", "--pairs", String(pairs));
      const old = benchProject(labHosts(), baseline);
      try {
        for (const op of OPS) {
          before = accepted(hosts);
          const t = timed(old, OP_ARGS[op]);
          record(op, t.seconds, before, accepted(hosts), base[op]);
          base[op].cpu.push(t.run.cpuMs / 1000);
          log(`${pairs} pair(s), run ${run}/${runs}: baseline ${op} ${t.seconds.toFixed(2)}s`);
        }
      } finally {
        old.remove();
      }
    }
  }
  if (traces) rmSync(traces, { recursive: true, force: true });
  const ops = Object.fromEntries(
    Object.entries(samples).map(([op, s]) => {
      const result: OpResult = {
        seconds: s.seconds,
        medianSeconds: median(s.seconds),
        maxConnectionsPerHost: s.conns,
        ...(s.cpu.length ? { cpuSeconds: s.cpu } : {}),
        ...(s.servers.length ? { serversCpuSeconds: s.servers } : {}),
      };
      // The run whose time is the median: its figures add up, which medians of each would not.
      const chosen = [...s.profiled].sort((a, b) => a.timed.seconds - b.timed.seconds)[Math.floor((s.profiled.length - 1) / 2)];
      if (chosen) {
        result.profile = profileOf(chosen.timed.run, chosen.events);
        if (op === "up" && profile) {
          const title = `pulumi up from clean servers, ${pairs * 2} servers (${chosen.timed.seconds.toFixed(2)} s, the median of ${runs} runs)`;
          writeFileSync(join(profile.out, `profile-up-${pairs * 2}.html`), timelineHtml(chosen.timed.run, chosen.events, result.profile, title));
        }
      }
      return [op, result];
    }),
  ) as Record<Op, OpResult>;
  const result: SizeResult = { pairs, servers: pairs * 2, ops };
  if (baseline) {
    result.baseline = Object.fromEntries(
      OPS.map((op) => [op, { seconds: base[op].seconds, medianSeconds: median(base[op].seconds), maxConnectionsPerHost: base[op].conns, cpuSeconds: base[op].cpu }]),
    ) as Record<(typeof OPS)[number], OpResult>;
  }
  return result;
}

/** The Ansible peer on this lab size (its own fresh labs), medians of `runs`: apply from clean and a no-op run. */
function ansiblePeer(dir: string, pairs: number, runs: number): PeerResult {
  const r = spawnSync("bash", [join(resolve(ROOT, dir), "run.sh"), String(pairs), String(runs)], { cwd: ROOT, encoding: "utf8", timeout: 3_600_000 });
  const [servers, apply, noop] = (r.stdout.trim().split("\n").at(-1) ?? "").split(/\s+/).map(Number);
  if (r.status !== 0 || !servers || apply === undefined || noop === undefined || Number.isNaN(apply) || Number.isNaN(noop)) {
    throw new Error(`ansible peer (${dir}/run.sh ${pairs} ${runs}) exited ${r.status}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  }
  return { servers, applySeconds: apply, noopSeconds: noop };
}

/** The markdown report. */
export function markdown(report: Report): string {
  const lines = [
    `Measured ${report.date} on ${report.machine.cpus} x ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, kernel ${report.machine.kernel}, Node ${report.machine.node}; medians of ${report.runs} runs.`,
  ];
  if (report.sizes.length) lines.push("", "| servers | operation | median s | runs (s) | SSH connections per host (worst host, each run) |", "| --- | --- | --- | --- | --- |");
  for (const size of report.sizes) {
    for (const op of [...OPS, "floor"] as Op[]) {
      const r = size.ops[op];
      const name = op === "floor" ? "floor: plain ssh + ip -batch per host, parallel" : op === "preview" ? "preview (no changes)" : op === "up" ? "up (from clean servers)" : op;
      lines.push(`| ${size.servers} | ${name} | ${r.medianSeconds.toFixed(2)} | ${r.seconds.map((s) => s.toFixed(2)).join(", ")} | ${r.maxConnectionsPerHost.join(", ")} |`);
    }
  }
  const [small, large] = [report.sizes[0], report.sizes.at(-1)];
  if (small && large && small !== large) {
    lines.push("", `No-op preview, ${large.servers} vs ${small.servers} servers: ${(large.ops.preview.medianSeconds / small.ops.preview.medianSeconds).toFixed(2)}x (target: at most 3x).`);
    lines.push(`up vs floor at ${large.servers} servers: ${(large.ops.up.medianSeconds / large.ops.floor.medianSeconds).toFixed(1)}x.`);
  }
  if (report.sizes.some((size) => size.ops.up.serversCpuSeconds)) lines.push("", ...cpuMarkdown(report.sizes, report.machine.cpus));
  if (report.sizes.some((size) => size.baseline)) lines.push("", ...beforeAfterMarkdown(report.sizes));
  if (report.sizes.some((size) => size.ansible)) lines.push("", ...peerMarkdown(report.sizes));
  if (report.sizes.length >= 3) lines.push("", ...growthMarkdown(report.sizes));
  if (report.sizes.some((size) => size.ops.up.profile)) lines.push("", ...profileMarkdown(report.sizes));
  if (report.dataPlane) lines.push("", ...dataPlaneMarkdown(report.dataPlane));
  return `${lines.join("\n")}\n`;
}

interface Report {
  date: string;
  runs: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; node: string };
  sizes: SizeResult[];
  dataPlane?: DataPlaneReport;
}

async function main(): Promise<void> {
  // Each checkout's own scripts decide whether Node.js caches compiled code (scripts/node-env.sh
  // sets it from ours): a baseline from before that must not inherit it.
  delete process.env["NODE_COMPILE_CACHE"];
  const { values } = parseArgs({
    options: {
      pairs: { type: "string", default: "1,10" },
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "5" },
      out: { type: "string", default: "bench/results" },
      only: { type: "string" },
      release: { type: "string", default: "bookworm" },
      profile: { type: "boolean", default: false },
      ansible: { type: "string" },
      baseline: { type: "string" },
    },
  });
  if (values.only !== undefined && !["ops", "dataplane", "longpaths"].includes(values.only)) throw new Error(`bench: --only takes ops, dataplane or longpaths (got ${values.only})`);
  const pairs = values.pairs.split(",").map(Number);
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const out = resolve(ROOT, values.out);
  if (process.getuid?.() !== 0) throw new Error("bench: run as root (the lab needs network namespaces)");
  const report: Report = {
    date: new Date().toISOString(),
    runs,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "?", memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    sizes: [],
  };
  mkdirSync(out, { recursive: true });
  if (values.only === "longpaths") {
    const lp = await longPathScenarios(runs, values.release, out, log);
    const md = `Measured ${report.date} on ${report.machine.cpus} x ${report.machine.cpuModel}, kernel ${report.machine.kernel} (the host's; the guests' below).\n\n${longPathsMarkdown(lp).join("\n")}\n`;
    writeFileSync(join(out, `longpaths-${values.release}.json`), `${JSON.stringify({ ...report, longPaths: lp }, null, 2)}\n`);
    writeFileSync(join(out, `longpaths-${values.release}.md`), md);
    process.stdout.write(md);
    return;
  }
  if (values.only !== "dataplane") {
    for (const n of pairs) {
      // The peer first, as the issue measured it: right before ours, on the same lab size.
      const ansible = values.ansible ? ansiblePeer(values.ansible, n, runs) : undefined;
      if (ansible) log(`${n} pair(s): ansible apply ${ansible.applySeconds}s, no-op ${ansible.noopSeconds}s`);
      const size = await measureSize(n, runs, values.profile ? { out } : undefined, values.baseline ? resolve(ROOT, values.baseline) : undefined);
      report.sizes.push(ansible ? { ...size, ansible } : size);
    }
  }
  if (values.only !== "ops") report.dataPlane = await dataPlaneScenarios(runs, seconds, log);
  lab("down");
  dropServersCpu(SERVERS_CGROUP);
  mkdirSync(out, { recursive: true });
  // The data-plane scenarios alone go to their own files, so they never replace a full report;
  // nor does a run of the operations alone.
  const name = values.only === "dataplane" ? "dataplane" : values.only === "ops" ? "ops" : "latest";
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, `${name}.md`), markdown(report));
  process.stdout.write(markdown(report));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
