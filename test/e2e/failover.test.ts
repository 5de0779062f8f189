/**
 * Paths by role and failover, with the real CLI on the lab. The client opens its eno2 subflow as
 * a backup (a spare path): the stack goes up and its verification passes; eno1 fails mid-transfer
 * by carrier loss and by silent drop, made from outside the servers, and the backup takes over;
 * a failed path that does not come back, and a backup whose peer link is cut, fail the verdict
 * naming the path. The report opens in a real browser.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FailoverResult } from "../../provider/verify";
import { freshLab, onHost } from "../lab/harness";
import { renderedDom, screenshot } from "../support/browser";
import { TempProject } from "./project";

/** A failover as the stack outputs it (without its samples). */
type Failover = Omit<FailoverResult, "timeline">;
interface Verification {
  ok: boolean;
  paths: Array<{ dev: string; role: string; sharePercent: number; subflows: Record<string, number> }>;
  failover: Failover[];
}

const FAILOVER = { before: 2, during: 3, after: 5, inject: { via: "netns" } };
let project: TempProject;
let dir: string;

/** Rewrites the stack's `mptcp-pulumi:verify` (written back as JSON, which is YAML too). */
function setVerify(verify: Record<string, unknown>): void {
  const doc = load(readFileSync(project.configFile, "utf8")) as { config: Record<string, unknown> };
  doc.config["mptcp-pulumi:verify"] = verify;
  writeFileSync(project.configFile, JSON.stringify(doc, null, 2));
}

beforeAll(() => {
  freshLab();
  dir = mkdtempSync(join(tmpdir(), "mptcp-failover-"));
  project = new TempProject(
    "failover",
    (hosts) => {
      hosts[1]!["endpoints"][0].flags = ["subflow", "backup"];
    },
    { seconds: 2, failover: FAILOVER },
  );
});

afterAll(() => {
  for (const dev of ["eno1", "eno2"]) onHost("server1", "ip", "link", "set", "dev", dev, "up");
  project?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a backup path and failover", () => {
  it("1. a stack with a backup path goes up: eno1 carries the traffic, eno2 joined as a backup on both ends and takes over when eno1 fails", () => {
    project.ok("up", "--yes", "--skip-preview");
    const outputs = JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { verification: Verification }> };
    const v = outputs.hosts["server2"]!.verification;
    expect(v.ok).toBe(true);
    const [eno1, eno2] = v.paths;
    expect(eno1).toMatchObject({ dev: "eno1", role: "active" });
    expect(eno1!.sharePercent).toBeGreaterThan(98);
    expect(eno2).toMatchObject({ dev: "eno2", role: "backup" });
    expect(eno2!.subflows["clientBackup"]).toBeGreaterThan(0);
    expect(eno2!.subflows["serverBackup"]).toBeGreaterThan(0);
    expect(v.failover.map((f) => f.kind)).toEqual(["carrier", "drop"]);
    for (const f of v.failover) {
      expect(f, f.kind).toMatchObject({ path: "eno1", tookOver: ["eno2"], recovered: true, ok: true });
      // The backup only starts once eno1 is found dead: a real stall, shorter than the outage.
      expect(f.stallSeconds, f.kind).toBeGreaterThan(0);
      expect(f.stallSeconds, f.kind).toBeLessThan(FAILOVER.during);
      // The transfer moves before, during (on eno2) and after; the figures are the bench's job.
      expect(f.beforeMbps, f.kind).toBeGreaterThan(50);
      expect(f.duringMbps, f.kind).toBeGreaterThan(50);
      expect(f.afterMbps, f.kind).toBeGreaterThan(50);
    }
    // What the lab did to the link is undone: the server's eno1 is up, with its policy route.
    expect(onHost("server1", "ip", "route", "show", "table", "101").trim()).toBe("10.0.0.0/24 dev eno1 scope link");
    expect(onHost("server1", "nft", "list", "tables").trim()).toBe("");
  });

  it("2. npm run verify --failover --report writes a page that a real browser renders: the timelines beside the summary", () => {
    const file = join(dir, "report.html");
    const r = project.verify(2, "--failover", "--failover-kinds", "drop", "--report", file);
    expect(r.status, r.stderr).toBe(0);
    const data = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { results: Array<{ failover: Failover[]; timelines: Array<{ samples: unknown[] }> }> };
    // Sampled about ten times a second during every transfer (TCP, MPTCP, failover).
    expect(data.results[0]!.timelines.map((t) => t.samples.length >= 15)).toEqual([true, true, true]);
    expect(data.results[0]!.failover[0]).toMatchObject({ kind: "drop", tookOver: ["eno2"], recovered: true });
    const dom = renderedDom(`file://${file}`);
    expect(dom.match(/<svg /g)).toHaveLength(2);
    expect(dom).toContain("packets dropped on eno1");
    expect(dom).toContain("OK: every path works in its role");
    const png = join(dir, "report.png");
    expect(screenshot(`file://${file}`, png)).toEqual({ width: 1400, height: 1100 });
    expect(statSync(png).size).toBeGreaterThan(30_000);
  });

  it("3. when the failed path does not come back, the verdict says so", () => {
    // The stack's own failure commands, run on the server over SSH: eno1 goes down and the
    // "restore" leaves it down, as a link that never returns would.
    setVerify({ seconds: 2, failover: { ...FAILOVER, kinds: ["carrier"], inject: { via: "ssh", host: "server", carrier: { fail: ["ip", "link", "set", "dev", "eno1", "down"], restore: ["true"] } } } });
    const r = project.verify(2, "--failover");
    expect(r.status, r.stderr).toBe(1);
    expect(r.results[0]!.problems.join("\n")).toMatch(/^carrier on eno1: the path carried no traffic in the [\d.]+ s after the link returned/m);
    // Back to the stack's own failover (nothing to measure again), and the lost route repaired.
    onHost("server1", "ip", "link", "set", "dev", "eno1", "up");
    setVerify({ seconds: 2, failover: FAILOVER });
    project.ok("up", "--yes", "--refresh", "--skip-preview");
    expect(onHost("server1", "ip", "route", "show", "table", "101").trim()).toBe("10.0.0.0/24 dev eno1 scope link");
  });

  it("4. cutting the backup's peer link before the measurement fails the verification, naming the path", () => {
    onHost("server1", "ip", "link", "set", "dev", "eno2", "down");
    setVerify({ seconds: 3 });
    const r = project.pulumi("up", "--yes", "--skip-preview");
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("backup path eno2: no backup subflow on the client");
  });
});
