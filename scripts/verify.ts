/**
 * Proof that MPTCP works on every path: for each server/client pair of a stack, single-path TCP
 * against MPTCP throughput (iperf3, through mptcpize), the MP_JOIN counters on both ends, each
 * path judged by its role (active paths carry traffic, backup paths joined and stand by), and a
 * timeline of the bytes each link sent. `--failover` also fails a path mid-transfer (carrier loss,
 * then silent drop) and measures the stall and the recovery. `--report FILE` writes the timelines
 * as a self-contained HTML page (or SVG) beside FILE's JSON data. Each pair's paths get their round
 * trip and bandwidth-delay product, and the connection a window verdict; `--advise` prints the
 * buffer sysctls that remove a window limit, `--each-path` measures single-path TCP on every path
 * (so MPTCP is compared with the best one), `--remedies` measures what helps when MPTCP
 * underperforms, `--warmup S` leaves each transfer's first seconds out (long round trips). Exits 1
 * when a check fails.
 *
 * Usage: npm run verify -- [--stack lab] [--config-file F] [--seconds 5] [--runs 1] [--json]
 *          [--failover] [--failover-path eno1] [--failover-kinds carrier,drop] [--report FILE]
 *          [--warmup 0] [--each-path] [--remedies] [--advise]
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { connectionSchema, toSshTarget, usesSudo } from "../provider/connection";
import { failoverOf, failoverSchema, verifyConfigSchema, type VerifyConfig } from "../provider/resources/verification";
import { SshTransport } from "../provider/transport/ssh";
import { formatTable, measurePair, type PairResult } from "../provider/verify";
import { formatAdvice } from "../provider/verify/table";
import { writeReport } from "../provider/verify/report";
import { groupConfigSchema, pairUp, resolvePaths, type HostConfig } from "../provider/components/config";
import { peerAddresses, verificationPaths } from "../provider/components/paths";
import { REPO_ROOT } from "./tempProject";

interface Options {
  stack: string;
  configFile?: string;
  seconds: number;
  runs: number;
  json: boolean;
  failover: boolean;
  failoverPath?: string;
  failoverKinds?: string[];
  report?: string;
  warmup: number;
  eachPath: boolean;
  remedies: boolean;
  advise: boolean;
}

/** Parses the command line; throws naming the bad option. */
export function optionsOf(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string", default: "lab" },
      "config-file": { type: "string" },
      seconds: { type: "string", default: "5" },
      runs: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      failover: { type: "boolean", default: false },
      "failover-path": { type: "string" },
      "failover-kinds": { type: "string" },
      report: { type: "string" },
      warmup: { type: "string", default: "0" },
      "each-path": { type: "boolean", default: false },
      remedies: { type: "boolean", default: false },
      advise: { type: "boolean", default: false },
    },
  });
  const options: Options = {
    stack: values.stack,
    seconds: Number(values.seconds),
    runs: Number(values.runs),
    json: values.json,
    failover: values.failover,
    warmup: Number(values.warmup),
    eachPath: values["each-path"],
    remedies: values.remedies,
    advise: values.advise,
  };
  if (values["config-file"] !== undefined) options.configFile = resolve(values["config-file"]);
  if (values.report !== undefined) options.report = resolve(values.report);
  if (values["failover-path"] !== undefined) options.failoverPath = values["failover-path"];
  if (values["failover-kinds"] !== undefined) options.failoverKinds = values["failover-kinds"].split(",");
  if ((options.failoverPath || options.failoverKinds) && !options.failover) throw new Error("verify: --failover-path and --failover-kinds go with --failover");
  if (!(options.seconds >= 1 && options.seconds <= 120)) throw new Error("verify: --seconds is 1..120");
  if (!(options.runs >= 1 && options.runs <= 20)) throw new Error("verify: --runs is 1..20");
  if (!(Number.isInteger(options.warmup) && options.warmup >= 0 && options.warmup <= 60)) throw new Error("verify: --warmup is 0..60 seconds");
  return options;
}

function configValue(options: Options, key: string): unknown {
  const args = ["scripts/pulumi.sh", "config", "get", key, "--json", "--stack", options.stack];
  if (options.configFile) args.push("--config-file", options.configFile);
  try {
    const raw = execFileSync("bash", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (JSON.parse(raw) as { objectValue: unknown }).objectValue;
  } catch (error) {
    if (key === "hosts") throw error;
    return undefined;
  }
}

/** The failover to run: the stack's own settings, else the lab's netns injector; options override. */
export function failoverConfig(options: Options, stackVerify: VerifyConfig | undefined): VerifyConfig["failover"] {
  if (!options.failover) return undefined;
  const base = stackVerify?.failover ?? { inject: { via: "netns" } };
  const raw = { ...base, ...(options.failoverPath ? { path: options.failoverPath } : {}), ...(options.failoverKinds ? { kinds: options.failoverKinds } : {}) };
  const parsed = failoverSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`verify: failover: ${parsed.error.issues.map((i) => `${i.path.join(".") || "failover"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** How the verification reaches a host: its transport, and whether the login needs sudo. */
function transportFor(host: HostConfig): { transport: SshTransport; sudo: boolean } {
  const connection = connectionSchema.parse(resolvePaths(host.connection, REPO_ROOT));
  return { transport: new SshTransport(toSshTarget(connection, process.env["MPTCP_PULUMI_PRIVATE_KEY"], REPO_ROOT)), sudo: usesSudo(connection) };
}

async function verifyPair(server: HostConfig, client: HostConfig, target: string, options: Options, failover: VerifyConfig["failover"], log: (s: string) => void): Promise<PairResult> {
  const s = transportFor(server);
  const c = transportFor(client);
  const peers = peerAddresses(server, client);
  const paths = verificationPaths(server, client).map((p) => ({ ...p, peerAddress: peers[p.dev] }));
  try {
    const inputs = { server: { name: server.name }, client: { name: client.name, paths }, ...(failover ? { failover } : {}) };
    if (failover?.path !== undefined && !paths.some((p) => p.dev === failover.path)) throw new Error(`verify: --failover-path ${failover.path} is not one of ${client.name}'s paths (${paths.map((p) => p.dev).join(", ")})`);
    return await measurePair({
      server: { name: server.name, ...s },
      client: { name: client.name, ...c },
      paths,
      target,
      seconds: options.seconds,
      warmup: options.warmup,
      eachPath: options.eachPath,
      remedies: options.remedies,
      runs: options.runs,
      failover: failoverOf(inputs, { server: s, client: c }),
      log,
    });
  } finally {
    await Promise.all([s.transport.close(), c.transport.close()]);
  }
}

async function main(): Promise<void> {
  const options = optionsOf(process.argv.slice(2));
  const hosts = groupConfigSchema.parse({ hosts: configValue(options, "hosts") }).hosts;
  const found = pairUp(hosts);
  if (found.length === 0) throw new Error("verify: no server/client pair sharing a subnet in the stack's hosts");
  const stackVerify = verifyConfigSchema.safeParse(configValue(options, "verify"));
  const failover = failoverConfig(options, stackVerify.success ? stackVerify.data : undefined);
  const log = (s: string) => process.stderr.write(`verify: ${s}\n`);
  const results = await Promise.all(found.map(({ server, client, target }) => verifyPair(server, client, target, options, failover, log)));
  process.stdout.write(options.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatTable(results)}\n`);
  // The advice goes to stderr with --json, so stdout stays one JSON document (it is in there too).
  if (options.advise) (options.json ? process.stderr : process.stdout).write(`\n${formatAdvice(results)}\n`);
  if (options.report) {
    const written = writeReport(options.report, results, { stack: options.stack, date: new Date().toISOString() });
    log(`report: ${written.join(", ")}`);
  }
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
