/** The verification's text report: one row per pair, then one row per failover. */
import type { PairResult } from "./measure";

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
  const failovers = results.flatMap((r) => r.failover.map((f) => ({ r, f })));
  if (failovers.length === 0) return table(rows);
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
  return `${table(rows)}\n\n${table(fo)}`;
}
