import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMptcpInfo, parseTcpInfo } from "../../../provider/verify/tcpinfo";
import { verifyProgram } from "../../../provider/verify/hostCalls";
import { adviseBuffers, analyzeWindow, BUFFER_SYSCTLS, kernelAtLeast, parseHostBuffers, pathRates, slowerThanBestPath, windowFromSpace, type HostBuffers } from "../../../provider/verify/window";

const fixture = (name: string) => readFileSync(join(__dirname, "../../fixtures/longpaths", name), "utf8");

const K612 = parseHostBuffers(fixture("buffers-6.12-default.txt"));
// The 6.1 guests' values, as `sysctl` printed them there (see the fixtures' NOTES.md).
const K61: HostBuffers = { ...K612, kernel: "6.1.0-57-amd64", tcpRmem: [4096, 131072, 3583680], tcpWmem: [4096, 16384, 3583680], availableSchedulers: [] };
delete K61.scheduler;
const tuned = (b: HostBuffers): HostBuffers => ({ ...b, tcpRmem: [4096, 131072, 33554432], tcpWmem: [4096, 131072, 33554432] });
const ADDRESSES = { eno1: ["10.0.0.2"], eno2: ["192.168.0.2"] };

/** The window analysis of one recorded transfer, with each path's measured single-path rate. */
function recorded(name: string, buffers: HostBuffers, rates: [number, number]) {
  const client = fixture(`ss-${name}-mptcp-client.txt`);
  return analyzeWindow({
    paths: [
      { dev: "eno1", rateMbps: rates[0], rateFrom: "tcp" },
      { dev: "eno2", rateMbps: rates[1], rateFrom: "tcp" },
    ],
    senderSnapshots: [{ tcp: parseTcpInfo(client), mptcp: parseMptcpInfo(client) }],
    receiverSnapshots: [parseTcpInfo(fixture(`ss-${name}-mptcp-server.txt`))],
    addresses: ADDRESSES,
    receiver: { name: "server1", buffers },
    sender: { name: "server2", buffers },
    mptcp: true,
  });
}

describe("host buffers", () => {
  it("reads them on a host with a non-root login's PATH (no /usr/sbin, where sysctl is)", () => {
    const r = spawnSync("sh", ["-c", verifyProgram(true, "buffers", BUFFER_SYSCTLS)], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    const read = parseHostBuffers(r.stdout);
    expect(read.tcpRmem[2]).toBe(Number(readFileSync("/proc/sys/net/ipv4/tcp_rmem", "utf8").trim().split(/\s+/)[2]));
  });

  it("reads the kernel and the sysctls verify.sh's buffers prints", () => {
    expect(K612).toEqual({ kernel: "6.12.118+deb13-amd64", tcpRmem: [4096, 131072, 3615008], tcpWmem: [4096, 16384, 3615008], rmemMax: 212992, wmemMax: 212992, advWinScale: 1, scheduler: "default", availableSchedulers: ["default"] });
    // 6.1 has no net.mptcp.scheduler: the script prints it empty.
    const old = parseHostBuffers("6.1.0-57-amd64\nnet.ipv4.tcp_rmem=4096\t131072\t3583680\nnet.ipv4.tcp_wmem=4096\t16384\t3583680\nnet.mptcp.scheduler=\nnet.mptcp.available_schedulers=\n");
    expect(old.scheduler).toBeUndefined();
    expect(old.availableSchedulers).toEqual([]);
    expect(() => parseHostBuffers("6.1.0\nnet.ipv4.tcp_rmem=\n")).toThrow(/net.ipv4.tcp_rmem: expected three numbers/);
  });

  it("compares kernel versions", () => {
    expect(kernelAtLeast("6.12.118+deb13-amd64", 6, 6)).toBe(true);
    expect(kernelAtLeast("6.1.0-57-amd64", 6, 6)).toBe(false);
    expect(kernelAtLeast("5.15.0-91-generic", 6, 6)).toBe(false);
    expect(kernelAtLeast("7.0.1", 6, 6)).toBe(true);
  });

  it("turns a receive buffer into window as each kernel does", () => {
    // Before 6.6: space - space >> tcp_adv_win_scale (1: half, 2: three quarters), space >> -scale at or below 0.
    expect(windowFromSpace(3583680, K61).bytes).toBe(1791840);
    expect(windowFromSpace(4096, { ...K61, advWinScale: 2 }).bytes).toBe(3072);
    expect(windowFromSpace(4096, { ...K61, advWinScale: -2 }).bytes).toBe(1024);
    // 6.6+: tcp_adv_win_scale is ignored; the ratio the receiver measured, or about half.
    expect(windowFromSpace(4096, { ...K612, advWinScale: 2 }).bytes).toBe(2048);
    expect(windowFromSpace(4096, K612, 0.66).bytes).toBe(2703);
  });
});

describe("the window of recorded long fat transfers", () => {
  it("6.1, default buffers: window-limited, and says what tcp_rmem gives", () => {
    const w = recorded("6.1-150ms-default", K61, [46.8, 46.8]);
    expect(w.windowLimited).toBe(true);
    expect(w.paths.map((p) => [p.dev, Math.round(p.minRttMs!)])).toEqual([["eno1", 300], ["eno2", 300]]);
    expect(w.receiveWindowBytes).toBe(1791840);
    expect(w.limitedBy).toBe("tcp_rmem");
    expect(w.needBytes).toBeGreaterThan(3.4e6);
    expect(w.fill).toBeGreaterThan(0.95);
    expect(w.verdict).toMatch(/^window-limited: the 2 paths need at least 3\.5 MB in flight .*tcp_rmem's maximum \(3\.4 MiB on server1\) gives about 1\.8 MB of window \(tcp_adv_win_scale 1 leaves half of it as window\)/);
  });

  it("6.1, the stack's 32 MiB: not window-limited", () => {
    const w = recorded("6.1-150ms-tuned", tuned(K61), [47.8, 47.8]);
    expect(w.windowLimited).toBe(false);
    expect(w.allowedBytes).toBeGreaterThan(16e6);
    expect(w.verdict).toMatch(/^not window-limited: the 2 paths need at least 3\.6 MB/);
  });

  it("6.12, default buffers: window-limited, the window measured from what the receiver advertised", () => {
    const w = recorded("6.12-150ms-default", K612, [47.9, 32.6]);
    expect(w.windowLimited).toBe(true);
    expect(w.advertisedWindowBytes).toBe(1731456);
    expect(w.receiveWindowBytes).toBe(Math.floor(3615008 * (1731456 / 3615008)));
    // The subflows hold 0.1 MB; the msk reports the whole window outstanding at the data level.
    expect(w.inFlightBytes).toBe(23091541 - 21360053);
    expect(w.verdict).toMatch(/the receiver advertised 48% of it as window/);
  });

  it("6.12, tuned: not window-limited although the msk keeps much of the window outstanding", () => {
    const w = recorded("6.12-150ms-tuned", tuned(K612), [47.7, 47.7]);
    expect(w.windowLimited).toBe(false);
    expect(w.fill).toBeGreaterThan(0.3);
  });

  it("a short and a long path: the long one's round trip sets what the window must cover", () => {
    const w = recorded("6.12-5ms-200ms-default", K612, [46.7, 44.4]);
    expect(w.paths.map((p) => Math.round(p.minRttMs!))).toEqual([11, 401]);
    expect(w.needBytes).toBeCloseTo(((46.7 + 44.4) * 1e6 * 401.057) / 1000 / 8, -3);
    expect(w.windowLimited).toBe(true);
  });

  it("without readings it says nothing is known rather than guess", () => {
    const w = analyzeWindow({ paths: [{ dev: "eno1", rateMbps: 100, rateFrom: "tcp" }], senderSnapshots: [], receiverSnapshots: [], addresses: ADDRESSES, receiver: { name: "a", buffers: K61 }, sender: { name: "b", buffers: K61 }, mptcp: true });
    expect(w.paths[0]!.minRttMs).toBeNull();
    expect(w.windowLimited).toBe(false);
  });
});

describe("advice", () => {
  it("asks for twice the need, as window, rounded up to a power of two, min and default kept", () => {
    const w = recorded("6.1-150ms-default", K61, [46.8, 46.8]);
    const advice = adviseBuffers(w, K61, K61)!;
    // 2 x 3.5 MB of window, half of the buffer is window: 14 MB -> 16 MiB.
    expect(advice.sysctls).toEqual({ "net.ipv4.tcp_rmem": "4096 131072 16777216", "net.ipv4.tcp_wmem": "4096 16384 16777216" });
    expect(advice.explicitSockets).toEqual({ "net.core.rmem_max": "16777216", "net.core.wmem_max": "16777216" });
    expect(advice.reason).toMatch(/twice what the paths need/);
  });

  it("asks for nothing when the buffers already allow twice the need", () => {
    expect(adviseBuffers(recorded("6.1-150ms-tuned", tuned(K61), [47.8, 47.8]), tuned(K61), tuned(K61))).toBeUndefined();
  });
});

describe("MPTCP against single paths", () => {
  it("flags MPTCP below the best single path, beyond a 10% margin", () => {
    expect(slowerThanBestPath(11.1, { eno1: 47.6, eno2: 35.2 })).toEqual({ dev: "eno1", mbps: 47.6 });
    // A backup path: MPTCP carries one path's worth, a little below it.
    expect(slowerThanBestPath(188.1, { eno1: 191.3 })).toBeUndefined();
    expect(slowerThanBestPath(20, {})).toBeUndefined();
  });

  it("takes each path's single-path rate, or its MPTCP share when that is more", () => {
    expect(pathRates(["eno1", "eno2"], { eno1: 6.3, eno2: 47.8 }, 46.4, { eno1: 0.367, eno2: 0.633 })).toEqual([
      { dev: "eno1", rateMbps: 46.4 * 0.367, rateFrom: "mptcp" },
      { dev: "eno2", rateMbps: 47.8, rateFrom: "tcp" },
    ]);
    expect(pathRates(["eno1", "eno2"], { eno1: 47 }, 60, { eno1: 0.5, eno2: 0.5 })[1]).toEqual({ dev: "eno2", rateMbps: 30, rateFrom: "mptcp" });
  });
});
