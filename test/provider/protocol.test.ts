/**
 * The remote protocol: change-set programs as the provider sends them, run for real by sh in
 * namespaces of their own (test/support/hostRun.ts), and the typed outcome read from their marker
 * lines and exit codes.
 */
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HostError } from "../../provider/errors";
import type { Operation, Rendered } from "../../provider/operations";
import { applyScript, confirmScript, MARK, parseApplyRun, parseConfirm, parseProbe, readOutcome, readScript, rollbackProgram } from "../../provider/protocol";
import { fixtureText, PROBE_6_1 } from "../support/fixtures";
import { runIsolated, scratch } from "../support/hostRun";

const APPLIED = `${MARK} applied`;
const FAILED = `${MARK} failed`;
const ARMED = `${MARK} armed`;

// The compiler works on what operations render to; these build those forms directly.
const ip = (...args: string[]): Rendered => ({ kind: "ip", args });
const ip6 = (...args: string[]): Rendered => ({ kind: "ip", family: 6, args });
const ip4 = (...args: string[]): Rendered => ({ kind: "ip", family: 4, args });
const sysctl = (key: string, value: string): Rendered => ({ kind: "exec", argv: ["sysctl", "-q", "-w", `${key}=${value}`] });
const writeFile = (path: string, content: string, mode = "0644"): Rendered => ({ kind: "writeFile", path, content, mode });
const removeFile = (path: string): Rendered => ({ kind: "removeFile", path });
const shell = (...argv: string[]): Rendered => ({ kind: "exec", argv });
const OP: Operation = { type: "limits", limits: { subflows: 2, addAddrAccepted: 0 } };

/** The marker lines of a run's stdout (the state sections after them left out). */
const markers = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith(MARK) && !l.startsWith(`${MARK} section`));

describe("a change-set program run for real", () => {
  it("batches consecutive ip lines of one family, reports each step, and ends with the host's new state", () => {
    const r = runIsolated(applyScript([ip("link", "set", "dev", "lo", "up"), ip4("rule", "add", "from", "10.9.0.1", "table", "101"), ip6("rule", "add", "from", "fd00::1", "table", "101"), shell("true")]));
    expect(r.status, r.stderr).toBe(0);
    expect(markers(r.stdout)).toEqual([`${APPLIED} 0 1`, `${APPLIED} 2 2`, `${APPLIED} 3 3`]);
    const state = parseProbe(r.stdout);
    expect(state.rules.filter((x) => x.table === 101)).toEqual([expect.objectContaining({ from: "10.9.0.1" }), expect.objectContaining({ family: 6, from: "fd00::1" })]);
    expect(Object.keys(state.fingerprints).sort()).toEqual(["addrs", "files", "mptcp", "nm", "routes", "rules"]);
  });

  it("writes files with hostile content byte for byte, with their mode, and removes them", () => {
    const tmp = scratch();
    const hostile = "a'b\"c $(reboot) `x` \\ MPTCP_PULUMI_EOF\n\ttab\nno newline at the end";
    const r = runIsolated(
      [applyScript([writeFile(`${tmp.dir}/f`, hostile, "0600"), writeFile(`${tmp.dir}/g`, "x\n"), removeFile(`${tmp.dir}/g`), removeFile(`${tmp.dir}/never`)]), ""].join("\n"),
    );
    expect(r.status, r.stderr).toBe(0);
    const check = runIsolated(`cat ${tmp.dir}/f; stat -c %a ${tmp.dir}/f; ls ${tmp.dir}`);
    expect(check.stdout).toBe(`${hostile}\n600\nf\n`);
    tmp.remove();
  });

  it("passes each argument of a command intact, a value with blanks as one word", () => {
    const tmp = scratch();
    const r = runIsolated(applyScript([shell("sh", "-c", 'printf "%s|" "$@" > "$0"', `${tmp.dir}/args`, "a b", "$(x)", "'q'")]));
    expect(r.status, r.stderr).toBe(0);
    expect(runIsolated(`cat ${tmp.dir}/args`).stdout).toBe("a b|$(x)|'q'|");
    tmp.remove();
  });

  it("stops at the first failing step, reporting its status, and never passes 255 through (that is ssh's own)", () => {
    const r = runIsolated(applyScript([shell("true"), shell("sh", "-c", "exit 255"), shell("true")]));
    expect(r.status).toBe(3);
    expect(markers(r.stdout)).toEqual([`${APPLIED} 0 0`, `${FAILED} 1 1 255`]);
    expect(parseApplyRun([OP, OP, OP], { ...r, exitCode: r.status })).toMatchObject({ kind: "failed", applied: [OP], failed: OP, notAttempted: [OP] });
  });

  it("maps a failing line inside an ip batch to that line", () => {
    const a: Operation = { type: "limits", limits: { subflows: 2, addAddrAccepted: 0 } };
    const b: Operation = { type: "link", dev: "nosuch", up: true };
    const r = runIsolated(applyScript([a, b]));
    expect(parseApplyRun([a, b], { ...r, exitCode: r.status })).toMatchObject({ kind: "failed", applied: [a], failed: b, notAttempted: [] });
  });

  it("applies nothing when the parts of the state it was planned on changed, naming them", () => {
    const read = parseProbe(runIsolated(readScript([], false)).stdout);
    const r = runIsolated(applyScript([shell("true")], { expect: { rules: read.fingerprints.rules!, mptcp: read.fingerprints.mptcp! } }), { setup: "ip rule add from 10.9.0.1 table 101" });
    expect(r.status).toBe(77);
    expect(markers(r.stdout)).toEqual([`${MARK} changed rules`]);
    expect(parseApplyRun([OP], { ...r, exitCode: r.status })).toEqual({ kind: "hostChanged", armed: false, parts: ["rules"], notAttempted: [OP] });
    const same = runIsolated(applyScript([shell("true")], { expect: { rules: read.fingerprints.rules!, mptcp: read.fingerprints.mptcp! } }));
    expect(same.status, same.stderr).toBe(0);
  });

  it("arms the timer before the first step, and a confirm disarms it", () => {
    const r = runIsolated([applyScript([shell("true")], { arming: { token: "t-1", seconds: 30, undo: [OP] } }).replace(/\nexit 0\n$/, "\n"), confirmScript("t-1")].join("\n"));
    expect(markers(r.stdout)).toEqual([ARMED, `${APPLIED} 0 0`, `${MARK} confirmed`]);
    expect(parseConfirm(r.stdout)).toBe(true);
    expect(parseConfirm(`${MARK} expired\n`)).toBe(false);
  });

  it("refuses a token that is not a plain name", () => {
    expect(() => applyScript([OP], { arming: { token: "x; rm -rf /", seconds: 30, undo: [] } })).toThrow(/invalid rollback token/);
  });

  it("refuses an ip change whose word cannot stand in a batch line", () => {
    expect(() => applyScript([ip("link", "set", "dev", "eno1\nlink set lo down", "up")])).toThrow(/refusing ip -batch word/);
  });

  it("with sudo, sends exactly the privileged commands through `sudo -n`, never a shell", () => {
    const tmp = scratch();
    // A stand-in sudo that logs what it was asked and runs it.
    const fake = `mkdir -p ${tmp.dir}/bin && printf '#!/bin/sh\\n[ "$1" = -n ] && [ "$2" = -- ] || exit 1\\nshift 2\\necho "$*" >> ${tmp.dir}/sudo.log\\nexec "$@"\\n' > ${tmp.dir}/bin/sudo && chmod +x ${tmp.dir}/bin/sudo && export PATH=${tmp.dir}/bin:$PATH`;
    const r = runIsolated(applyScript([ip("mptcp", "limits", "set", "subflows", "2"), sysctl("net.mptcp.enabled", "1"), writeFile(`${tmp.dir}/f`, "x\n"), removeFile(`${tmp.dir}/g`)], { sudo: true }), { setup: fake });
    expect(r.status, r.stderr).toBe(0);
    const log = runIsolated(`cat ${tmp.dir}/sudo.log`).stdout.split("\n").filter(Boolean);
    expect(log).toContain("ip -batch -");
    expect(log).toContain("sysctl -q -w net.mptcp.enabled=1");
    expect(log).toContain(`tee ${tmp.dir}/f.mptcp-pulumi-tmp`);
    expect(log).toContain(`mv -f ${tmp.dir}/f.mptcp-pulumi-tmp ${tmp.dir}/f`);
    expect(log.filter((l) => /^(sh|bash|dash)\b/.test(l))).toEqual([]);
    tmp.remove();
  });
});

describe("the rollback program", () => {
  it("runs every undo line even when one fails", () => {
    const tmp = scratch();
    const undo: Operation[] = [
      { type: "link", dev: "nosuch", up: true },
      { type: "file", action: "write", path: `${tmp.dir}/restored`, content: "back\n" },
    ];
    writeFileSync(`${tmp.dir}/t.rollback`, rollbackProgram(undo, false));
    const r = runIsolated(`sh ${tmp.dir}/t.rollback now; cat ${tmp.dir}/restored`);
    expect(r.stdout).toBe("back\n");
    tmp.remove();
  });
});

describe("parseApplyRun", () => {
  it("reads a clean run as applied, with the host's new state from the probe sections", () => {
    const outcome = parseApplyRun([OP], { stdout: `${APPLIED} 0 0\n${fixtureText(PROBE_6_1)}`, stderr: "", exitCode: 0 });
    expect(outcome.kind).toBe("applied");
    expect(outcome.kind === "applied" && outcome.state.facts.iproute2Version).toBe("6.1.0");
    expect(outcome.armed).toBe(false);
  });

  it.each([
    [75, "lockBusy"],
    [76, "rollbackPending"],
    [4, "armFailed"],
    [255, "connectionLost"],
    [null, "connectionLost"],
    [5, "error"],
    [1, "error"],
  ] as const)("reads exit %s before any step as %s, with nothing attempted", (exitCode, kind) => {
    expect(parseApplyRun([OP], { stdout: "", stderr: "", exitCode })).toEqual({ kind, armed: false, notAttempted: [OP] });
  });

  it("says the timer was armed when the connection broke after arming", () => {
    expect(parseApplyRun([OP], { stdout: `${ARMED}\n`, stderr: "", exitCode: 255 })).toMatchObject({ kind: "connectionLost", armed: true });
  });
});

describe("readScript", () => {
  it("reads without taking the lock or needing privilege", () => {
    const r = runIsolated(readScript(["vm.swappiness"], false));
    expect(r.status, r.stderr).toBe(0);
    const state = parseProbe(r.stdout);
    expect(state.sysctls["vm.swappiness"]).toMatch(/^\d+$/);
    expect(runIsolated("ls /run").stdout).toBe("");
  });
});

describe("readOutcome", () => {
  const a = ip("mptcp", "limits", "set", "subflows", "2");
  const b = ip("mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow");
  const c = ip("rule", "add", "from", "192.168.0.2", "table", "102");
  const w = writeFile("/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part", "x\n");
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
  const c: Operation = { type: "file", action: "write", path: "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part", content: "x\n" };
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
    expect(error.message).toContain("Not attempted: write /etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part.");
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
