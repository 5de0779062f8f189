/**
 * Other users on a lab server, as real servers have them: a deploy login with exactly the README's
 * sudoers lines (the provider's non-root login), and a hostile neighbour with a shell account who
 * plants what issue 18 found (pid and guard files in /tmp naming processes of theirs, the
 * sampler's old stop flag, a FIFO at the old lock path) and keeps decoy processes that root must
 * never signal.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TierHarness } from "./harness";
import { ROOT } from "./harness";

/** The provider's non-root login on the lab servers. */
export const DEPLOY = "deploy";
/** The other local user. */
export const NEIGHBOUR = "mallory";

/** The sudoers lines exactly as the README documents them (its fenced `sudoers` block), for `user`. */
export function documentedSudoers(user: string): string {
  const block = /```sudoers\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, "README.md"), "utf8"));
  if (!block) throw new Error("README.md has no ```sudoers block");
  return block[1]!.replaceAll("deploy", user);
}

/** Creates the deploy login on a server: root's authorized key, the README's sudoers lines. */
export function addDeployLogin(h: TierHarness, server: string): void {
  h.onHost(server, "sh", "-c", 'id "$1" >/dev/null 2>&1 || useradd -m -s /bin/sh -p "*" "$1"', "sh", DEPLOY);
  h.onHost(server, "sh", "-c", 'install -d -o "$1" -m 0700 "/home/$1/.ssh" && install -o "$1" -m 0600 /root/.ssh/authorized_keys "/home/$1/.ssh/authorized_keys"', "sh", DEPLOY);
  h.onHost(server, "sh", "-c", 'printf "%s" "$1" > /etc/sudoers.d/mptcp-pulumi && chmod 0440 /etc/sudoers.d/mptcp-pulumi && visudo -cq', "sh", documentedSudoers(DEPLOY));
}

/** Runs a shell command as the neighbour on a server. */
export function asNeighbour(h: TierHarness, server: string, command: string): { status: number; stdout: string; stderr: string } {
  return h.tryOnHost(server, "setpriv", `--reuid=${NEIGHBOUR}`, `--regid=${NEIGHBOUR}`, "--init-groups", "sh", "-c", command);
}

/**
 * Creates the neighbour and lets them plant their traps; returns their decoy processes' pids,
 * which no program of ours may signal.
 */
export function plantNeighbour(h: TierHarness, server: string, pairNames: readonly string[]): string[] {
  h.onHost(server, "sh", "-c", 'id "$1" >/dev/null 2>&1 || useradd -m -s /bin/sh "$1"', "sh", NEIGHBOUR);
  const decoys = asNeighbour(h, server, "for i in 1 2; do setsid sleep 86400 </dev/null >/dev/null 2>&1 & echo $!; done").stdout.trim().split("\n");
  const [first, second] = decoys;
  const plants = [
    ...pairNames.map((n) => `echo ${first} > /tmp/mptcp-pulumi-verify-${n}.pid; echo ${second} > /tmp/mptcp-pulumi-failover-${n}.guard; touch /tmp/mptcp-pulumi-sampler-${n}.stop`),
    "mkfifo /run/lock/mptcp-pulumi.lock 2>/dev/null",
    // The provider's folder is root's: these must fail.
    "mkdir -p /run/mptcp-pulumi/x 2>/dev/null",
    "true",
  ];
  asNeighbour(h, server, plants.join("; "));
  return decoys;
}

/** The neighbour's decoys that are gone (signalled by someone). */
export function goneDecoys(h: TierHarness, server: string, decoys: readonly string[]): string[] {
  return decoys.filter((pid) => h.tryOnHost(server, "kill", "-0", pid).status !== 0);
}
