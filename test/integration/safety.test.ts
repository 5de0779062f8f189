/**
 * Safety against the real lab: commit-confirmed rollback when a change cuts the management
 * link, the host lock, host-key trust, unreachable hosts, unreadable keys, and a failed create
 * that leaves nothing behind.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyScript } from "../../provider/protocol";
import { connectionSchema, toSshTarget } from "../../provider/connection";
import { context, providers } from "../../provider/runtime";
import { SshTransport } from "../../provider/transport/ssh";
import { freshLab, lab, LAB_DIR, labConnection, onHost, tryOnHost } from "../lab/harness";

type Outs = Record<string, unknown>;
const scratch = mkdtempSync(join(tmpdir(), "mptcp-safety-"));

async function checkedInputs(kind: keyof typeof providers, inputs: Record<string, unknown>) {
  return providers[kind].check!({}, inputs);
}

beforeAll(() => freshLab());
beforeEach(() => context.invalidateAll());
afterAll(async () => {
  await context.closeAll();
});

describe("commit-confirmed", () => {
  it("rolls back by itself a change that cut the management link, and the host is reachable again", async () => {
    const connection = { ...labConnection("server1"), confirmTimeoutSeconds: 5 };
    const created = await providers.NetworkInterface.create((await checkedInputs("NetworkInterface", { connection, name: "mgmt0", addresses: ["172.31.1.2/30"] })).inputs);
    const cut = (await checkedInputs("NetworkInterface", { connection, name: "mgmt0", addresses: ["172.31.1.2/30"], up: false, allowSessionDisruption: true })).inputs;
    const started = Date.now();
    const error = await providers.NetworkInterface.update!(created.id, created.outs as Outs, cut).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    // Either the connection broke for good (the host rolls back later) or it came back after the
    // host had rolled back (the confirm finds the timer fired): both must say so.
    expect((error as Error).message).toMatch(/rolls it back by itself within 5s \(commit-confirmed\)|not confirmed within 5s .* so the host rolled it back by itself \(commit-confirmed\)/);
    // The host put the link back up on its own.
    let up = false;
    for (let i = 0; i < 40 && !up; i++) {
      up = /\bUP\b/.test(onHost("server1", "ip", "-br", "link", "show", "dev", "mgmt0"));
      if (!up) await new Promise((r) => setTimeout(r, 500));
    }
    expect(up).toBe(true);
    expect(onHost("server1", "sh", "-c", "cat /run/mptcp-pulumi/ns-*/work-*/*.log")).toContain("rolled back at");
    expect(lab("ssh", "server1", "echo", "reachable").trim()).toBe("reachable");
    expect(Date.now() - started).toBeLessThan(120_000);
    await context.closeAll();
    await providers.NetworkInterface.delete!(created.id, created.outs as Outs);
  });

  it("arms the timer for a change set on the session's path, and the host rolls back its IPv6 rule and route too when the management link is cut", async () => {
    const connection = { ...labConnection("server2"), confirmTimeoutSeconds: 5 };
    // The IPv4 rule may select the session's replies (its table has no IPv4 route, so it does not
    // cut them): the change set is on the session's path and armed, its IPv6 part with it.
    const inputs = (
      await checkedInputs("PolicyRoute", {
        connection,
        table: 260,
        rules: [{ from: "fd00:2::2", priority: 1260 }, { from: "172.31.2.0/30", priority: 1261 }],
        routes: [{ dst: "default", via: "fe80::1", dev: "eno2" }],
        allowSessionDisruption: true,
      })
    ).inputs;
    // The moment the host arms its timer, cut server2's management link from this side.
    const watcher = spawn("sh", ["-c", 'for i in $(seq 1 50000); do for p in /run/mptcp-pulumi/ns-*/pending/*; do [ -e "$p" ] && { ip link set lab-server2 down; exit 0; }; done; done; exit 1']);
    const cut = new Promise<number | null>((resolve) => watcher.on("exit", resolve));
    const created = providers.PolicyRoute.create(inputs).catch((e: unknown) => e as Error);
    expect(await cut).toBe(0);
    // Long enough for the host's 5 s timer to fire while nobody can reach it.
    await new Promise((r) => setTimeout(r, 9000));
    expect(onHost("server2", "ip", "-6", "rule", "show")).not.toContain("lookup 260");
    expect(onHost("server2", "sh", "-c", "ip -6 route show table 260 2>/dev/null; true").trim()).toBe("");
    expect(onHost("server2", "sh", "-c", "cat /run/mptcp-pulumi/ns-*/work-*/*.log")).toContain("rolled back at");
    execFileSync("ip", ["link", "set", "lab-server2", "up"]);
    const error = await created;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/rolls it back by itself within 5s \(commit-confirmed\)|not confirmed within 5s .* so the host rolled it back by itself \(commit-confirmed\)/);
    expect(lab("ssh", "server2", "echo", "reachable").trim()).toBe("reachable");
    expect(onHost("server2", "ip", "-6", "rule", "show")).not.toContain("lookup 260");
    expect(onHost("server2", "ip", "rule", "show")).not.toContain("lookup 260");
    await context.closeAll();
  });

  it("sends no confirm for a change set off the session's path (data links, their tables), and arms none", async () => {
    const connection = { ...labConnection("server2"), confirmTimeoutSeconds: 3 };
    const session = context.sessionFor(connectionSchema.parse(connection), undefined);
    const confirms = session.roundTrips.confirm;
    const made = await providers.PolicyRoute.create((await checkedInputs("PolicyRoute", { connection, table: 261, rules: [{ from: "10.0.0.2", priority: 1262 }], routes: [{ dst: "10.0.0.0/24", dev: "eno1", scope: "link" }] })).inputs);
    const eno1 = await providers.NetworkInterface.create((await checkedInputs("NetworkInterface", { connection, name: "eno1", addresses: ["10.0.0.2/24", "10.0.0.23/24"] })).inputs);
    expect(session.roundTrips.confirm).toBe(confirms);
    expect(onHost("server2", "ip", "-br", "addr", "show", "dev", "eno1")).toContain("10.0.0.23/24");
    expect(onHost("server2", "ip", "rule", "show")).toContain("lookup 261");
    await providers.NetworkInterface.delete!(eno1.id, eno1.outs as Outs);
    await providers.PolicyRoute.delete!(made.id, made.outs as Outs);
    expect(session.roundTrips.confirm).toBe(confirms);
  });

  it("disarms the timer once the provider reaches the host again", async () => {
    const connection = { ...labConnection("server2"), confirmTimeoutSeconds: 3 };
    const session = context.sessionFor(connectionSchema.parse(connection), undefined);
    const confirms = session.roundTrips.confirm;
    // An address on the session's own device: armed, then confirmed.
    const made = await providers.NetworkInterface.create((await checkedInputs("NetworkInterface", { connection, name: "mgmt0", addresses: ["172.31.2.2/30", "172.31.99.2/32"] })).inputs);
    expect(session.roundTrips.confirm).toBe(confirms + 1);
    await new Promise((r) => setTimeout(r, 4500));
    expect(onHost("server2", "ip", "-br", "addr", "show", "dev", "mgmt0")).toContain("172.31.99.2/32");
    expect(onHost("server2", "sh", "-c", 'ls "/run/mptcp-pulumi/ns-$(stat -L -c %i /proc/self/ns/net)/pending" | grep -c . || true').trim()).toBe("0");
    await providers.NetworkInterface.delete!(made.id, made.outs as Outs);
  });
});

describe("host lock", () => {
  it("never lets two operations on one host interleave their writes", async () => {
    const log = "/etc/mptcp-lock-test.log";
    const step = (who: string) => ({ kind: "exec" as const, argv: ["sh", "-c", `echo "${who} start" >> ${log}; sleep 1; echo "${who} end" >> ${log}`] });
    const target = toSshTarget(connectionSchema.parse(labConnection("server1")), undefined, context.projectRoot);
    const a = new SshTransport(target);
    const b = new SshTransport({ ...target, port: target.port });
    await Promise.all([a.run(applyScript([step("A")]), "A"), b.run(applyScript([step("B")]), "B")]);
    const lines = onHost("server1", "cat", log).trim().split("\n");
    onHost("server1", "rm", "-f", log);
    await Promise.all([a.close(), b.close()]);
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(" ")[0]).toBe(lines[1]!.split(" ")[0]);
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["start", "end", "start", "end"]);
  });
});

describe("host keys and reachability", () => {
  it("refuses an unknown host key with a clear message", async () => {
    const empty = join(scratch, "empty_known_hosts");
    writeFileSync(empty, "");
    const t = new SshTransport(toSshTarget(connectionSchema.parse({ ...labConnection("server1"), knownHostsPath: empty }), undefined, context.projectRoot));
    await expect(t.run("true\n", "probe")).rejects.toThrow(/exited 255.*host key is unknown or changed: add it to known_hosts or pin it with hostKey, or set hostKeyPolicy: accept-new/s);
    await t.close();
  });

  it("trusts on first use only when asked, and records the key", async () => {
    const tofu = join(scratch, "tofu_known_hosts");
    const t = new SshTransport(toSshTarget(connectionSchema.parse({ ...labConnection("server1"), knownHostsPath: tofu, hostKeyPolicy: "accept-new" }), undefined, context.projectRoot));
    expect((await t.run("echo ok\n", "probe")).stdout.trim()).toBe("ok");
    await t.close();
    // Entries may be hashed (HashKnownHosts), so ask ssh-keygen rather than grep.
    expect(execFileSync("ssh-keygen", ["-F", "172.31.1.2", "-f", tofu], { encoding: "utf8" })).toContain("ssh-ed25519");
  });

  it("refuses a changed host key even with trust on first use", async () => {
    const wrong = join(scratch, "wrong_known_hosts");
    const server2Key = readFileSync(join(LAB_DIR, "known_hosts"), "utf8").split("\n").find((l) => l.startsWith("172.31.2.2 "))!;
    writeFileSync(wrong, `${server2Key.replace("172.31.2.2", "172.31.1.2")}\n`);
    const t = new SshTransport(toSshTarget(connectionSchema.parse({ ...labConnection("server1"), knownHostsPath: wrong, hostKeyPolicy: "accept-new" }), undefined, context.projectRoot));
    await expect(t.run("true\n", "probe")).rejects.toThrow(/host key changed since it was first trusted/);
    await t.close();
  });

  it("pins a host key instead of known_hosts", async () => {
    const line = readFileSync(join(LAB_DIR, "known_hosts"), "utf8").split("\n").find((l) => l.startsWith("172.31.1.2 "))!;
    const hostKey = line.split(" ").slice(1, 3).join(" ");
    const { knownHostsPath: _unused, ...rest } = labConnection("server1");
    const t = new SshTransport(toSshTarget(connectionSchema.parse({ ...rest, hostKey }), undefined, context.projectRoot));
    expect((await t.run("echo pinned\n", "probe")).stdout.trim()).toBe("pinned");
    await t.close();
  });

  it("says plainly when nothing listens on the SSH port", async () => {
    const t = new SshTransport(toSshTarget(connectionSchema.parse({ ...labConnection("server1"), port: 2222 }), undefined, context.projectRoot));
    // The host's first command opens the connection itself, so the error names it.
    await expect(t.run("true\n", "probe")).rejects.toThrow(/on root@172\.31\.1\.2:2222: `probe` exited 255.*nothing listens on the SSH port/s);
    await t.close();
  });

  it("refuses a missing or unreadable private key before any connection", async () => {
    const missing = await checkedInputs("Endpoint", { connection: { ...labConnection("server1"), privateKeyPath: join(scratch, "nope") }, address: "192.168.0.1", dev: "eno2", flags: ["signal"] });
    expect(missing.failures).toEqual([{ property: "connection.privateKeyPath", reason: expect.stringContaining("does not exist") }]);
    const dir = await checkedInputs("Endpoint", { connection: { ...labConnection("server1"), privateKeyPath: scratch }, address: "192.168.0.1", dev: "eno2", flags: ["signal"] });
    expect(dir.failures).toEqual([{ property: "connection.privateKeyPath", reason: expect.stringContaining("is not a file") }]);
  });

  it("authenticates with a private key given as a secret value, on disk only while the master connects", async () => {
    const key = readFileSync(join(LAB_DIR, "id_ed25519"), "utf8");
    const { privateKeyPath: _unused, ...rest } = labConnection("server2");
    const t = new SshTransport(toSshTarget(connectionSchema.parse(rest), key, context.projectRoot));
    expect((await t.run("echo inline\n", "probe")).stdout.trim()).toBe("inline");
    const args = t.sshOptions();
    const keyFile = args[args.indexOf("-i") + 1]!;
    expect(keyFile.startsWith(tmpdir()) || keyFile.startsWith("/run/user/")).toBe(true);
    expect(() => readFileSync(keyFile)).toThrow();
    expect((await t.run("echo again\n", "probe")).stdout.trim()).toBe("again");
    await t.close();
  });
});

describe("a create that fails half-way", () => {
  it("reports what was applied and undoes it, leaving the host as it was", async () => {
    const before = onHost("server2", "ip", "-j", "route", "show", "table", "all");
    const inputs = (
      await checkedInputs("PolicyRoute", {
        connection: labConnection("server2"),
        table: 160,
        routes: [
          { dst: "10.0.0.0/24", dev: "eno1", scope: "link" },
          { dst: "192.168.0.0/24", dev: "eno2", src: "192.168.0.99" },
        ],
        rules: [{ from: "10.0.0.2", priority: 1600 }],
      })
    ).inputs;
    const error = await providers.PolicyRoute.create(inputs).then(
      () => new Error("create succeeded"),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/failed: ip route replace 192\.168\.0\.0\/24 dev eno2 src 192\.168\.0\.99 table 160\. Applied: ip route replace 10\.0\.0\.0\/24 dev eno1 scope link table 160\. Not attempted: ip rule add priority 1600 from 10\.0\.0\.2 table 160/);
    expect(error.message).toContain("Those changes were undone, so the host is as it was before");
    expect(onHost("server2", "ip", "-j", "route", "show", "table", "all")).toBe(before);
    expect(tryOnHost("server2", "ip", "rule", "show").stdout).not.toContain("lookup 160");
  });
});
