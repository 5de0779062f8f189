/**
 * Proof that MPTCP carries traffic on both paths: for each server/client pair of a stack,
 * single-path TCP against MPTCP throughput (iperf3, through mptcpize), the MP_JOIN counters on
 * both ends, and the bytes each data link carried. Exits non-zero when no second path joined.
 *
 * Usage: npm run verify -- [--stack lab] [--config-file F] [--seconds 5] [--runs 1] [--json]
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { connectionSchema, toSshTarget } from "../provider/connection";
import { SshTransport } from "../provider/transport/ssh";
import { formatTable, measurePair, type PairResult } from "../provider/verify";
import { pairUp, stackConfigSchema, resolvePaths, type HostConfig } from "../stacks/config";
import { REPO_ROOT } from "./tempProject";

interface Options {
  stack: string;
  configFile?: string;
  seconds: number;
  runs: number;
  json: boolean;
}

function optionsOf(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { stack: { type: "string", default: "lab" }, "config-file": { type: "string" }, seconds: { type: "string", default: "5" }, runs: { type: "string", default: "1" }, json: { type: "boolean", default: false } },
  });
  const options: Options = { stack: values.stack, seconds: Number(values.seconds), runs: Number(values.runs), json: values.json };
  if (values["config-file"] !== undefined) options.configFile = resolve(values["config-file"]);
  if (!(options.seconds >= 1 && options.seconds <= 120)) throw new Error("verify: --seconds is 1..120");
  if (!(options.runs >= 1 && options.runs <= 20)) throw new Error("verify: --runs is 1..20");
  return options;
}

function stackConfig(options: Options): HostConfig[] {
  const args = ["scripts/pulumi.sh", "config", "get", "hosts", "--json", "--stack", options.stack];
  if (options.configFile) args.push("--config-file", options.configFile);
  const raw = execFileSync("bash", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return stackConfigSchema.parse({ hosts: (JSON.parse(raw) as { objectValue: unknown }).objectValue }).hosts;
}

function transportFor(host: HostConfig): SshTransport {
  const connection = connectionSchema.parse(resolvePaths(host.connection, REPO_ROOT));
  return new SshTransport(toSshTarget(connection, process.env["MPTCP_PULUMI_PRIVATE_KEY"], REPO_ROOT));
}

async function verifyPair(server: HostConfig, client: HostConfig, target: string, options: Options, log: (s: string) => void): Promise<PairResult> {
  const s = transportFor(server);
  const c = transportFor(client);
  try {
    return await measurePair({
      server: { name: server.name, transport: s },
      client: { name: client.name, transport: c, devs: client.interfaces.map((i) => i.name) },
      target,
      seconds: options.seconds,
      runs: options.runs,
      log,
    });
  } finally {
    await Promise.all([s.close(), c.close()]);
  }
}

async function main(): Promise<void> {
  const options = optionsOf(process.argv.slice(2));
  const hosts = stackConfig(options);
  const found = pairUp(hosts);
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
