/**
 * Benchmark: what a refused configuration costs against a valid one. Both previews run side by
 * side in one run (alternating), on a throwaway project that touches no host: wall time and the
 * peak resident memory of the largest process (GNU time's %M), medians of --runs.
 *
 * Usage: npm run bench:refused -- [--runs 5] [--out bench/results]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "../provider/verify";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";

/** One kind of preview's measurements. */
export interface PreviewCost {
  seconds: number[];
  peakMiB: number[];
  medianSeconds: number;
  medianPeakMiB: number;
}

// js-yaml arrives with @pulumi/pulumi and ships no types of its own.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { load } = require("js-yaml") as { load(text: string): unknown };

/** The lab stack's hosts, with a key and known_hosts of their own so no lab is needed. */
function hostsWith(keyDir: string, edit: (hosts: Array<Record<string, any>>) => void): unknown {
  const doc = load(readFileSync(join(REPO_ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
  const hosts = structuredClone(doc.config["mptcp-pulumi:hosts"]) as Array<Record<string, any>>;
  for (const host of hosts) Object.assign(host["connection"], { privateKeyPath: join(keyDir, "id"), knownHostsPath: join(keyDir, "known_hosts") });
  edit(hosts);
  return hosts;
}

/** Runs one preview under GNU time; returns seconds and peak MiB. */
function measure(project: TempProject): { seconds: number; peakMiB: number; status: number } {
  const r = project.run(["/usr/bin/time", "-f", "@@time %e %M", "bash", join(REPO_ROOT, "scripts/pulumi.sh"), "-C", project.dir, "preview", "--stack", project.stack, "--non-interactive"]);
  const match = /@@time ([\d.]+) (\d+)/.exec(r.stderr);
  if (!match) throw new Error(`no timing in the output:\n${r.stderr.slice(-2000)}`);
  return { seconds: Number(match[1]), peakMiB: Number(match[2]) / 1024, status: r.status };
}

function summary(runs: Array<{ seconds: number; peakMiB: number }>): PreviewCost {
  const seconds = runs.map((r) => r.seconds);
  const peakMiB = runs.map((r) => Math.round(r.peakMiB));
  return { seconds, peakMiB, medianSeconds: median(seconds), medianPeakMiB: median(peakMiB) };
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, out: { type: "string", default: join(REPO_ROOT, "bench/results") } } });
  const runs = Number(values.runs);
  const keyDir = mkdtempSync(join(tmpdir(), "mptcp-bench-keys-"));
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(keyDir, "id")]);
  writeFileSync(join(keyDir, "known_hosts"), "");
  const valid = new TempProject("valid", { "mptcp-pulumi:hosts": hostsWith(keyDir, () => undefined) });
  const refused = new TempProject("refused", { "mptcp-pulumi:hosts": hostsWith(keyDir, (h) => (h[1]!["interfaces"][1].name = "eno 2")) });
  try {
    const results = { valid: [] as ReturnType<typeof measure>[], refused: [] as ReturnType<typeof measure>[] };
    for (let i = 0; i < runs; i++) {
      for (const [name, project] of [["valid", valid], ["refused", refused]] as const) {
        const r = measure(project);
        if ((r.status === 0) !== (name === "valid")) throw new Error(`the ${name} preview exited ${r.status}`);
        results[name].push(r);
        process.stderr.write(`bench: ${name} preview ${i + 1}/${runs}: ${r.seconds.toFixed(2)} s, ${Math.round(r.peakMiB)} MiB\n`);
      }
    }
    const report = { measuredAt: new Date().toISOString(), node: process.version, valid: summary(results.valid), refused: summary(results.refused) };
    const ratio = report.refused.medianSeconds / report.valid.medianSeconds;
    const text = [
      `Measured ${report.measuredAt} on Node ${report.node}; medians of ${runs} runs, alternating.`,
      "",
      "| preview | median s | runs (s) | median peak MiB | runs (MiB) |",
      "| --- | --- | --- | --- | --- |",
      ...(["valid", "refused"] as const).map((k) => `| ${k} | ${report[k].medianSeconds.toFixed(2)} | ${report[k].seconds.join(", ")} | ${report[k].medianPeakMiB} | ${report[k].peakMiB.join(", ")} |`),
      "",
      `Refused vs valid: ${ratio.toFixed(2)}x the time (target: at most 1.5x), ${report.refused.medianPeakMiB} MiB peak (target: under 300 MB).`,
      "",
    ].join("\n");
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, "refused.json"), `${JSON.stringify({ ...report, ratio }, null, 2)}\n`);
    writeFileSync(join(values.out, "refused.md"), text);
    process.stdout.write(text);
  } finally {
    valid.remove();
    refused.remove();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

main();
