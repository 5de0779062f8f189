/**
 * A throwaway Pulumi project around this repository's program and provider: node_modules and
 * dist/ linked in, a stack config of the caller's, and a file backend in a temporary folder, so
 * benchmarks and tests never touch anyone's own stacks.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../provider/connection";

/** This repository (dist/scripts or scripts alike). */
export const REPO_ROOT = projectRoot(__dirname);

/** Output of one command, and how long it took. */
export interface Run {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** A temporary project holding one stack. */
/** One client's result as `npm run verify -- --json` prints it (the fields tests read). */
export interface VerifyResult {
  ok: boolean;
  joins: Record<string, number>;
  linkBytes: Record<string, number>;
  problems: string[];
  paths: Array<{ dev: string; share: number }>;
  tcpByPath: Record<string, number>;
  window: { windowLimited: boolean; verdict: string };
  advice?: { sysctls: Record<string, string> };
  remedies?: Array<{ label: string; mptcpMbps: number }>;
}

export class TempProject {
  readonly dir: string;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;

  /**
   * Creates the project and its stack. `config` is the stack's `config:` map; `links` are extra
   * entries linked into the project (e.g. `.lab` for relative key paths). With `template` (a
   * project folder, e.g. an example) the project is a copy of it instead of this repository's
   * program. `root` is the checkout whose program, provider and scripts run (another one's for
   * the bench's baseline).
   */
  constructor(
    readonly stack: string,
    config: Record<string, unknown>,
    links: Record<string, string> = {},
    template?: string,
    readonly root: string = REPO_ROOT,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `mptcp-${stack}-`));
    if (template) {
      cpSync(template, this.dir, { recursive: true });
    } else {
      for (const name of ["node_modules", "dist", "package.json"]) symlinkSync(join(root, name), join(this.dir, name));
      cpSync(join(root, "Pulumi.yaml"), join(this.dir, "Pulumi.yaml"));
    }
    for (const [name, target] of Object.entries(links)) symlinkSync(target, join(this.dir, name));
    this.configFile = join(this.dir, `Pulumi.${stack}.yaml`);
    // YAML is a superset of JSON: no YAML writer needed.
    this.configure(config);
    mkdirSync(join(this.dir, "state"));
    this.env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(this.dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: stack };
    this.ok("stack", "init");
  }

  /** Replaces the stack's `config:` map (the next `up` applies it). */
  configure(config: Record<string, unknown>): void {
    writeFileSync(this.configFile, JSON.stringify({ config }, null, 2));
  }

  /** Runs `npm run pulumi` (scripts/pulumi.sh) in this project for this stack. */
  pulumi(...args: string[]): Run {
    return this.run(["bash", join(this.root, "scripts/pulumi.sh"), "-C", this.dir, ...args, "--stack", this.stack, "--non-interactive"]);
  }

  /** Like pulumi() but throws with the output when the command fails. */
  ok(...args: string[]): string {
    const r = this.pulumi(...args);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout.slice(-8000)}\n${r.stderr.slice(-8000)}`);
    return r.stdout;
  }

  /** Runs `npm run verify` for this stack (with `extra` options); returns its parsed JSON and exit status. */
  verify(seconds = 2, ...extra: string[]): { status: number; results: VerifyResult[]; stderr: string } {
    const r = this.run(["node", join(REPO_ROOT, "dist/scripts/verify.js"), "--stack", this.stack, "--config-file", this.configFile, "--seconds", String(seconds), "--json", ...extra]);
    return { status: r.status, results: r.stdout.trim() ? JSON.parse(r.stdout) : [], stderr: r.stderr };
  }

  /** Runs `npm run drift` for this stack (with `extra` options, e.g. `--json`). */
  drift(...extra: string[]): Run {
    return this.run(["node", join(REPO_ROOT, "dist/scripts/drift.js"), "--stack", this.stack, "--config-file", this.configFile, "--cwd", this.dir, ...extra]);
  }

  /** Runs any command (from the repository, or from `cwd`) with this project's backend settings. */
  run(command: string[], input?: string, cwd = REPO_ROOT): Run {
    const started = process.hrtime.bigint();
    // Preview JSON carries every resource's provider module: megabytes for a large stack.
    const r = spawnSync(command[0]!, command.slice(1), { encoding: "utf8", timeout: 600_000, env: this.env, cwd, input, maxBuffer: 1 << 28 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }

  /** Removes the project and its state. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
