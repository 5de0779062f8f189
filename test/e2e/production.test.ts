/**
 * Issue 13, production defaults: following the README's "Configuring real servers" steps for a
 * stack other than `lab` uses the user's own login and passphrase. Nothing of the lab's
 * conveniences (file backend in the checkout, the published passphrase) applies.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { LAB_DIR, ROOT } from "../lab/harness";
import { labHosts } from "./project";

const home = mkdtempSync(join(tmpdir(), "mptcp-user-"));
const project = join(home, "project");
const backend = join(home, "their-backend");
mkdirSync(project);
mkdirSync(backend);
for (const name of ["node_modules", "dist", "package.json"]) symlinkSync(join(ROOT, name), join(project, name));
symlinkSync(LAB_DIR, join(project, ".lab"));
cpSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));

/** `npm run pulumi -- ARGS` as the user runs it: their HOME, no backend or passphrase preset. */
function pulumi(args: string[], extra: NodeJS.ProcessEnv = {}, input?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
  for (const key of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_HOME", "PULUMI_ACCESS_TOKEN"]) {
    if (!(key in extra)) delete env[key];
  }
  const r = spawnSync("bash", [join(ROOT, "scripts/pulumi.sh"), "-C", project, ...args, "--non-interactive"], { env, input, encoding: "utf8", timeout: 300_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

const own = { PULUMI_CONFIG_PASSPHRASE: "their own passphrase" };

describe("the README's path for real servers", () => {
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("refuses to make a stack with no passphrase rather than use the lab's", () => {
    expect(pulumi(["login", `file://${backend}`]).status).toBe(0);
    const r = pulumi(["stack", "init", "prod"]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/passphrase/i);
  });

  it("keeps the stack in the user's backend, its secret under the user's passphrase", () => {
    expect(pulumi(["stack", "init", "prod"], own).status).toBe(0);
    writeFileSync(join(project, "Pulumi.prod.yaml"), `${readFileSync(join(project, "Pulumi.prod.yaml"), "utf8")}config:\n  mptcp-pulumi:hosts: ${JSON.stringify(labHosts())}\n`);
    const key = readFileSync(join(LAB_DIR, "id_ed25519"), "utf8");
    const set = pulumi(["config", "set", "--secret", "privateKey", "--stack", "prod"], own, key);
    expect(set.status, set.output).toBe(0);
    const preview = pulumi(["preview", "--stack", "prod"], own);
    expect(preview.status, preview.output).toBe(0);

    expect(readdirSync(join(backend, ".pulumi", "stacks", "mptcp-pulumi"))).toContain("prod.json");
    expect(existsSync(join(ROOT, ".pulumi-state", ".pulumi", "stacks", "mptcp-pulumi", "prod.json"))).toBe(false);
    expect(readFileSync(join(project, "Pulumi.prod.yaml"), "utf8")).not.toContain("PRIVATE KEY");
    const withLabPassphrase = pulumi(["config", "get", "privateKey", "--stack", "prod"], { PULUMI_CONFIG_PASSPHRASE: "mptcp-lab" });
    expect(withLabPassphrase.status).not.toBe(0);
    expect(withLabPassphrase.output).toMatch(/incorrect passphrase/i);
    expect(pulumi(["config", "get", "privateKey", "--stack", "prod"], own).output).toContain("PRIVATE KEY");
  });
});
