/**
 * Lab harness for tests: drives test/lab/lab.sh and reads the servers' real state directly
 * (nsenter, not SSH and not the provider), so tests check hosts independently of the code
 * under test.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../provider/connection";
import { keyPaths, labDir, labHosts, type LabTier } from "./topology";

export { labHosts, type LabHost } from "./topology";

/** Repository root (from test/lab or dist/test/lab alike). */
export const ROOT = projectRoot(__dirname);
/** The lab's state directory (keys, known_hosts, ssh_config, sshd logs). */
export const LAB_DIR = labDir("netns");
const LAB = join(ROOT, "test/lab/lab.sh");

/** Runs a lab command; throws with its output when it fails. */
export function lab(...args: string[]): string {
  const result = spawnSync("bash", [LAB, ...args], { encoding: "utf8", timeout: 600_000 });
  if (result.status !== 0) {
    throw new Error(`lab ${args.join(" ")} exited ${result.status}: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** Runs a command inside a lab server (its netns and its /etc), bypassing SSH. */
export function onHost(server: string, ...command: string[]): string {
  return execFileSync("bash", [LAB, "exec", server, ...command], { encoding: "utf8", timeout: 120_000 });
}

/** Like onHost but returns status and output instead of throwing. */
export function tryOnHost(server: string, ...command: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", [LAB, "exec", server, ...command], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The provider connection for a lab server. */
export function labConnection(server: string) {
  const host = labHosts().find((h) => h.name === server);
  if (!host) throw new Error(`no lab server ${server}`);
  return {
    host: host.host,
    port: host.port,
    user: host.user,
    privateKeyPath: join(LAB_DIR, "id_ed25519"),
    knownHostsPath: join(LAB_DIR, "known_hosts"),
  };
}

/** SSH connections the server accepted so far (from its sshd log). */
export function acceptedConnections(server: string): number {
  const log = readFileSync(join(LAB_DIR, server, "sshd.log"), "utf8");
  return log.split("\n").filter((line) => line.includes("Accepted publickey")).length;
}


/** Everything the stack may touch on a server, as the server itself reports it (`run` picks the tier). */
export function snapshot(server: string, run: (server: string, ...command: string[]) => string = onHost): string {
  return run(
    server,
    "sh",
    "-c",
    [
      "ip mptcp endpoint show",
      "ip mptcp limits show",
      "ip rule show",
      "ip route show table all | grep -v '^local\\|^broadcast\\|^multicast\\|^fe80\\|^ff00'",
      "ip -6 rule show",
      "ip -6 route show table all | grep -v '^local\\|^anycast\\|^multicast\\|^fe80\\|^ff00'",
      "ip -br addr",
      "sysctl net.mptcp.enabled net.ipv4.tcp_rmem net.ipv4.tcp_wmem net.ipv4.conf.all.rp_filter",
      "ls -a /etc/sysctl.d /etc/systemd/system 2>&1",
      "ls -R /etc/mptcp-pulumi 2>&1; true",
      // The network managers' folders, where our netplan files and networkd drop-ins go.
      "ls -aR /etc/netplan /etc/systemd/network 2>&1; true",
    ].join("; echo ---; "),
  );
}

/** Rebuilds the lab from nothing (fresh namespaces and /etc), about two seconds per pair. */
export function freshLab(pairs = 1): void {
  lab("down");
  lab("up", "--pairs", String(pairs));
}

/** What a test needs of one lab tier: lab.sh with `--tier`, commands on its hosts, its stack config. */
export interface TierHarness {
  tier: LabTier;
  /** Runs a lab command of this tier; throws with its output when it fails. */
  lab(...args: string[]): string;
  /** Runs a command on a server of this tier, bypassing SSH; throws when it fails. */
  onHost(server: string, ...command: string[]): string;
  /** Like onHost but returns status and output instead of throwing. */
  tryOnHost(server: string, ...command: string[]): { status: number; stdout: string; stderr: string };
}

/** The harness of a lab tier (the netns tier's is also this module's plain functions). */
export function tierHarness(tier: LabTier): TierHarness {
  const run = (args: string[]) => spawnSync("bash", [LAB, "--tier", tier, ...args], { encoding: "utf8", timeout: 600_000 });
  return {
    tier,
    lab(...args) {
      const r = run(args);
      if (r.status !== 0) throw new Error(`lab --tier ${tier} ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    onHost(server, ...command) {
      const r = run(["exec", server, ...command]);
      if (r.status !== 0) throw new Error(`on ${tier} ${server}: ${command.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    tryOnHost(server, ...command) {
      const r = run(["exec", server, ...command]);
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

export { keyPaths };
