import { describe, expect, it } from "vitest";
import { beforeAfterMarkdown, cpuMarkdown, growthMarkdown, peerMarkdown } from "../../bench/profileReport";
import { parseCpuSeconds } from "../../bench/serversCpu";
import type { OpResult, SizeResult } from "../../bench/run";

const op = (medianSeconds: number, cpu?: number): OpResult => ({ seconds: [medianSeconds], medianSeconds, maxConnectionsPerHost: [1], ...(cpu !== undefined ? { cpuSeconds: [cpu] } : {}) });
const size = (servers: number, up: number, refresh: number, destroy: number, floor: number): SizeResult => ({
  pairs: servers / 2,
  servers,
  ops: { up: op(up, up / 2), preview: op(1), refresh: op(refresh), destroy: op(destroy), floor: op(floor) },
  ansible: { servers, applySeconds: 3, noopSeconds: 2 },
  baseline: { up: op(up * 2, up), preview: op(1), refresh: op(refresh * 2), destroy: op(destroy * 2) },
});
const sizes = [size(2, 1.5, 0.9, 1.2, 0.2), size(20, 5, 1.8, 4, 1), size(40, 9, 2.6, 7, 1.8)];

describe("the bench's cost tables", () => {
  it("sets ours beside the floor and the peer with the issue's targets", () => {
    const md = peerMarkdown(sizes).join("\n");
    expect(md).toContain("| 2 | 0.20 | 3.00 | 1.50 | 0.50x (<= 0.5x) | 7.50x | 2.00 | 0.90 | 0.45x (<= 0.5x) | 1.20 | 0.80x |");
    expect(md).toContain("| 20 | 1.00 | 3.00 | 5.00 | 1.67x | 5.00x (<= 5x) | 2.00 | 1.80 | 0.90x (<= 0.15x) | 4.00 | 0.80x (<= 1x) |");
  });

  it("reports each figure's cost per added server between the two largest sizes, beside the floor's", () => {
    const md = growthMarkdown(sizes).join("\n");
    expect(md).toContain("Growth from 20 to 40 servers");
    expect(md).toContain("| up | 5.00 | 9.00 | 200 | 40 | 5.00x |");
    expect(md).toContain("| floor | 1.00 | 1.80 | 40 | 40 | 1.00x |");
  });

  it("sets the servers' CPU beside the command's, against what the cores could give in the wall time", () => {
    const withServers: SizeResult = { ...sizes[1]!, ops: { ...sizes[1]!.ops, up: { ...sizes[1]!.ops.up, serversCpuSeconds: [4, 6, 5] } } };
    const md = cpuMarkdown([withServers], 2).join("\n");
    expect(md).toContain("| 20 | up | 5.00 | 2.50 | 5.00 | 75% |");
    expect(md).toContain("| 20 | refresh | 1.80 | - | - | - |");
  });

  it("reads a cgroup's CPU from cgroup v1's cpuacct.usage and v2's cpu.stat", () => {
    expect(parseCpuSeconds("cpuacct.usage", "56800000000\n")).toBe(56.8);
    expect(parseCpuSeconds("cpu.stat", "usage_usec 2500000\nuser_usec 1000000\nsystem_usec 1500000\n")).toBe(2.5);
    expect(() => parseCpuSeconds("cpu.stat", "nr_periods 0\n")).toThrow(/no usage_usec/);
  });

  it("sets the baseline's wall and CPU beside ours", () => {
    const md = beforeAfterMarkdown(sizes).join("\n");
    expect(md).toContain("| 20 | up | 10.00 | 5.00 | 0.50x | 5.00 | 2.50 | 0.50x |");
  });
});
