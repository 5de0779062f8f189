/** The verification's text report: one row per pair, its paths' round trips and window, then failovers and remedies. */
import type { PairResult } from "./measure";
import { fmtMB } from "./window";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`).join("\n");
}

/** Each path as "eno2 backup 0.0% (subflows 2/2)". */
export function pathSummary(r: PairResult): string {
  return r.paths.map((p) => `${p.dev} ${p.role} ${(p.share * 100).toFixed(1)}% ${(p.bytes / 1e6).toFixed(1)} MB (subflows ${p.subflows.client}/${p.subflows.server})`).join(", ");
}

/** Formats results as a table; failovers, when measured, in a second table. */
export function formatTable(results: readonly PairResult[]): string {
  const rows = [["pair", "TCP Mbit/s", "MPTCP Mbit/s", "ratio", "joins (client synack / server syn,ack)", "paths: role, share, MB sent (subflows client/server)", "result"]];
  for (const r of results) {
    rows.push([
      `${r.client} -> ${r.server}`,
      r.tcpMbps.toFixed(1),
      r.mptcpMbps.toFixed(1),
      `${r.ratio.toFixed(2)}x`,
      `${r.joins.clientSynAckRx} / ${r.joins.serverSynRx},${r.joins.serverAckRx}`,
      pathSummary(r),
      r.ok ? "OK: every path in its role" : `FAIL: ${r.problems.join("; ")}`,
    ]);
  }
  const sections = [table(rows), results.map(windowSummary).join("\n")];
  const remedies = results.filter((r) => r.remedies);
  if (remedies.length) {
    const rr = [["pair", "MPTCP Mbit/s as configured", "best single path Mbit/s", "remedy", "MPTCP Mbit/s with it"]];
    for (const r of remedies) {
      const best = Math.max(...Object.values(r.tcpByPath));
      for (const x of r.remedies!) rr.push([`${r.client} -> ${r.server}`, r.mptcpMbps.toFixed(1), best.toFixed(1), x.label, x.mptcpMbps.toFixed(1)]);
    }
    sections.push(table(rr));
  }
  const failovers = results.flatMap((r) => r.failover.map((f) => ({ r, f })));
  if (failovers.length === 0) return sections.join("\n\n");
  const fo = [["pair", "failure", "stall s", "Mbit/s before / during / after", "took over", "failed path back", "result"]];
  for (const { r, f } of failovers) {
    fo.push([
      `${r.client} -> ${r.server}`,
      `${f.kind} on ${f.path}`,
      f.stallSeconds.toFixed(2),
      `${f.beforeMbps.toFixed(1)} / ${f.duringMbps.toFixed(1)} / ${f.afterMbps.toFixed(1)}`,
      f.tookOver.join(", ") || "none",
      f.recovered ? `yes${f.recoveredAfterSeconds !== null ? ` (${f.recoveredAfterSeconds.toFixed(2)} s)` : ""}` : "NO",
      f.ok ? "OK" : `FAIL: ${f.problems.join("; ")}`,
    ]);
  }
  return [...sections, table(fo)].join("\n\n");
}

/** A pair's paths (round trip, rate, bandwidth-delay product) and its window verdict, two lines. */
export function windowSummary(r: PairResult): string {
  const w = r.window;
  const paths = w.paths.map((p) => `${p.dev} rtt ${p.rttMs === null ? "?" : p.rttMs.toFixed(0)} ms (min ${p.minRttMs === null ? "?" : p.minRttMs.toFixed(0)}), ${p.rateMbps.toFixed(1)} Mbit/s${p.rateFrom === "mptcp" ? " (its MPTCP share)" : ""}, BDP ${fmtMB(p.bdpBytes)}`);
  return `${r.client} -> ${r.server}: ${paths.join("; ")}\n  ${w.verdict}`;
}

/** The sysctls each pair's advice asks for, as lines for a stack's `sysctls` (YAML), with why. */
export function formatAdvice(results: readonly PairResult[]): string {
  return results
    .map((r) => {
      const head = `# ${r.client} -> ${r.server}: ${r.window.verdict}`;
      if (!r.advice) return `${head}\n# nothing to change: the buffers allow twice what the paths need`;
      return [
        head,
        `# ${r.advice.reason}. In both hosts' sysctls (Pulumi.<stack>.yaml), then npm run pulumi -- up:`,
        ...Object.entries(r.advice.sysctls).map(([k, v]) => `${k}: "${v}"`),
        "# Only for applications that size their own buffers (SO_RCVBUF/SO_SNDBUF, iperf3 -w), which",
        "# turns autotuning off and caps them at these (global, not per network namespace):",
        ...Object.entries(r.advice.explicitSockets).map(([k, v]) => `# ${k}: "${v}"`),
      ].join("\n");
    })
    .join("\n\n");
}
