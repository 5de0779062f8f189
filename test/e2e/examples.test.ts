/**
 * Issue 13, the examples as a user runs them: each examples/ project copied out of the checkout,
 * its dependencies installed with npm (this package from its `npm pack` tarball, as a registry
 * would give it), then up through the real CLI on the lab with the verification, a clean
 * preview, and destroy back to the servers' state. The state and passphrase are lab-only
 * (a file backend in the temporary project).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "../../scripts/tempProject";
import { freshLab, LAB_DIR, lab, ROOT } from "../lab/harness";
import { snapshot } from "./project";

const packed = mkdtempSync(join(tmpdir(), "mptcp-examples-"));
let tarball: string;

beforeAll(() => {
  // `npm pack` runs `prepack` (the declaration build), as a publish would.
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", packed], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  tarball = join(packed, (JSON.parse(out.slice(out.indexOf("["))) as Array<{ filename: string }>)[0]!.filename);
}, 120_000);

afterAll(() => {
  rmSync(packed, { recursive: true, force: true });
  // Leave the lab as the other tests expect it: one pair, two links.
  freshLab();
});

interface Verification {
  ok: boolean;
  paths: Array<{ dev: string; role: string; sharePercent: number }>;
}

/** Declares the lifecycle of one example on a lab brought up with `labArgs`. */
function describeExample(name: string, labArgs: string[], roles: string[]): void {
  describe(`examples/${name}`, () => {
    let project: TempProject;
    const before: Record<string, string> = {};

    beforeAll(() => {
      lab("down");
      lab("up", ...labArgs);
      for (const s of ["server1", "server2"]) before[s] = snapshot(s);
      project = new TempProject(name, { [`mptcp-${name}:keyDir`]: LAB_DIR }, {}, join(ROOT, "examples", name));
      const pkg = JSON.parse(readFileSync(join(project.dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
      pkg.dependencies["mptcp-pulumi"] = `file:${tarball}`;
      writeFileSync(join(project.dir, "package.json"), JSON.stringify(pkg, null, 2));
      const install = project.run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"], undefined, project.dir);
      expect(install.status, install.stderr).toBe(0);
    }, 300_000);

    afterAll(() => project?.remove());

    it("up configures the servers, and the verification proves every path in its role", () => {
      project.ok("up", "--yes", "--skip-preview");
      const outputs = JSON.parse(project.ok("stack", "output", "--json")) as { verification: Verification };
      expect(outputs.verification.ok).toBe(true);
      expect(outputs.verification.paths.map((p) => `${p.dev} ${p.role}`)).toEqual(roles);
    });

    it("a second preview expects no changes", () => {
      project.ok("preview", "--expect-no-changes");
    });

    it("destroy returns both servers to the state they had before", () => {
      project.ok("destroy", "--yes", "--skip-preview");
      for (const s of ["server1", "server2"]) expect(snapshot(s)).toBe(before[s]);
    });
  });
}

describeExample("basic", [], ["eno1 active", "eno2 active"]);
describeExample("three-links-backup", ["--links", "3"], ["eno1 active", "eno2 active", "eno3 backup"]);
