/**
 * The variation matrix (test/e2e/matrix.ts) measured and printed: for each lab of the systemd
 * tier (a flavor, with or without mptcpd, on Debian 12 or 13), the variation stack's refusals,
 * its `up`, each of the manager's own events and destroy, every cell kept or refused. Writes
 * bench/results/matrix.{md,json}; a failed lab is recorded and the run goes on to the next.
 *
 * Usage: sudo npm run events -- [--labs all|netplan,networkd+mptcpd@trixie,...] [--settle 20] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../scripts/tempProject";
import { labName, MATRIX_LABS, matrixMarkdown, pickLabs, runMatrixLab, type Cell } from "../test/e2e/matrix";
import { tierHarness } from "../test/lab/harness";

function log(message: string): void {
  process.stderr.write(`events: ${message}\n`);
}

function main(): void {
  const { values } = parseArgs({
    options: { labs: { type: "string", default: "all" }, settle: { type: "string", default: "20" }, out: { type: "string", default: "bench/results" } },
  });
  const labs = pickLabs(values.labs);
  const settle = Number(values.settle);
  if (!(settle >= 1 && settle <= 120)) throw new Error(`events: --settle is 1..120 seconds (got '${values.settle}')`);
  if (process.getuid?.() !== 0) throw new Error("events: run as root (the lab needs namespaces and containers)");
  const sd = tierHarness("systemd");
  const started = Date.now();
  const cells: Cell[] = [];
  try {
    for (const [i, l] of labs.entries()) {
      log(`lab ${i + 1}/${labs.length}: ${labName(l)}`);
      try {
        cells.push(...runMatrixLab(sd, l, { settle, log }));
      } catch (error: unknown) {
        cells.push({ lab: labName(l), event: "(the lab)", outcome: { kind: "failed", message: error instanceof Error ? error.message : String(error) } });
      }
    }
  } finally {
    sd.lab("down");
    if (cells.length > 0) {
      const date = new Date().toISOString();
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      const out = resolve(REPO_ROOT, values.out);
      mkdirSync(out, { recursive: true });
      const header = `Measured ${date} in ${minutes} min (\`sudo npm run events -- --labs ${values.labs} --settle ${settle}\`), ${labs.length} of ${MATRIX_LABS.length} labs; events happen on the client (server2).\n\n`;
      writeFileSync(join(out, "matrix.json"), `${JSON.stringify({ date, minutes: Number(minutes), settle, cells }, null, 2)}\n`);
      writeFileSync(join(out, "matrix.md"), header + matrixMarkdown(cells));
      process.stdout.write(header + matrixMarkdown(cells));
    }
  }
  const bad = cells.filter((c) => c.outcome.kind === "lost" || c.outcome.kind === "failed");
  if (bad.length > 0) throw new Error(`events: ${bad.length} cell(s) neither kept nor refused: ${bad.map((c) => `${c.lab} / ${c.event}`).join("; ")}`);
}

if (require.main === module) {
  try {
    main();
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
