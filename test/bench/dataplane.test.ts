import { describe, expect, it } from "vitest";
import { dataPlaneMarkdown, type DataPlaneReport } from "../../bench/dataplane";

const report: DataPlaneReport = {
  runs: 3,
  seconds: 5,
  sysctls: { "net.mptcp.stale_loss_cnt": "4" },
  scenarios: [
    { name: "3 links", links: "eno1 200, eno2 200, eno3 200", tcpMbps: { eno1: 190.9, eno2: 191.1, eno3: 191.3 }, mptcpMbps: 556.7, ratioToFirst: 2.916, ratioToSum: 0.971, sharePercent: { eno1: 33.2, eno2: 33.3, eno3: 33.5 }, ok: true, problems: [], target: ">= 2.8x the first link's TCP" },
    {
      name: "failover under a backup",
      links: "eno1 200, eno2 200 (backup)",
      tcpMbps: { eno1: 191, eno2: 191 },
      mptcpMbps: 188,
      ratioToFirst: 0.98,
      ratioToSum: 0.98,
      sharePercent: { eno1: 100, eno2: 0 },
      ok: true,
      problems: [],
      failover: [{ kind: "drop", stallSeconds: 0.65, stalls: [0.6, 0.65, 0.68], beforeMbps: 204, duringMbps: 170, afterMbps: 205, tookOver: "eno2", recovered: "2/3", backAfterSeconds: [0.1, null, 0.2] }],
    },
  ],
};

describe("the data-plane report", () => {
  it("puts the scenarios side by side, the failover stalls per run, and the kernel settings behind them", () => {
    const md = dataPlaneMarkdown(report).join("\n");
    expect(md).toContain("| 3 links | eno1 200, eno2 200, eno3 200 | eno1 190.9, eno2 191.1, eno3 191.3 | 556.7 | 2.92x | 0.97 |");
    expect(md).toContain("| failover under a backup | silent drop | 0.65 | 0.60, 0.65, 0.68 | 204.0 / 170.0 / 205.0 | eno2 | 2/3 | 0.10, never, 0.20 |");
    expect(md).toContain("`net.mptcp.stale_loss_cnt = 4`");
  });
});
