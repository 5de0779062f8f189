import { describe, expect, it } from "vitest";
import { ProviderContext } from "../../provider/context";
import { verificationProviderFor } from "../../provider/resources/verification";

const verificationProvider = verificationProviderFor(new ProviderContext(process.cwd()));
import { formatTable, median, parseIperfMbps, parseMptcpCounters, type PairResult } from "../../provider/verify";

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

  it("prints a table that says which check failed", () => {
    const result: PairResult = {
      server: "server1",
      client: "server2",
      target: "10.0.0.1",
      tcpMbps: 191,
      mptcpMbps: 190,
      ratio: 0.99,
      joins: { clientSynAckRx: 0, serverSynRx: 0, serverAckRx: 0, mpCapable: 1 },
      linkBytes: { eno1: 120e6, eno2: 0 },
      ok: false,
      problems: ["no second path joined (MPJoinAckRx did not move on the server)"],
    };
    const table = formatTable([result]);
    expect(table).toContain("| server2 -> server1 | 191.0");
    expect(table).toContain("FAIL: no second path joined");
  });
});

describe("MptcpVerification inputs", () => {
  const valid = {
    server: { name: "server1", connection: { host: "192.0.2.1" } },
    client: { name: "server2", connection: { host: "192.0.2.2" }, devs: ["eno1", "eno2"] },
    target: "10.0.0.1",
  };

  it("accepts a pair and applies the defaults", async () => {
    const result = await verificationProvider.check!({}, valid);
    expect(result.failures).toBeUndefined();
    expect(result.inputs).toMatchObject({ seconds: 3, runs: 1, trigger: "" });
  });

  it.each([
    [{ target: "10.0.0.300" }, "target"],
    [{ seconds: 0 }, "seconds"],
    [{ runs: 9 }, "runs"],
    [{ client: { ...valid.client, devs: ["eno1;reboot"] } }, "client.devs[0]"],
    [{ server: { ...valid.server, name: "Server 1" } }, "server.name"],
  ])("refuses %j, naming %s", async (change, property) => {
    const result = await verificationProvider.check!({}, { ...valid, ...change });
    expect(result.failures?.map((f) => f.property)).toContain(property);
  });

  it("measures again only when what it measures changes", async () => {
    const olds = { ...(await verificationProvider.check!({}, valid)).inputs, result: {}, measuredAt: "then" };
    expect((await verificationProvider.diff!("id", olds, valid)).changes).toBe(false);
    expect((await verificationProvider.diff!("id", olds, { ...valid, trigger: "new config" })).changes).toBe(true);
  });
});
