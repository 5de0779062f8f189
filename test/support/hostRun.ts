/**
 * Runs the provider's real host programs (provider/host/*.sh, exactly as the provider assembles
 * them) in namespaces of their own: `unshare -rnm` (root inside, a network namespace with only
 * lo, a private mount namespace) with a fresh tmpfs on /run, so the programs' run folder
 * (/run/mptcp-pulumi) is theirs alone and nothing of this machine is touched.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { program, type HostFile } from "../../provider/host";
import { hostEnvironment } from "../../provider/protocol";

/** A run's output and exit status. */
export interface HostRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** A scratch folder for one test's files. */
export interface Scratch {
  dir: string;
  remove(): void;
}

/** A fresh scratch folder. */
export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "mptcp-host-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A program of the library's `files` and `main`, with the environment every session program gets. */
export function hostProgram(files: readonly HostFile[], main: readonly string[], sudo = false): string {
  return program(hostEnvironment(sudo), files, main);
}

/**
 * Runs program text in fresh namespaces; `setup` runs first in the same shell (as root there),
 * and `args` become the program's positional parameters.
 */
export function runIsolated(text: string, options: { args?: readonly string[]; setup?: string; input?: string; timeoutMs?: number } = {}): HostRun {
  const outer = `mount -t tmpfs none /run && ip link set lo up && { ${options.setup ?? ":"}
} && exec sh -c "$0" program "$@"`;
  const r = spawnSync("unshare", ["-rnm", "sh", "-c", outer, text, ...(options.args ?? [])], { encoding: "utf8", input: options.input, timeout: options.timeoutMs ?? 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
