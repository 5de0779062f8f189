import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyProgram } from "../../../provider/verify/hostCalls";
import { bytesBetween, devOf, mbpsBetween, parseTimeline, rates, SAMPLE_INTERVAL_SECONDS, sentBytes } from "../../../provider/verify/timeline";
import { runIsolated } from "../../support/hostRun";

const ADDRS = { eno1: ["10.0.0.2"], eno2: ["192.168.0.2"] };
const OUTPUT = `E 1796014028714746616
S 607.50 1000 2000 10.0.0.2:50212,
S 607.60 2501000 2000 10.0.0.2:50212,192.168.0.2:35973,192.168.0.2%eno2:45055,
S 607.70 5001000 2502000 10.0.0.2:50212,192.168.0.2:35973,192.168.0.2%eno2:45055,
S 607.80 5001000 5002000 
junk line
`;

describe("timeline", () => {
  it("parses samples: times from the first sample, cumulative bytes, subflows per link", () => {
    const t = parseTimeline(OUTPUT, ["eno1", "eno2"], ADDRS, "MPTCP, run 1");
    expect(t.startEpochMs).toBe(1796014028715);
    expect(t.samples.map((s) => s.t)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(t.samples[1]!.subflows).toEqual({ eno1: 1, eno2: 2 });
    expect(t.samples[3]!.subflows).toEqual({ eno1: 0, eno2: 0 });
    expect(sentBytes(t)).toEqual({ eno1: 5_000_000, eno2: 5_000_000 });
  });

  it("turns samples into Mbit/s per link and averages over windows", () => {
    const t = parseTimeline(OUTPUT, ["eno1", "eno2"], ADDRS, "x");
    const r = rates(t);
    expect(r).toHaveLength(3);
    expect(r[0]!.mbps["eno1"]).toBeCloseTo(200);
    expect(r[1]!.mbps["eno2"]).toBeCloseTo(200);
    expect(bytesBetween(t, 0.1, 0.3)).toEqual({ eno1: 2_500_000, eno2: 5_000_000 });
    expect(mbpsBetween(t, 0, 0.3)).toBeCloseTo(((10_000_000 * 8) / 0.3) / 1e6);
    expect(mbpsBetween(t, 0, 0.3, ["eno2"])).toBeCloseTo(((5_000_000 * 8) / 0.3) / 1e6);
  });

  it("tells a subflow's link by its address or the device it is bound to", () => {
    expect(devOf("192.168.0.2%eno2:1", ADDRS)).toBe("eno2");
    expect(devOf("[::ffff:10.0.0.2]:1", ADDRS)).toBe("eno1");
    expect(devOf("172.16.0.2:1", ADDRS)).toBeUndefined();
  });

  it("samples a real link several times a second and stops when told, its flag in the login's own folder", () => {
    const sampler = verifyProgram(false, "sampler", ["m1", 5201, 10, SAMPLE_INTERVAL_SECONDS, "lo"]);
    const stop = verifyProgram(false, "sampler_stop", ["m1"]);
    const started = Date.now();
    // A stop flag in /tmp (where the old sampler looked) must not end it; its own flag does.
    const r = runIsolated(`mount -t tmpfs none /tmp; ( sleep 0.5; : > /tmp/mptcp-pulumi-sampler-m1.stop; sleep 0.5; sh -c "$2" ) & sh -c "$1"`, { args: [sampler, stop] });
    expect(r.status, r.stderr).toBe(0);
    const t = parseTimeline(r.stdout, ["lo"], { lo: ["127.0.0.1"] }, "lo");
    expect(t.samples.length).toBeGreaterThanOrEqual(6);
    expect(t.samples.at(-1)!.t).toBeLessThan(3);
    expect(Math.abs(t.startEpochMs - started)).toBeLessThan(2000);
  });

  it("tells when a sampler samples, so traffic starts only then; and gives up when none starts", () => {
    const sampler = verifyProgram(false, "sampler", ["m2", 5201, 10, SAMPLE_INTERVAL_SECONDS, "lo"]);
    const ready = verifyProgram(false, "sampler_ready", ["m2", 5]);
    const stop = verifyProgram(false, "sampler_stop", ["m2"]);
    // The sampler starts a second late (a busy host); the wait returns once it samples, then stops it.
    const r = runIsolated(`( sleep 1; sh -c "$1" ) & sh -c "$2" && date +%s%N > /run/ready-at && sh -c "$3"; wait; cat /run/ready-at`, { args: [sampler, ready, stop] });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const t = parseTimeline(lines.slice(0, -1).join("\n"), ["lo"], { lo: ["127.0.0.1"] }, "lo");
    expect(t.samples.length).toBeGreaterThanOrEqual(1);
    expect(Number(lines.at(-1)) / 1e6).toBeGreaterThanOrEqual(t.startEpochMs);
    // Stopped right after it started (a stop sent before it ran would leave it its full 10 s).
    expect(t.samples.at(-1)!.t).toBeLessThan(3);
    const none = runIsolated(`sh -c "$1"`, { args: [verifyProgram(false, "sampler_ready", ["m3", 1])] });
    expect(none.status).not.toBe(0);
  });

});
