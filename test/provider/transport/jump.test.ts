import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseJumps, proxyCommand } from "../../../provider/transport/jump";
import { SshTransport, type SshTarget } from "../../../provider/transport/ssh";

const dir = mkdtempSync(join(tmpdir(), "jump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * What the first jump hop's ssh is given when the real OpenSSH client dials the target: a stand-in
 * `ssh` on the PATH of the ProxyCommand's shell writes its arguments down (one per line) and
 * fails, so nothing is dialled.
 */
function firstHopArgv(target: SshTarget): string[] {
  const log = join(dir, "argv");
  const fake = join(dir, "bin");
  spawnSync("mkdir", ["-p", fake]);
  writeFileSync(join(fake, "ssh"), `#!/bin/sh\nfor a; do printf '%s\\n' "$a"; done > ${log}\nexit 1\n`);
  chmodSync(join(fake, "ssh"), 0o755);
  rmSync(log, { force: true });
  const args = new SshTransport(target).sshOptions();
  spawnSync("/usr/bin/ssh", [...args, target.host, "true"], { env: { ...process.env, PATH: `${fake}:${process.env["PATH"]}` }, timeout: 20_000 });
  return readFileSync(log, "utf8").split("\n").slice(0, -1);
}

const TARGET: SshTarget = {
  host: "10.0.0.2",
  port: 2222,
  user: "deploy",
  privateKeyPath: "/keys/id%1",
  knownHostsPath: "/keys/known_hosts",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1TwrvCKsCWYBpTu6UoSRlRSPlkRHnAL1hlvqm6Q0c",
  hostKeyPolicy: "strict",
  connectTimeoutSeconds: 7,
};

describe("jump hosts", () => {
  it("reads [user@]host[:port] hops, IPv6 in brackets, in order", () => {
    expect(parseJumps("ops@bastion:2200,[fd00::1],gw")).toEqual([{ user: "ops", host: "bastion", port: 2200 }, { host: "fd00::1" }, { host: "gw" }]);
    expect(() => parseJumps("a b")).toThrow(/cannot read the hop 'a b'/);
  });

  it("gives the jump hop the target's policy: no prompt, the host-key policy and the user's known_hosts, the key; -W to the target", () => {
    const argv = firstHopArgv({ ...TARGET, proxyJump: "ops@bastion:2200" });
    expect(argv).toEqual(
      expect.arrayContaining(["BatchMode=yes", "ConnectTimeout=7", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/keys/known_hosts", "-i", "/keys/id%1", "IdentitiesOnly=yes", "ControlMaster=no"]),
    );
    expect(argv.slice(-8)).toEqual(["-p", "2200", "-l", "ops", "-W", "10.0.0.2:2222", "--", "bastion"]);
    // The pinned hostKey names the target alone: the hop is checked against the user's file.
    expect(argv.filter((a) => a.startsWith("UserKnownHostsFile="))).toEqual(["UserKnownHostsFile=/keys/known_hosts"]);
  });

  it("reaches a second hop through the first: its ProxyCommand arrives with its own %h:%p", () => {
    const argv = firstHopArgv({ ...TARGET, proxyJump: "a,b:2201" });
    expect(argv.join(" ")).toMatch(/-p 2201 -W 10\.0\.0\.2:2222 -- b$/);
    const inner = argv.find((a) => a.startsWith("ProxyCommand="));
    expect(inner).toMatch(/ -W %h:%p -- a$/);
    expect(inner).toContain("/keys/id%%1");
  });

  it("leaves a connection without proxyJump as it was", () => {
    expect(new SshTransport(TARGET).sshOptions().join(" ")).not.toMatch(/ProxyCommand|-J/);
    expect(proxyCommand([{ host: "h" }], ["-o", "BatchMode=yes"])).toBe("ssh -o BatchMode=yes -o ControlMaster=no -o ControlPath=none -W %h:%p -- h");
  });
});
