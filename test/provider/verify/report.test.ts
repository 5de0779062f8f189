import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PairResult } from "../../../provider/verify/measure";
import { dataPathOf, reportHtml, timelineSvg, writeReport } from "../../../provider/verify/report";
import { formatTable } from "../../../provider/verify/table";
import type { Timeline } from "../../../provider/verify/timeline";
import type { HostBuffers } from "../../../provider/verify/window";

const BUFFERS: HostBuffers = { kernel: "6.18.44", tcpRmem: [4096, 131072, 33554432], tcpWmem: [4096, 131072, 33554432], rmemMax: 212992, wmemMax: 212992, advWinScale: 1, availableSchedulers: ["default"] };

function timeline(label: string): Timeline {
  const samples = Array.from({ length: 31 }, (_, i) => ({ t: i / 10, bytes: { eno1: i * 2.5e6, eno2: i < 15 ? 0 : (i - 15) * 2.4e6 }, subflows: { eno1: 2, eno2: 2 } }));
  return { label, startEpochMs: 0, samples, events: [{ t: 1.5, label: "carrier lost on eno1" }, { t: 2.5, label: "eno1 restored" }] };
}

const result: PairResult = {
  server: "server1",
  client: "server2",
  target: "10.0.0.1",
  tcpMbps: 191.3,
  mptcpMbps: 190.2,
  ratio: 0.99,
  joins: { clientSynAckRx: 4, serverSynRx: 4, serverAckRx: 4, mpCapable: 2 },
  linkBytes: { eno1: 75e6, eno2: 2000 },
  paths: [
    { dev: "eno1", role: "active", bytes: 75e6, share: 0.99997, subflows: { client: 2, server: 2, clientBackup: 0, serverBackup: 0 } },
    { dev: "eno2", role: "backup", bytes: 2000, share: 0.00003, subflows: { client: 2, server: 2, clientBackup: 2, serverBackup: 2 } },
  ],
  timelines: [timeline("TCP, run 1"), timeline("MPTCP, run 1")],
  failover: [
    { kind: "carrier", path: "eno1", failedAt: 1.5, restoredAt: 2.5, stallSeconds: 0.6, beforeMbps: 200, duringMbps: 150, afterMbps: 200, tookOver: ["eno2"], recovered: true, recoveredAfterSeconds: 0.1, subflowsAtEnd: 2, problems: [], ok: true, timeline: timeline("failover: carrier on eno1") },
  ],
  tcpByPath: { eno1: 191.3 },
  buffers: { server: BUFFERS, client: BUFFERS },
  window: {
    paths: [
      { dev: "eno1", rttMs: 1.2, minRttMs: 0.1, rateMbps: 191.3, rateFrom: "tcp", bdpBytes: 2391 },
      { dev: "eno2", rttMs: 1.4, minRttMs: 0.1, rateMbps: 0.01, rateFrom: "mptcp", bdpBytes: 0 },
    ],
    needBytes: 2391,
    receiveWindowBytes: 16_777_216,
    receiveRule: "tcp_adv_win_scale 1 leaves half of it as window",
    sendLimitBytes: 33_554_432,
    allowedBytes: 16_777_216,
    limitedBy: "tcp_rmem",
    advertisedWindowBytes: 2_000_000,
    inFlightBytes: 30_000,
    fill: 0.015,
    windowLimited: false,
    verdict: "not window-limited: the 2 paths need at least 0.0 MB in flight",
  },
  ok: true,
  problems: [],
};

describe("reports", () => {
  it("prints the paths by role, and the failovers in a second table", () => {
    const text = formatTable([result]);
    expect(text).toContain("eno2 backup 0.0% 0.0 MB (subflows 2/2)");
    expect(text).toContain("OK: every path in its role");
    expect(text).toContain("server2 -> server1: eno1 rtt 1 ms (min 0), 191.3 Mbit/s, BDP 0.0 MB; eno2 rtt 1 ms (min 0), 0.0 Mbit/s (its MPTCP share), BDP 0.0 MB\n  not window-limited");
    expect(text).toMatch(/\| server2 -> server1 \| carrier on eno1 \| 0\.60 +\| 200\.0 \/ 150\.0 \/ 200\.0 +\| eno2 +\| yes \(0\.10 s\) +\| OK +\|/);
  });

  it("draws a line per link, the total, the subflows, and marks the failure", () => {
    const svg = timelineSvg(timeline("failover: carrier on eno1"), ["eno1", "eno2"]);
    expect(svg.match(/<polyline/g)).toHaveLength(5);
    expect(svg).toContain("carrier lost on eno1");
    expect(svg).toContain('fill="#d62728" fill-opacity="0.08"');
  });

  it("plots the first MPTCP run and each failover beside the summary, self-contained", () => {
    const html = reportHtml([result], { stack: "lab", date: "2026-11-30" });
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain("MPTCP, run 1");
    expect(html).not.toContain(">TCP, run 1<");
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html).toContain("<td>eno2</td><td>backup</td>");
    // The round trips and the window next to the throughput.
    expect(html).toContain("<td>191.3</td><td>1 (0)</td><td>0.0 MB</td>");
    expect(html).toContain("not window-limited: the 2 paths need at least 0.0 MB in flight");
    expect(html).toContain("eno1 rtt 1 ms, eno2 rtt 1 ms; not window-limited: need 0.0 MB in flight, buffers allow 16.8 MB");
  });

  it("writes HTML or SVG with the JSON data beside it", () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    try {
      expect(writeReport(join(dir, "r.html"), [result], { stack: "lab", date: "d" })).toEqual([join(dir, "r.html"), join(dir, "r.json")]);
      expect(JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).results[0].failover[0].stallSeconds).toBe(0.6);
      writeReport(join(dir, "r.svg"), [result], { stack: "lab", date: "d" });
      expect(readFileSync(join(dir, "r.svg"), "utf8")).toMatch(/^<svg xmlns/);
      expect(dataPathOf("/x/report")).toBe("/x/report.json");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
