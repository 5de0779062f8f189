/**
 * A jump host in the lab (issue 18, item 9): server2 reached on its data address through server1
 * (systemd tier: sshd listens on every address, and server1 reaches server2 over eno1). The jump
 * hop obeys the connection's policy: the known_hosts file it names, BatchMode, the host-key policy.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostError } from "../../provider/errors";
import { SshTransport, type SshTarget } from "../../provider/transport/ssh";
import { tierHarness } from "../lab/harness";
import { keyPaths, labHosts } from "../lab/topology";

const sd = tierHarness("systemd");
const dir = mkdtempSync(join(tmpdir(), "jump-e2e-"));
let target: SshTarget;
let jumpLine: string;

beforeAll(() => {
  sd.lab("up", "--flavor", "plain");
  const [server1, server2] = labHosts("systemd");
  const keys = keyPaths("systemd");
  const known = readFileSync(keys.knownHostsPath, "utf8").split("\n");
  const keyOf = (host: string) => known.find((l) => l.startsWith(`${host} `))!.split(" ").slice(1).join(" ");
  jumpLine = `${server1!.host} ${keyOf(server1!.host)}\n`;
  target = {
    host: server2!.links[0]!.address.split("/")[0]!,
    port: 22,
    user: "root",
    privateKeyPath: keys.privateKeyPath,
    // The target's key is pinned; the jump hop's is checked against knownHostsPath.
    hostKey: keyOf(server2!.host),
    proxyJump: `root@${server1!.host}`,
    hostKeyPolicy: "strict",
    connectTimeoutSeconds: 10,
  };
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  sd.lab("down");
});

/** The hostname the target answers with, through a fresh transport. */
async function hostname(t: SshTarget): Promise<string> {
  const transport = new SshTransport(t);
  try {
    return (await transport.run("cat /proc/sys/kernel/hostname\n", "read the hostname", 30_000)).stdout.trim();
  } finally {
    await transport.close();
  }
}

describe("a jump host", () => {
  it("is trusted through the connection's known_hosts file (ssh -J would read root's own, and may prompt)", async () => {
    const file = join(dir, "known_hosts");
    writeFileSync(file, jumpLine);
    expect(await hostname({ ...target, knownHostsPath: file })).toBe("server2");
  });

  it("whose key is unknown is refused under the strict policy, without a prompt (BatchMode reaches the hop: no tty here, a prompt would hang)", async () => {
    const file = join(dir, "empty_known_hosts");
    writeFileSync(file, "");
    const error = await hostname({ ...target, knownHostsPath: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).stderr).toMatch(/Host key verification failed/);
  });

  it("is trusted on first use under accept-new, recorded in the connection's file", async () => {
    const file = join(dir, "tofu_known_hosts");
    writeFileSync(file, "");
    expect(await hostname({ ...target, knownHostsPath: file, hostKeyPolicy: "accept-new" })).toBe("server2");
    expect(readFileSync(file, "utf8")).toContain(jumpLine.split(" ")[1]!);
  });
});
