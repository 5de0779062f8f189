/**
 * A throwaway Pulumi project for end-to-end tests: the real program and provider (node_modules
 * and dist/ linked in), a stack config derived from Pulumi.lab.yaml, and a file backend in a
 * temporary directory, so tests never touch the developer's own stacks.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump, load } from "js-yaml";
import { LAB_DIR, onHost, ROOT } from "../lab/harness";

/** Output of one CLI run. */
export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** A temporary project holding one stack. */
export class TempProject {
  readonly dir: string;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;

  /** Creates the project from the lab stack's hosts; `edit` may change them first. */
  constructor(
    readonly stack: string,
    edit: (hosts: LabHostConfig[]) => void = () => undefined,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `mptcp-${stack}-`));
    for (const name of ["node_modules", "dist", "package.json"]) symlinkSync(join(ROOT, name), join(this.dir, name));
    // Key paths stay relative (".lab/id_ed25519"), as in Pulumi.lab.yaml: the provider must
    // resolve them in the project, although the engine starts it in dist/stacks.
    symlinkSync(LAB_DIR, join(this.dir, ".lab"));
    cpSync(join(ROOT, "Pulumi.yaml"), join(this.dir, "Pulumi.yaml"));
    this.configFile = join(this.dir, `Pulumi.${stack}.yaml`);
    writeFileSync(this.configFile, dump({ config: { "mptcp-pulumi:hosts": labHosts(edit), ...labVerify() } }));
    mkdirSync(join(this.dir, "state"));
    this.env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(this.dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "e2e" };
    this.ok("stack", "init");
  }

  /** Runs `npm run pulumi` (scripts/pulumi.sh) in this project for this stack. */
  pulumi(...args: string[]): Run {
    return this.run(["bash", join(ROOT, "scripts/pulumi.sh"), "-C", this.dir, ...args, "--stack", this.stack, "--non-interactive"]);
  }

  /** Like pulumi() but throws with the output when the command fails. */
  ok(...args: string[]): string {
    const r = this.pulumi(...args);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Runs any command with this project's backend settings. */
  run(command: string[], input?: string): Run {
    const r = spawnSync(command[0]!, command.slice(1), { encoding: "utf8", timeout: 600_000, env: this.env, cwd: ROOT, input });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs `npm run verify` for this stack; returns its parsed JSON and exit status. */
  verify(seconds = 2): { status: number; results: Array<{ ok: boolean; joins: Record<string, number>; linkBytes: Record<string, number>; problems: string[] }>; stderr: string } {
    const r = this.run(["node", join(ROOT, "dist/scripts/verify.js"), "--stack", this.stack, "--config-file", this.configFile, "--seconds", String(seconds), "--json"]);
    return { status: r.status, results: r.stdout.trim() ? JSON.parse(r.stdout) : [], stderr: r.stderr };
  }

  /** Removes the project and its state. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One host of Pulumi.lab.yaml, as plain data for tests to edit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LabHostConfig = Record<string, any>;

/** The lab stack's `mptcp-pulumi:verify` setting, as a config entry (empty when it has none). */
export function labVerify(): Record<string, unknown> {
  const doc = load(readFileSync(join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
  const verify = doc.config["mptcp-pulumi:verify"];
  return verify === undefined ? {} : { "mptcp-pulumi:verify": verify };
}

/** The lab stack's hosts (key paths relative, like the committed file), after `edit`. */
export function labHosts(edit: (hosts: LabHostConfig[]) => void = () => undefined): LabHostConfig[] {
  const doc = load(readFileSync(join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
  const hosts = structuredClone(doc.config["mptcp-pulumi:hosts"]) as LabHostConfig[];
  edit(hosts);
  return hosts;
}

/** Ops of a `preview --json`, by resource name. */
export function previewOps(json: string): Record<string, string> {
  const preview = JSON.parse(json) as { steps?: Array<{ op: string; urn: string }> };
  return Object.fromEntries((preview.steps ?? []).filter((s) => !s.urn.includes("pulumi:pulumi:Stack")).map((s) => [s.urn.split("::").pop()!, s.op]));
}

/** Everything the stack may touch on a server, as the server itself reports it. */
export function snapshot(server: string): string {
  return onHost(
    server,
    "sh",
    "-c",
    [
      "ip mptcp endpoint show",
      "ip mptcp limits show",
      "ip rule show",
      "ip route show table all | grep -v '^local\\|^broadcast\\|^multicast\\|^fe80\\|^ff00'",
      "ip -br addr",
      "sysctl net.mptcp.enabled net.ipv4.tcp_rmem net.ipv4.tcp_wmem net.ipv4.conf.all.rp_filter",
      "ls -a /etc/sysctl.d /etc/systemd/system 2>&1",
      "ls -R /etc/mptcp-pulumi 2>&1; true",
    ].join("; echo ---; "),
  );
}
