/**
 * The GitOps workflow (.github/workflows/mptcp.yml), read as data: what triggers it, which job
 * runs on which event, what each job runs, where the SSH key comes from, and what it may touch.
 */
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Job {
  if?: string;
  "runs-on": string;
  environment?: string | { name: string };
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const FILE = join(__dirname, "../../.github/workflows/mptcp.yml");
const text = readFileSync(FILE, "utf8");
const workflow = load(text) as Workflow;
const job = (name: string): Job => {
  const found = workflow.jobs[name];
  if (!found) throw new Error(`no job ${name}`);
  return found;
};
const pulumiAction = (name: string, command: string): Step => {
  const step = job(name).steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.["command"] === command);
  if (!step) throw new Error(`job ${name} has no pulumi/actions step with command ${command}`);
  return step;
};
const runs = (name: string) => job(name).steps.map((s) => s.run ?? "").join("\n");

describe("the GitOps workflow", () => {
  it("runs on pull requests, pushes to main, a schedule and by hand", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push", "schedule", "workflow_dispatch"]);
    expect((workflow.on["push"] as { branches: string[] }).branches).toEqual(["main"]);
    const [schedule] = workflow.on["schedule"] as Array<{ cron: string }>;
    expect(schedule!.cron.split(" ")).toHaveLength(5);
  });

  it("has a job per event: preview on PRs, up on main, drift on the schedule or by hand", () => {
    expect(Object.keys(workflow.jobs).sort()).toEqual(["drift", "preview", "up"]);
    expect(job("preview").if).toContain("github.event_name == 'pull_request'");
    expect(job("up").if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(job("drift").if).toBe("github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'");
  });

  it("previews from PRs of this repository only: a fork's code must not run with the SSH key", () => {
    expect(job("preview").if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  });

  it("builds like a developer does: the Node of .nvmrc, npm ci, npm run build", () => {
    for (const name of ["preview", "up", "drift"]) {
      const steps = job(name).steps;
      expect(steps[0]!.uses).toMatch(/^actions\/checkout@v\d+$/);
      expect(steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.["node-version-file"]).toBe(".nvmrc");
      const commands = steps.map((s) => s.run).filter(Boolean);
      expect(commands.indexOf("npm ci")).toBeLessThan(commands.indexOf("npm run build"));
      expect(commands.indexOf("npm ci")).toBeGreaterThanOrEqual(0);
    }
  });

  it("previews with the official action, a diff and a PR comment, on the stack the repository names", () => {
    const step = pulumiAction("preview", "preview");
    expect(step.uses).toMatch(/^pulumi\/actions@v\d+$/);
    expect(step.with).toMatchObject({ "comment-on-pr": true, diff: true, "stack-name": "${{ env.STACK }}" });
    expect(workflow.env?.["STACK"]).toContain("vars.PULUMI_STACK");
  });

  it("applies with the official action, refreshing first, in the production environment", () => {
    const step = pulumiAction("up", "up");
    expect(step.uses).toMatch(/^pulumi\/actions@v\d+$/);
    expect(step.with).toMatchObject({ "stack-name": "${{ env.STACK }}", refresh: true });
    expect(job("up").environment).toBe("production");
  });

  it("never runs two applies of a stack at once, nor cancels one that runs", () => {
    const concurrency = job("up").concurrency!;
    expect(concurrency.group).toContain("vars.PULUMI_STACK");
    expect(concurrency["cancel-in-progress"]).toBe(false);
    // A queued drift run would cancel a waiting apply if they shared a group.
    expect(job("drift").concurrency?.group).not.toBe(concurrency.group);
  });

  it("checks drift with npm run drift, keeps the report, and fails on drift", () => {
    const drift = job("drift").steps;
    const check = drift.find((s) => s.run?.includes("npm run drift -- --stack"));
    expect(check?.run).toContain("--report drift-report.json");
    expect(check?.run).toMatch(/exit "\$status"/);
    const upload = drift.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(upload?.if).toBe("always()");
    expect(upload?.with?.["path"]).toBe("drift-report.json");
    expect(drift.indexOf(upload!)).toBeGreaterThan(drift.indexOf(check!));
  });

  it("pins the CLI to the npm SDK's version, which scripts/engine.sh and engine/go.mod use too", () => {
    const read = (path: string) => readFileSync(join(__dirname, "../..", path), "utf8");
    const sdk = (JSON.parse(read("package.json")) as { devDependencies: Record<string, string> }).devDependencies["@pulumi/pulumi"];
    expect(workflow.env?.["PULUMI_VERSION"]).toBe(sdk);
    expect(read("engine/go.mod")).toMatch(new RegExp(`github\\.com/pulumi/pulumi/pkg/v3 v${sdk!.replace(/\./g, "\\.")}\\b`));
    expect(read("scripts/engine.sh")).toContain("package.json");
  });

  it("takes the SSH key from a secret, into the privateKey secret config, through stdin", () => {
    expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    for (const name of ["preview", "up", "drift"]) {
      const step = job(name).steps.find((s) => s.env?.["MPTCP_SSH_PRIVATE_KEY"]);
      expect(step?.env?.["MPTCP_SSH_PRIVATE_KEY"]).toBe("${{ secrets.MPTCP_SSH_PRIVATE_KEY }}");
      expect(step?.run).toMatch(/\| pulumi config set --secret privateKey --stack "\$STACK"/);
      expect(step?.run).toContain("~/.ssh/known_hosts");
      // Before the step that runs the program.
      const program = job(name).steps.findIndex((s) => s.with?.["command"] || s.run?.includes("npm run drift"));
      expect(job(name).steps.indexOf(step!)).toBeLessThan(program);
    }
  });

  it("gives the backend's credentials from secrets, never literally", () => {
    expect(workflow.env?.["PULUMI_ACCESS_TOKEN"]).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
    expect(workflow.env?.["PULUMI_CONFIG_PASSPHRASE"]).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    expect(workflow.env?.["PULUMI_BACKEND_URL"]).toContain("vars.PULUMI_BACKEND_URL");
  });

  it("runs only npm scripts the repository has, in shell that parses", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as { scripts: Record<string, string> };
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps.filter((s) => s.run !== undefined));
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      for (const [, script] of step.run!.matchAll(/npm run ([a-z:-]+)/g)) expect(Object.keys(pkg.scripts), `${step.name}: npm run ${script}`).toContain(script);
      // GitHub runs each step with bash -e; ${{ }} expressions are filled in before.
      const r = spawnSync("bash", ["-n"], { input: step.run!.replace(/\$\{\{[^}]*\}\}/g, "x"), encoding: "utf8" });
      expect(r.status, `${step.name}: ${r.stderr}`).toBe(0);
    }
  });

  it("reads the repository and nothing more; only preview may write, and only PR comments", () => {
    expect(workflow.permissions).toEqual({ contents: "read" });
    expect(job("preview").permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job("up").permissions).toBeUndefined();
    expect(job("drift").permissions).toBeUndefined();
  });
});
