import { describe, expect, it } from "vitest";
import { analyzeFailover, longestStall } from "../../../provider/verify/failover";
import type { Timeline } from "../../../provider/verify/timeline";
import type { PathSpec } from "../../../provider/verify/verdict";

/** A timeline at 10 samples a second from per-interval Mbit/s of eno1 and eno2. */
function timeline(rates: Array<[number, number]>, subflowsAtEnd = { eno1: 2, eno2: 2 }): Timeline {
  const samples = [{ t: 0, bytes: { eno1: 0, eno2: 0 }, subflows: { eno1: 2, eno2: 2 } }];
  for (const [i, [a, b]] of rates.entries()) {
    const last = samples.at(-1)!;
    samples.push({ t: Math.round((i + 1) * 10) / 100, bytes: { eno1: last.bytes.eno1 + (a * 1e6 * 0.1) / 8, eno2: last.bytes.eno2 + (b * 1e6 * 0.1) / 8 }, subflows: { eno1: 2, eno2: 2 } });
  }
  samples.at(-1)!.subflows = subflowsAtEnd;
  // The sampler outlives the transfer: a last sample with no connection at all.
  samples.push({ t: samples.at(-1)!.t + 0.1, bytes: samples.at(-1)!.bytes, subflows: { eno1: 0, eno2: 0 } });
  return { label: "failover", startEpochMs: 0, samples, events: [] };
}
const repeat = (n: number, r: [number, number]) => Array.from({ length: n }, () => r);
const BACKUP: PathSpec[] = [{ dev: "eno1", role: "active" }, { dev: "eno2", role: "backup" }];
const BOTH: PathSpec[] = [{ dev: "eno1", role: "active" }, { dev: "eno2", role: "active" }];

describe("failover analysis", () => {
  it("measures the backup taking over: the stall, the rates, and the primary coming back", () => {
    // 3 s on eno1, failure at 3.0: 0.6 s of nothing, then eno2; restore at 6.0, eno1 again.
    const t = timeline([...repeat(30, [200, 0]), ...repeat(6, [0, 0]), ...repeat(24, [0, 195]), ...repeat(30, [200, 0])]);
    const r = analyzeFailover("carrier", BACKUP[0]!, BACKUP, t, 3.0, 6.0);
    expect(r.stallSeconds).toBeCloseTo(0.6, 1);
    expect(r.beforeMbps).toBeCloseTo(200, 0);
    expect(r.duringMbps).toBeCloseTo(156, 0);
    expect(r.afterMbps).toBeCloseTo(200, 0);
    expect(r.tookOver).toEqual(["eno2"]);
    expect(r.recovered).toBe(true);
    expect(r.recoveredAfterSeconds).toBe(0);
    expect(r.ok).toBe(true);
  });

  it("sees no stall when the other active path just carries on", () => {
    const t = timeline([...repeat(30, [200, 200]), ...repeat(30, [0, 200]), ...repeat(30, [200, 200])]);
    const r = analyzeFailover("drop", BOTH[0]!, BOTH, t, 3.0, 6.0);
    expect(r.stallSeconds).toBe(0);
    expect(r.ok).toBe(true);
  });

  it("says so when the failed path does not come back, or when nothing took over", () => {
    const gone = timeline([...repeat(30, [200, 0]), ...repeat(60, [0, 195])], { eno1: 0, eno2: 2 });
    const r = analyzeFailover("carrier", BACKUP[0]!, BACKUP, gone, 3.0, 6.0);
    expect(r.recovered).toBe(false);
    expect(r.problems).toEqual(["carrier on eno1: its subflow did not come back after the link returned (no subflow on eno1 at the end)"]);
    const stuck = timeline([...repeat(30, [200, 0]), ...repeat(60, [0, 195])]);
    expect(analyzeFailover("carrier", BACKUP[0]!, BACKUP, stuck, 3.0, 6.0).problems).toEqual([
      "carrier on eno1: the path carried no traffic in the 3.0 s after the link returned (its 2 subflow(s) still exist)",
    ]);
    const dead = timeline([...repeat(30, [200, 0]), ...repeat(30, [0, 0]), ...repeat(30, [200, 0])]);
    const d = analyzeFailover("drop", BACKUP[0]!, BACKUP, dead, 3.0, 6.0);
    expect(d.stallSeconds).toBeCloseTo(3.0, 1);
    expect(d.problems[0]).toBe("drop on eno1: the transfer did not continue on another path (0.0 Mbit/s while eno1 was down)");
  });

  it("finds the longest stalled span inside the failure window", () => {
    const iv = [0, 1, 2, 3, 4, 5].map((t) => ({ t, end: t + 1, mbps: { x: [9, 0, 0, 9, 0, 9][t]! } }));
    expect(longestStall(iv, (m) => m["x"]! < 5, 0.5, 6)).toBe(2);
    expect(longestStall(iv, (m) => m["x"]! < 5, 4.5, 5)).toBe(0.5);
  });
});
