import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostError } from "../../provider/errors";
import { applyScript, compileScript, confirmScript, LOCK_FILE_SHELL, LOCK_WAIT_SECONDS, parseApplyRun, parseConfirm, readOutcome, readScript } from "../../provider/protocol";
import { fixtureText, PROBE_6_1 } from "../support/fixtures";
import type { Operation, Rendered } from "../../provider/operations";

const APPLIED = "@@mptcp-pulumi-applied@@";
const FAILED = "@@mptcp-pulumi-failed@@";

// The compiler works on what operations render to; these build those forms directly.
const ip = (...args: string[]): Rendered => ({ kind: "ip", args });
const ip6 = (...args: string[]): Rendered => ({ kind: "ip", family: 6, args });
const ip4 = (...args: string[]): Rendered => ({ kind: "ip", family: 4, args });
const sysctl = (key: string, value: string): Rendered => ({ kind: "exec", argv: ["sysctl", "-q", "-w", `${key}=${value}`] });
const writeFile = (path: string, content: string): Rendered => ({ kind: "writeFile", path, content });
const removeFile = (path: string): Rendered => ({ kind: "removeFile", path });
const shell = (...argv: string[]): Rendered => ({ kind: "exec", argv });

describe("compileScript", () => {
  it("starts with the C locale, root directly (no sudo), and the host lock opened read-only", () => {
    const lines = compileScript([]).split("\n");
    expect(lines[0]).toBe("export LC_ALL=C");
    expect(lines[1]).toBe('export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"');
    expect(lines[3]).toBe("export MPTCP_PULUMI_SUDO=0");
    expect(lines[4]).toMatch(/^as_root\(\) \{/);
    expect(lines[5]).toBe("mkdir -p /run/lock || exit 1");
    expect(lines[6]).toBe(`lock="${LOCK_FILE_SHELL}"`);
    // Read-only: a lock file another login created stays usable (fs.protected_regular).
    expect(lines[7]).toBe('[ -e "$lock" ] || : > "$lock"; exec 9<"$lock"');
    expect(lines[8]).toContain(`flock -w ${LOCK_WAIT_SECONDS} 9`);
    expect(lines[8]).toContain("exit 75");
  });

  it("with sudo, turns sudo on for the script and prefixes exactly the privileged commands", () => {
    const script = compileScript([ip("mptcp", "limits", "set", "subflows", "2"), shell("sysctl", "-q", "-w", "net.mptcp.enabled=1"), writeFile("/etc/f", "x\n"), removeFile("/etc/g")], undefined, undefined, true);
    expect(script).toContain("export MPTCP_PULUMI_SUDO=1");
    expect(script).toContain("as_root ip -batch - <<'MPTCP_PULUMI_EOF'");
    expect(script).toContain("as_root sysctl -q -w net.mptcp.enabled=1");
    expect(script).toContain("as_root mkdir -p /etc && as_root tee /etc/f.mptcp-pulumi-tmp >/dev/null <<'MPTCP_PULUMI_EOF'");
    expect(script).toContain("as_root mv -f /etc/f.mptcp-pulumi-tmp /etc/f");
    expect(script).toContain("as_root rm -f /etc/g");
    expect(script).not.toMatch(/sudo .*sh/);
  });

  it("keeps one lock per network namespace in /run/lock, outside the folders it may delete", () => {
    expect(LOCK_FILE_SHELL).toMatch(/^\/run\/lock\/mptcp-pulumi-\$\(stat -L -c %i \/proc\/self\/ns\/net/);
  });

  it("ends an empty change set with exit 0 and no step", () => {
    const script = compileScript([]);
    expect(script.endsWith("exit 0\n")).toBe(true);
    expect(script).not.toContain(APPLIED);
  });

  it("sends consecutive ip changes as one ip -batch here-document", () => {
    const script = compileScript([ip("mptcp", "limits", "set", "subflows", "2"), ip("mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow")]);
    expect(script.match(/ip -batch -/g)).toHaveLength(1);
    expect(script).toContain(
      "ip -batch - <<'MPTCP_PULUMI_EOF'\nmptcp limits set subflows 2\nmptcp endpoint add 192.168.0.2 dev eno2 subflow\nMPTCP_PULUMI_EOF",
    );
  });

  it("reports one applied marker covering the whole ip group", () => {
    const script = compileScript([ip("link", "set", "dev", "eno1", "up"), ip("link", "set", "dev", "eno2", "up")]);
    expect(script).toContain(`echo "${APPLIED} 0 1"`);
    expect(script).toContain(`echo "${FAILED} 0 1 $rc"`);
  });

  it("runs IPv6 rules and routes in an ip -6 batch, with family-free lines joining it", () => {
    const script = compileScript([ip("mptcp", "limits", "set", "subflows", "2"), ip6("rule", "add", "from", "all", "table", "202"), ip6("route", "replace", "default", "dev", "eno2", "table", "202")]);
    expect(script).toContain("ip -6 -batch - <<'MPTCP_PULUMI_EOF'\nmptcp limits set subflows 2\nrule add from all table 202\nroute replace default dev eno2 table 202\nMPTCP_PULUMI_EOF");
    expect(script).toContain(`echo "${APPLIED} 0 2"`);
  });

  it("never runs an IPv4 line in an IPv6 batch: a family change starts a new batch", () => {
    const script = compileScript([ip4("rule", "add", "from", "all", "table", "102"), ip6("rule", "add", "from", "all", "table", "202"), ip4("rule", "add", "from", "all", "table", "103")]);
    expect(script.match(/^as_root ip -batch -/gm)).toHaveLength(2);
    expect(script.match(/^as_root ip -6 -batch -/gm)).toHaveLength(1);
    expect(script).toContain(`echo "${APPLIED} 1 1"`);
  });

  it("splits ip changes separated by another kind into two batches", () => {
    const script = compileScript([ip("link", "set", "dev", "eno1", "up"), sysctl("net.mptcp.enabled", "1"), ip("link", "set", "dev", "eno2", "up")]);
    expect(script.match(/ip -batch -/g)).toHaveLength(2);
    expect(script).toContain(`echo "${APPLIED} 0 0"`);
    expect(script).toContain(`echo "${APPLIED} 1 1"`);
    expect(script).toContain(`echo "${APPLIED} 2 2"`);
  });

  it("numbers steps in the order of the changes", () => {
    const script = compileScript([sysctl("net.mptcp.enabled", "1"), ip("link", "set", "dev", "eno1", "up"), ip("link", "set", "dev", "eno2", "up"), removeFile("/tmp/x")]);
    const markers = script.split("\n").filter((l) => l.startsWith(`echo "${APPLIED}`));
    expect(markers).toEqual([`echo "${APPLIED} 0 0"`, `echo "${APPLIED} 1 2"`, `echo "${APPLIED} 3 3"`]);
  });

  it("quotes a sysctl value with blanks as one argument", () => {
    const script = compileScript([sysctl("net.ipv4.tcp_rmem", "4096 131072 33554432")]);
    expect(script).toContain("sysctl -q -w 'net.ipv4.tcp_rmem=4096 131072 33554432'");
  });

  it("stops at the first failing step and reports the step's exit status in the marker", () => {
    const script = compileScript([sysctl("net.mptcp.enabled", "1")]);
    expect(script).toMatch(/rc=\$\?; if \[ "\$rc" -ne 0 \]; then echo "@@mptcp-pulumi-failed@@ 0 0 \$rc"; exit [1-9]/);
  });

  it("refuses an ip change whose word cannot stand in a batch line", () => {
    expect(() => compileScript([ip("link", "set", "dev", "eno1\nlink set lo down", "up")])).toThrow(/refusing ip -batch word/);
  });

  it("writes a file through a temporary file and a rename", () => {
    const script = compileScript([writeFile("/etc/mptcp-pulumi/apply.sh", "#!/bin/sh\n")]);
    expect(script).toContain("as_root tee /etc/mptcp-pulumi/apply.sh.mptcp-pulumi-tmp >/dev/null <<'MPTCP_PULUMI_EOF'");
    expect(script).toContain("as_root mv -f /etc/mptcp-pulumi/apply.sh.mptcp-pulumi-tmp /etc/mptcp-pulumi/apply.sh");
  });

  it("picks a here-document marker that no line of a written file equals", () => {
    const script = compileScript([writeFile("/tmp/f", "a\nMPTCP_PULUMI_EOF\nb\n")]);
    expect(script).toContain("<<'MPTCP_PULUMI_EOF_'");
  });
});

/**
 * Runs a compiled script in a real sh. The only edit is the lock directory, moved into `dir`
 * so the test never touches this machine's /run/lock.
 */
function runCompiled(changes: Rendered[], dir: string): { status: number | null; stdout: string; stderr: string } {
  const script = compileScript(changes);
  expect(script).toContain("/run/lock");
  const relocated = script.split("/run/lock").join(join(dir, "lock"));
  const run = spawnSync("sh", ["-c", relocated], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("a compiled script run by a real sh (files and shell steps only)", () => {
  let dir: string;
  beforeEach(() => {
    // The persist directory is spliced in unquoted, so the temp dir itself has a plain name;
    // hostile names are used for the files inside it.
    dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-changes-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a file with hostile content byte for byte", () => {
    const content = "#!/bin/sh\necho '$(id)' \"`id`\" $HOME \\n\nMPTCP_PULUMI_EOF\nMPTCP_PULUMI_EOF_\n\u65e5\u672c\n";
    const path = join(dir, "new dir", "file with 'quote'.txt");
    const run = runCompiled([writeFile(path, content)], dir);
    expect(run.status).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(content);
  });

  it("leaves no temporary file behind", () => {
    const path = join(dir, "a.conf");
    runCompiled([writeFile(path, "x = 1\n")], dir);
    expect(readdirSync(dir).filter((f) => f.includes("mptcp-pulumi-tmp"))).toEqual([]);
  });

  it("ends written content with a newline", () => {
    const path = join(dir, "a.conf");
    runCompiled([writeFile(path, "x = 1")], dir);
    expect(readFileSync(path, "utf8")).toBe("x = 1\n");
  });

  it("replaces an existing file", () => {
    const path = join(dir, "a.conf");
    writeFileSync(path, "old\n");
    runCompiled([writeFile(path, "new\n")], dir);
    expect(readFileSync(path, "utf8")).toBe("new\n");
  });

  it("removes a file", () => {
    const path = join(dir, "gone.batch");
    writeFileSync(path, "x\n");
    const run = runCompiled([removeFile(path)], dir);
    expect(run.status).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it("succeeds when removing a file that is already gone", () => {
    const run = runCompiled([removeFile(join(dir, "never-existed"))], dir);
    expect(run.status).toBe(0);
  });

  it("runs a shell change with each argument passed intact", () => {
    const out = join(dir, "out.txt");
    const run = runCompiled([shell("sh", "-c", 'printf %s "$1" > "$2"', "sh", "$(id); `id` 'x'", out)], dir);
    expect(run.status).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("$(id); `id` 'x'");
  });

  it("takes the lock file named after the network namespace", () => {
    runCompiled([], dir);
    expect(readdirSync(join(dir, "lock"))).toEqual([expect.stringMatching(/^mptcp-pulumi-\d+\.lock$/)]);
  });

  it("reports every step applied when all succeed", () => {
    const changes = [writeFile(join(dir, "a"), "a\n"), shell("true"), removeFile(join(dir, "a"))];
    const run = runCompiled(changes, dir);
    expect(run.status).toBe(0);
    expect(readOutcome(changes, run.stdout, run.stderr)).toEqual({ applied: changes, notAttempted: [] });
  });

  it("stops at a failing shell step, exits non-zero and reports the step's status", () => {
    const changes = [writeFile(join(dir, "a"), "a\n"), shell("sh", "-c", "exit 5"), writeFile(join(dir, "b"), "b\n")];
    const run = runCompiled(changes, dir);
    expect(run.status).not.toBe(0);
    expect(existsSync(join(dir, "a"))).toBe(true);
    expect(existsSync(join(dir, "b"))).toBe(false);
    expect(run.stdout).toContain(`${FAILED} 1 1 5`);
  });

  it("exits with a status other than 255 when a step fails with 255, so it is not mistaken for ssh's own failure", () => {
    const run = runCompiled([shell("sh", "-c", "exit 255")], dir);
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBe(255);
  });

  it("shows a failed run as failed", () => {
    const failed = runCompiled([shell("false")], dir);
    expect(parseApplyRun([], { stdout: failed.stdout, stderr: failed.stderr, exitCode: failed.status }).kind).toBe("failed");
  });

  it("reads a lock held by another operation as lock busy, with nothing attempted", async () => {
    runCompiled([], dir);
    const lockFile = join(dir, "lock", readdirSync(join(dir, "lock"))[0]!);
    const holder = spawn("flock", [lockFile, "sleep", "5"]);
    await new Promise((r) => setTimeout(r, 300));
    const script = compileScript([shell("true")]).split("/run/lock").join(join(dir, "lock")).replace(`flock -w ${LOCK_WAIT_SECONDS} 9`, "flock -w 1 9");
    const run = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    holder.kill();
    expect(parseApplyRun([OP], { stdout: run.stdout, stderr: run.stderr, exitCode: run.status })).toEqual({ kind: "lockBusy", armed: false, notAttempted: [OP] });
  });

  it("maps a real failed run to applied, failed and not attempted", () => {
    const changes = [writeFile(join(dir, "a"), "a\n"), shell("sh", "-c", "exit 3"), writeFile(join(dir, "b"), "b\n")];
    const run = runCompiled(changes, dir);
    expect(readOutcome(changes, run.stdout, run.stderr)).toEqual({ applied: [changes[0]], failed: changes[1], notAttempted: [changes[2]] });
  });

  it("reports a shell step applied even when its output does not end with a newline", () => {
    const changes = [shell("printf", "no newline"), writeFile(join(dir, "a"), "a\n")];
    const run = runCompiled(changes, dir);
    expect(run.status).toBe(0);
    expect(readOutcome(changes, run.stdout, run.stderr)).toEqual({ applied: changes, notAttempted: [] });
  });
});

const OP: Operation = { type: "limits", limits: { subflows: 2, addAddrAccepted: 2 } };
const ARMED = "@@mptcp-pulumi-armed@@";

describe("parseApplyRun", () => {
  it("reads a clean run as applied, with the host's new state from the probe sections", () => {
    const outcome = parseApplyRun([OP], { stdout: `${APPLIED} 0 0\n${fixtureText(PROBE_6_1)}`, stderr: "", exitCode: 0 });
    expect(outcome.kind).toBe("applied");
    expect(outcome.kind === "applied" && outcome.state.facts.iproute2Version).toBe("6.1.0");
    expect(outcome.armed).toBe(false);
  });

  it.each([
    [76, "rollbackPending"],
    [4, "armFailed"],
    [255, "connectionLost"],
    [null, "connectionLost"],
    [1, "error"],
  ] as const)("reads exit %s before any step as %s, with nothing attempted", (exitCode, kind) => {
    expect(parseApplyRun([OP], { stdout: "", stderr: "", exitCode })).toEqual({ kind, armed: false, notAttempted: [OP] });
  });

  it("says the timer was armed when the connection broke after arming", () => {
    expect(parseApplyRun([OP], { stdout: `${ARMED}\n`, stderr: "", exitCode: 255 })).toMatchObject({ kind: "connectionLost", armed: true });
  });

  it("reads a failed step with what was applied, failed and not attempted", () => {
    const two: Operation[] = [OP, { type: "sysctl", key: "net.mptcp.enabled", value: "1" }];
    expect(parseApplyRun(two, { stdout: `${ARMED}\n${APPLIED} 0 0\n${FAILED} 1 1 1\n`, stderr: "", exitCode: 3 })).toEqual({
      kind: "failed",
      armed: true,
      applied: [two[0]],
      failed: two[1],
      notAttempted: [],
    });
  });
});

describe("applyScript, readScript and confirmScript", () => {
  it("arms before the first change and reads the state after the last, in one script", () => {
    const script = applyScript([OP], [], { token: "t-1", seconds: 30, undo: [OP] });
    const step = script.indexOf("ip -batch -");
    expect(script.indexOf(`echo "${ARMED}"`)).toBeLessThan(step);
    expect(step).toBeLessThan(script.indexOf("section hostname"));
  });

  it("refuses a token that is not a plain name", () => {
    expect(() => applyScript([OP], [], { token: "x; rm -rf /", seconds: 30, undo: [] })).toThrow(/invalid rollback token/);
  });

  it("reads without taking the lock", () => {
    expect(readScript([])).not.toContain("flock");
    expect(readScript([])).toContain("section hostname");
  });

  it("reads the confirm's answer", () => {
    expect(confirmScript("t-1")).toContain("echo confirmed");
    expect(parseConfirm("confirmed\n")).toBe(true);
    expect(parseConfirm("expired\n")).toBe(false);
  });
});

describe("readOutcome", () => {
  const a = ip("mptcp", "limits", "set", "subflows", "2");
  const b = ip("mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow");
  const c = ip("rule", "add", "from", "192.168.0.2", "table", "102");
  const w = writeFile("/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.batch", "x\n");
  const s = sysctl("net.mptcp.enabled", "1");

  it("reports every change applied when every step printed its marker", () => {
    const stdout = `${APPLIED} 0 0\n${APPLIED} 1 3\n`;
    expect(readOutcome([s, a, b, c], stdout, "")).toEqual({ applied: [s, a, b, c], notAttempted: [] });
  });

  it("maps 'Command failed -:2' inside an ip -batch to the second line of the batch", () => {
    const stdout = `${FAILED} 0 2 1\n`;
    const stderr = "Error: Invalid argument.\nCommand failed -:2\n";
    expect(readOutcome([a, b, c, w], stdout, stderr)).toEqual({ applied: [a], failed: b, notAttempted: [c, w] });
  });

  it("offsets the failing batch line by the steps before the batch", () => {
    const stdout = `${APPLIED} 0 0\n${FAILED} 1 3 2\n`;
    const stderr = "RTNETLINK answers: File exists\nCommand failed -:3\n";
    expect(readOutcome([s, a, b, c], stdout, stderr)).toEqual({ applied: [s, a, b], failed: c, notAttempted: [] });
  });

  it("treats the first line of a batch as failed when ip does not name the line", () => {
    const stdout = `${FAILED} 0 2 127\n`;
    const stderr = "sh: 1: ip: not found\n";
    expect(readOutcome([a, b, c], stdout, stderr)).toEqual({ applied: [], failed: a, notAttempted: [b, c] });
  });

  it("maps 'Command failed -:1' to the first line with nothing applied", () => {
    const stdout = `${FAILED} 0 2 1\n`;
    expect(readOutcome([a, b, c], stdout, "Command failed -:1\n")).toEqual({ applied: [], failed: a, notAttempted: [b, c] });
  });

  it("ignores an ip-style error line when the failing step is not ip", () => {
    const stdout = `${APPLIED} 0 1\n${FAILED} 2 2 1\n`;
    expect(readOutcome([a, b, s, w], stdout, "Command failed -:2\n")).toEqual({ applied: [a, b], failed: s, notAttempted: [w] });
  });

  it("reports nothing applied and nothing failed when the script never reached a step", () => {
    const stderr = "another mptcp-pulumi operation holds /etc/mptcp-pulumi/.lock on this host\n";
    expect(readOutcome([a, w], "", stderr)).toEqual({ applied: [], notAttempted: [a, w] });
  });

  it("ignores unrelated output lines", () => {
    const stdout = `hello\n${APPLIED} 0 0\nnoise ${APPLIED} 1 1\n`;
    expect(readOutcome([s, w], stdout, "")).toEqual({ applied: [s], notAttempted: [w] });
  });
});

describe("HostError for a change set that failed part-way", () => {
  const a: Operation = { type: "limits", limits: { subflows: 2, addAddrAccepted: 0 } };
  const b: Operation = { type: "endpoint", action: "add", endpoint: { address: "192.168.0.2", dev: "eno2", flags: ["subflow"] } };
  const c: Operation = { type: "file", action: "write", path: "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.batch", content: "x\n" };
  const partial = (host: string, progress: HostError["progress"], cause: unknown) =>
    new HostError({ reason: "partial", host, operation: "Endpoint endpoint/192.168.0.2: 3 change(s)", argv: ["ip", "mptcp", "endpoint", "add"], exitCode: 3, stdout: "out", stderr: "err", progress, cause });
  const error = partial("root@172.31.2.2:22", { applied: [a], failed: b, notAttempted: [c] }, new Error("exit status 2"));

  it("names the host and the failed change", () => {
    expect(error.message).toContain("on root@172.31.2.2:22: failed: ip mptcp endpoint add 192.168.0.2 dev eno2 subflow.");
  });

  it("lists the applied changes", () => {
    expect(error.message).toContain("Applied: ip mptcp limits set subflows 2 add_addr_accepted 0.");
  });

  it("lists the changes not attempted", () => {
    expect(error.message).toContain("Not attempted: write /etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.batch.");
  });

  it("ends with the cause", () => {
    expect(error.message).toMatch(/Cause: exit status 2$/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("keeps what ran, where, and how it ended, and cannot be changed", () => {
    expect(error).toMatchObject({ name: "HostError", reason: "partial", host: "root@172.31.2.2:22", argv: ["ip", "mptcp", "endpoint", "add"], exitCode: 3, stdout: "out", stderr: "err" });
    expect(error.progress?.failed).toBe(b);
    expect(Object.isFrozen(error)).toBe(true);
    expect(() => {
      (error as unknown as { host: string }).host = "elsewhere";
    }).toThrow();
  });

  it("says 'nothing' for empty lists and a generic failure without a failed change", () => {
    const e = partial("h", { applied: [], notAttempted: [a, b] }, "lock timeout");
    expect(e.message).toBe("on h: the change set failed. Applied: nothing. Not attempted: ip mptcp limits set subflows 2 add_addr_accepted 0; ip mptcp endpoint add 192.168.0.2 dev eno2 subflow. Cause: lock timeout");
  });
});
