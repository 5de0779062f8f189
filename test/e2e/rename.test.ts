/**
 * A host renamed in the stack's YAML without aliases, with the real CLI on the lab: every
 * resource of the host gets a new URN whose create adopts the existing objects, and the old
 * URNs are deleted. The preview (with refresh) warns, naming the object and the old resource;
 * up leaves every object on the host (the old URNs' deletes see that a live resource took it).
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshLab, onHost } from "../lab/harness";
import { labHosts, labVerify, snapshot, TempProject } from "./project";

const STACK = "e2erename";
let project: TempProject;
let before: string;

beforeAll(() => {
  freshLab();
  project = new TempProject(STACK);
  project.ok("up", "--yes", "--skip-preview");
  before = snapshot("server1");
  const renamed = labHosts((hosts) => (hosts[0]!.name = "alpha"));
  writeFileSync(project.configFile, JSON.stringify({ config: { "mptcp-pulumi:hosts": renamed, ...labVerify() } }, null, 2));
});

afterAll(() => project?.remove());

describe("a host renamed without aliases", () => {
  it("1. preview --refresh warns before deleting what the new URNs adopt, naming object and old resource", () => {
    const r = project.pulumi("preview", "--refresh");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\+ .*alpha-endpoint-192\.168\.0\.1 create/);
    expect(r.stdout).toMatch(/- .*server1-endpoint-192\.168\.0\.1 delete/);
    expect(r.stdout).toMatch(/warning: a new resource declares Endpoint endpoint\/192\.168\.0\.1 on \d+\.\d+\.\d+\.\d+:22, which the stack's resource root@\d+\.\d+\.\d+\.\d+:22\/endpoint\/192\.168\.0\.1 already manages/);
  });

  it("2. up deletes the old URNs but leaves every object on the host, with a warning per object", () => {
    const out = project.ok("up", "--yes", "--skip-preview");
    expect(out).toMatch(/not removing Endpoint endpoint\/192\.168\.0\.1 on \d+\.\d+\.\d+\.\d+:22: a new resource of this stack took it over/);
    expect(snapshot("server1")).toBe(before);
  });

  it("3. the state now matches the host, and destroy removes everything", () => {
    const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    project.ok("destroy", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
  });
});
