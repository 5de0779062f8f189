/**
 * `npm run drift` on the lab with the real CLI (file backend in a temporary directory): exit 0
 * right after up, exit 1 naming the resource after a change made by hand on a server, the same
 * verdict as JSON, exit 2 when the check cannot run, and nothing changed on a host by checking.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftPlan } from "../../scripts/drift";
import { freshLab, onHost, ROOT } from "../lab/harness";
import { TempProject } from "./project";

const STACK = "e2edrift";
let project: TempProject;
let work: string;
let configFile: string;

const pulumi = (...args: string[]) => project.pulumi(...args);
const ok = (...args: string[]) => project.ok(...args);

/** Runs the compiled drift check (what `npm run drift` runs) against the temporary project. */
function drift(...args: string[]): { status: number; stdout: string; stderr: string } {
  return project.run(["node", join(ROOT, "dist/scripts/drift.js"), "--stack", STACK, "--config-file", configFile, "--cwd", work, ...args]);
}

beforeAll(() => {
  freshLab();
  project = new TempProject(STACK);
  work = project.dir;
  configFile = project.configFile;
  ok("up", "--yes", "--skip-preview");
});

afterAll(() => project?.remove());

describe("npm run drift on the lab", () => {
  it("1. right after up: exit 0, one line, every resource matching", () => {
    // 8 per server (its Preflight too) and the pair's verification.
    const r = drift();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("no drift: 17 resources match\n");
    const plan = JSON.parse(drift("--json").stdout) as DriftPlan;
    expect(plan).toMatchObject({ drifted: false, resources: [], matching: 17 });
  });

  it("1b. a flag and a sysctl changed by hand: the CLI's own preview --refresh --diff names each property", () => {
    onHost("server1", "ip", "mptcp", "endpoint", "change", "id", "1", "backup");
    onHost("server1", "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 4194304");
    const r = pulumi("preview", "--refresh", "--diff", "--non-interactive");
    expect(r.status, r.stderr).toBe(0);
    // read() returns the host's state as inputs, so the CLI diffs them against the program's.
    const endpoint = r.stdout.slice(r.stdout.indexOf("~ pulumi-nodejs:dynamic/mptcp:Endpoint: (update)"));
    expect(endpoint).toMatch(/~ flags\s*: \[[\s\S]*"backup"/);
    expect(r.stdout).toMatch(/~ values\s*: \{[\s\S]*~ net\.ipv4\.tcp_wmem\s*: "4096 16384 4194304" => "4096 131072 33554432"/);
    onHost("server1", "ip", "mptcp", "endpoint", "change", "id", "1", "nobackup");
  });

  it("2. an endpoint flushed by hand: exit 1, the endpoint named, the other server untouched", () => {
    onHost("server1", "ip", "mptcp", "endpoint", "flush");
    const r = drift();
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^drift: \d+ resources? differs? from the stack/);
    expect(r.stdout).toContain("server1-endpoint-192.168.0.1 (mptcp:Endpoint) create: missing on the host");
    expect(r.stdout).not.toContain("server2-");
  });

  it("3. --json: the same verdict as data", () => {
    const r = drift("--json");
    expect(r.status, r.stderr).toBe(1);
    const plan = JSON.parse(r.stdout) as DriftPlan;
    expect(plan.drifted).toBe(true);
    expect(plan.resources).toContainEqual(expect.objectContaining({ name: "server1-endpoint-192.168.0.1", type: "pulumi-nodejs:dynamic/mptcp:Endpoint", op: "create" }));
    expect(plan.changeSummary["create"]).toBeGreaterThanOrEqual(1);
  });

  it("4. checking changed nothing: the endpoint is still gone", () => {
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
  });

  it("5. exit 2, with pulumi's reason, when the check cannot run", () => {
    const r = project.run(["node", join(ROOT, "dist/scripts/drift.js"), "--stack", "no-such-stack", "--cwd", work]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("pulumi preview failed");
    expect(r.stderr).toContain("no-such-stack");
  });

  it("6. up --refresh puts the endpoint back, and the check is clean again", () => {
    ok("up", "--yes", "--refresh", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    const r = drift();
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("7. destroy", () => {
    ok("destroy", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
  });
});
