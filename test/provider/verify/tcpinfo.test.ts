import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectionKey, dataConnectionKey, inFlight, parseMptcpInfo, parseTcpInfo } from "../../../provider/verify/tcpinfo";

const fixture = (name: string) => readFileSync(join(__dirname, "../../fixtures/longpaths", name), "utf8");

describe("ss -tni readings", () => {
  it("reads each subflow's round trip, window, data in flight and limits (6.1, MPTCP, default buffers)", () => {
    const sockets = parseTcpInfo(fixture("ss-6.1-150ms-default-mptcp-client.txt"));
    expect(sockets).toHaveLength(6);
    const initial = sockets.find((s) => s.local === "10.0.0.2" && s.bytesAcked > 1e6)!;
    expect(initial).toMatchObject({ remote: "10.0.0.1", rttMs: 452.687, minRttMs: 300.465, cwnd: 1777, mss: 1448, unacked: 536, sndWnd: 1759744, rwndLimitedPct: 3.3, sndbufLimitedPct: 37.9, flags: "Mmec" });
    expect(inFlight(initial)).toBe(536 * 1448);
    // "192.168.0.2%eno2:52751": the device binding is not part of the address.
    expect(sockets.filter((s) => s.local === "192.168.0.2").map((s) => s.remote).sort()).toEqual(["10.0.0.1", "10.0.0.1", "192.168.0.1", "192.168.0.1"]);
  });

  it("reads the receiver's buffer and window threshold with -m", () => {
    const server = parseTcpInfo(fixture("ss-6.1-150ms-default-mptcp-server.txt"));
    expect(server.map((s) => s.rcvBuf)).toContain(3583680);
    expect(server.find((s) => s.rcvBuf === 3583680)!.rcvSsthresh).toBe(1790944);
  });

  it("tells the connection that carried the transfer from iperf3's control connection", () => {
    const sockets = parseTcpInfo(fixture("ss-6.1-150ms-default-mptcp-client.txt"));
    const key = dataConnectionKey([sockets]);
    const data = sockets.filter((s) => connectionKey(s) === key);
    expect(data).toHaveLength(3);
    expect(data.every((s) => s.bytesAcked > 1e6)).toBe(true);
    // Plain TCP: one socket per connection, keyed by its addresses.
    const tcp = parseTcpInfo(fixture("ss-6.1-150ms-default-tcp-client.txt"));
    expect(dataConnectionKey([tcp])).toBe(connectionKey(tcp.find((s) => s.bytesAcked > 1e6)!));
  });

  it("picks the connection whose acknowledged bytes grew, not a bigger one left from an earlier transfer", () => {
    const stale = { local: "10.0.0.2", remote: "10.0.0.1", sendQueue: 0, bytesAcked: 9e7, mptcpToken: "aaaa" };
    const live = (bytes: number) => ({ local: "10.0.0.2", remote: "10.0.0.1", sendQueue: 0, bytesAcked: bytes, mptcpToken: "bbbb" });
    expect(dataConnectionKey([[stale, live(1e6)], [stale, live(5e6)], [stale]])).toBe("bbbb");
  });

  it("reads the MPTCP connections: data-level bytes on 6.12, none on 6.1", () => {
    const m612 = parseMptcpInfo(fixture("ss-6.12-150ms-default-mptcp-client.txt"));
    const data = m612.find((m) => (m.bytesSent ?? 0) > 1e6)!;
    expect(data).toMatchObject({ local: "10.0.0.2", remote: "10.0.0.1", token: "6d3a597c", bytesSent: 23091541, bytesAcked: 21360053 });
    expect(parseTcpInfo(fixture("ss-6.12-150ms-default-mptcp-client.txt")).filter((s) => s.mptcpToken === "6d3a597c")).toHaveLength(3);
    const m61 = parseMptcpInfo(fixture("ss-6.1-150ms-default-mptcp-client.txt"));
    expect(m61).toHaveLength(2);
    expect(m61.every((m) => m.bytesSent === undefined)).toBe(true);
  });
});
