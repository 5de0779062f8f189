/**
 * Issue 13, failing fast: a refused configuration reaches the user even when the program's heap
 * is small. Before errors were flattened, @pulumi/pulumi's handler spent ~15 s and ~3.4 GB in
 * coloured util.inspect, and under a 256 MB heap the program died without showing the reason.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TempProject } from "./project";

describe("a refused configuration", () => {
  const projects: TempProject[] = [];
  afterAll(() => projects.forEach((p) => p.remove()));

  it("is reported in a 256 MB heap, with the field and the reason", () => {
    const project = new TempProject("failfast", (hosts) => {
      hosts[1]!.interfaces[1].name = "eno 2";
    });
    projects.push(project);
    project.env["NODE_OPTIONS"] = "--max-old-space-size=256";
    const r = project.pulumi("preview");
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status).not.toBe(0);
    expect(output).not.toMatch(/heap out of memory/);
    expect(output).toMatch(/mptcp-pulumi:hosts\[1\]\.interfaces\[1\]\.name: interface names cannot contain whitespace/);
  });

  it("and an error thrown by a missing key is reported the same way", () => {
    const project = new TempProject("failfast-missing");
    projects.push(project);
    project.ok("config", "rm", "mptcp-pulumi:hosts");
    project.env["NODE_OPTIONS"] = "--max-old-space-size=256";
    const r = project.pulumi("preview");
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status).not.toBe(0);
    expect(output).not.toMatch(/heap out of memory/);
    expect(output).toMatch(/Missing required configuration variable 'mptcp-pulumi:hosts'/);
  });
});
