import { describe, expect, it } from "vitest";
import { bareAddress, median, parseAddresses, parseIperfMbps, parseMptcpCounters, parseSubflows } from "../../../provider/verify/parse";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const fixture = (name: string) => readFileSync(join(__dirname, "../../fixtures", name), "utf8");

const NETSTAT = `TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 0
MPTcpExt: MPCapableSYNRX MPJoinSynRx MPJoinAckRx MPJoinSynAckRx
MPTcpExt: 2 4 4 0
`;

describe("verification parsers", () => {
  it("reads the MPTcpExt counters of /proc/net/netstat", () => {
    expect(parseMptcpCounters(NETSTAT)).toEqual({ MPCapableSYNRX: 2, MPJoinSynRx: 4, MPJoinAckRx: 4, MPJoinSynAckRx: 0 });
    expect(parseMptcpCounters("TcpExt: A\nTcpExt: 1\n")).toEqual({});
  });

  it("reads the receiver's throughput from iperf3 -J and reports iperf3's own errors", () => {
    expect(parseIperfMbps(JSON.stringify({ end: { sum_received: { bits_per_second: 191_300_000 } } }))).toBeCloseTo(191.3);
    expect(() => parseIperfMbps(JSON.stringify({ error: "unable to connect to server" }))).toThrow(/iperf3: unable to connect/);
    expect(() => parseIperfMbps("{}")).toThrow(/no receiver summary/);
  });

  it("takes medians of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it("strips ports, brackets, IPv4-mapped prefixes and bound devices from ss addresses", () => {
    expect(bareAddress("[::ffff:10.0.0.1]:5201")).toBe("10.0.0.1");
    expect(bareAddress("192.168.0.2%eno2:50967")).toBe("192.168.0.2");
    expect(bareAddress("[fd00:2::1]:5201")).toBe("fd00:2::1");
  });

  it("lists MPTCP subflows with their flags on both ends (recorded ss -tniH)", () => {
    const client = parseSubflows(fixture("ss-subflows-backup-client.txt"));
    expect(client.map((s) => `${s.local}>${s.remote} ${s.flags}`)).toEqual([
      "10.0.0.2>10.0.0.1 Mmec",
      "10.0.0.2>10.0.0.1 Mmec",
      "192.168.0.2>192.168.0.1 Jjbec",
      "192.168.0.2>10.0.0.1 Jjbec",
    ]);
    const server = parseSubflows(fixture("ss-subflows-backup-server.txt"));
    expect(server.map((s) => `${s.remote} ${s.flags}`)).toEqual(["10.0.0.2 Mec", "192.168.0.2 JBec", "192.168.0.2 JBec"]);
    expect(parseSubflows("ESTAB 0 0 10.0.0.2:1 10.0.0.1:5201\n\t cubic rto:204\n")).toEqual([]);
  });

  it("maps addresses to links from ip -o addr", () => {
    const out = "1: lo    inet 127.0.0.1/8 scope host lo\n3: eno1    inet 10.0.0.2/24 scope global eno1\\       valid_lft forever\n4: eno2    inet6 FD00:2::2/64 scope global\n";
    expect(parseAddresses(out)).toEqual({ lo: ["127.0.0.1"], eno1: ["10.0.0.2"], eno2: ["fd00:2::2"] });
  });
});
