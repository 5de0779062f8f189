/**
 * A stack applied from one checkout is refreshed and destroyed from another, after the first is
 * gone: CI's workspace applies, a teammate's clone (or the drift job's runner) refreshes. The
 * state keeps each resource's `__provider` text, which must find the provider from where the
 * engine runs it now, not at the path it was declared from.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/tempProject";
import { freshLab, LAB_DIR, onHost } from "../lab/harness";
import { labHosts, labVerify } from "./project";

const STACK = "checkouts";
const work = mkdtempSync(join(tmpdir(), "mptcp-checkouts-"));
const env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(work, "state")}`, PULUMI_CONFIG_PASSPHRASE: STACK };

/** A checkout of this repository as a user has one: its own compiled dist/, its config, the lab's keys. */
function checkout(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const file of ["package.json", "Pulumi.yaml"]) cpSync(join(REPO_ROOT, file), join(dir, file));
  cpSync(join(REPO_ROOT, "dist"), join(dir, "dist"), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(LAB_DIR, join(dir, ".lab"));
  writeFileSync(join(dir, `Pulumi.${STACK}.yaml`), JSON.stringify({ config: { "mptcp-pulumi:hosts": labHosts(), ...labVerify() } }, null, 2));
  return dir;
}

/** The Pulumi CLI in a checkout (scripts/pulumi.sh finds the engine; -C runs in the checkout). */
function pulumi(dir: string, ...args: string[]) {
  const r = spawnSync("bash", [join(REPO_ROOT, "scripts/pulumi.sh"), "-C", dir, ...args, "--stack", STACK, "--non-interactive"], { encoding: "utf8", env, timeout: 600_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

let second: string;

beforeAll(() => {
  freshLab();
  mkdirSync(join(work, "state"));
  const first = checkout("ci-workspace");
  expect(pulumi(first, "stack", "init").status).toBe(0);
  const up = pulumi(first, "up", "--yes", "--skip-preview");
  expect(up.status, up.output).toBe(0);
  second = checkout("teammate-clone");
  rmSync(first, { recursive: true, force: true });
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a stack applied from a checkout that is gone", () => {
  it("refreshes from another checkout, every resource found in place", () => {
    const r = pulumi(second, "refresh", "--yes", "--skip-preview");
    expect(r.status, r.output).toBe(0);
    expect(r.output).not.toContain("no compiled provider found");
    const clean = pulumi(second, "preview", "--expect-no-changes");
    expect(clean.status, clean.output).toBe(0);
  });

  it("destroys from that checkout, leaving the servers without the stack's objects", () => {
    const r = pulumi(second, "destroy", "--yes", "--skip-preview");
    expect(r.status, r.output).toBe(0);
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
    expect(onHost("server2", "ip", "rule", "show")).not.toContain("lookup 102");
  });
});
