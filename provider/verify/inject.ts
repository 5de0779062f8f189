/**
 * Failing a path on purpose, and bringing it back. Two ways:
 *
 * - `netns`: the path's server end lives in a network namespace of the machine running the
 *   verification (the built-in lab). The failure is made from outside the servers: the link's
 *   server end is set down (the client sees carrier loss), or an nftables netdev table drops
 *   every packet in and out of it (the link stays up). A real cable pull leaves both hosts'
 *   routes in place, but setting a link down deletes its routes, so those of the server's end
 *   are saved before and put back after.
 * - `ssh`: commands the stack gives, run on one of the pair's hosts. Before failing, the host arms
 *   a timer that runs the restore by itself, so a failure that cuts the management session
 *   still ends (commit-confirmed, like the provider's own risky changes).
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellCommand, shellQuote } from "../transport/quote";
import { verifyProgram } from "./hostCalls";
import type { SshTransport } from "../transport/ssh";
import type { FailureKind } from "./failover";

/** Fails and restores one path. */
export interface Injector {
  /** What is failed, for messages. */
  describe(kind: FailureKind): string;
  fail(kind: FailureKind): Promise<void>;
  restore(kind: FailureKind): Promise<void>;
}

/** The nftables table the `netns` injector adds to drop a link's traffic. */
export const DROP_TABLE = "mptcp_pulumi_failover";

/** nftables rules that drop every packet entering or leaving `dev` (netdev hooks: below IP). */
export function dropRules(dev: string): string {
  const device = JSON.stringify(dev);
  return [
    `table netdev ${DROP_TABLE} {`,
    `  chain in { type filter hook ingress device ${device} priority -500; policy drop; }`,
    `  chain out { type filter hook egress device ${device} priority -500; policy drop; }`,
    "}",
    "",
  ].join("\n");
}

function local(argv: string[], input?: string | number): Buffer {
  // A number is an open file for stdin: `ip route restore` seeks in its input, a pipe cannot.
  const stdin = typeof input === "number" ? input : "pipe";
  const r = spawnSync(argv[0]!, argv.slice(1), { ...(typeof input === "string" ? { input } : {}), stdio: [stdin, "pipe", "pipe"], timeout: 30_000 });
  if (r.error) throw new Error(`${argv.join(" ")}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** Fails the path at its server end, a link in the local network namespace `netns`. */
export function netnsInjector(netns: string, dev: string): Injector {
  let savedRoutes: Buffer | undefined;
  return {
    describe: (kind) => (kind === "carrier" ? `${netns}'s ${dev} set down (carrier loss at the client)` : `every packet on ${netns}'s ${dev} dropped (nftables, link up)`),
    async fail(kind) {
      if (kind === "carrier") {
        savedRoutes = local(["ip", "-n", netns, "route", "save", "table", "all", "dev", dev]);
        local(["ip", "-n", netns, "link", "set", "dev", dev, "down"]);
      } else {
        local(["ip", "netns", "exec", netns, "nft", "-f", "-"], dropRules(dev));
      }
    },
    async restore(kind) {
      if (kind === "carrier") {
        local(["ip", "-n", netns, "link", "set", "dev", dev, "up"]);
        // `ip route restore` skips routes that came back with the link (EEXIST) and exits 0.
        if (savedRoutes?.length) {
          const dir = mkdtempSync(join(tmpdir(), "mptcp-failover-"));
          try {
            writeFileSync(join(dir, "routes"), savedRoutes);
            const fd = openSync(join(dir, "routes"), "r");
            try {
              local(["ip", "-n", netns, "route", "restore"], fd);
            } finally {
              closeSync(fd);
            }
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      } else {
        const r = spawnSync("ip", ["netns", "exec", netns, "nft", "list", "table", "netdev", DROP_TABLE], { timeout: 30_000 });
        if (r.status === 0) local(["ip", "netns", "exec", netns, "nft", "delete", "table", "netdev", DROP_TABLE]);
      }
    },
  };
}

/** Commands that fail and restore a path, per kind, as argument vectors. */
export type FailureCommands = Partial<Record<FailureKind, { fail: string[]; restore: string[] }>>;

/** Fails the path with the stack's own commands on one host, guarded by a restore timer. */
export function sshInjector(host: string, transport: SshTransport, sudo: boolean, commands: FailureCommands, guardSeconds: number): Injector {
  const of = (kind: FailureKind) => {
    const c = commands[kind];
    if (!c) throw new Error(`failover: no commands for ${kind} on ${host}`);
    return c;
  };
  return {
    describe: (kind) => `${shellCommand(of(kind).fail)} on ${host}`,
    async fail(kind) {
      // The guard restores the path by itself if nothing else does: armed before the failure, in the same round trip.
      await transport.run(verifyProgram(sudo, "failover_arm", [host, guardSeconds, ...of(kind).restore], of(kind).fail), `fail the path (${kind})`);
    },
    async restore(kind) {
      await transport.run(verifyProgram(sudo, "failover_disarm", [host, ...of(kind).restore]), `restore the path (${kind})`);
    },
  };
}
