import { describe, expect, it } from "vitest";
import { sessionPath, type SessionPath } from "../../../provider/model/session";
import { mayCutSession, type Operation } from "../../../provider/operations";
import { addressOp } from "../../../provider/operations/address";
import { ruleOp } from "../../../provider/operations/rule";
import type { HostState } from "../../../provider/state/types";
import { hostState } from "../../support/fixtures";

/** The lab's server2: the session arrives on mgmt0 (172.31.2.2) from 172.31.2.1; eno1 and eno2 are data links. */
function labHost(extra: Partial<HostState> = {}): HostState {
  const state = hostState("6.1");
  return {
    ...state,
    links: [
      { name: "mgmt0", up: true, operState: "UP", mtu: 1500, addresses: ["172.31.2.2/30"] },
      { name: "eno1", up: true, operState: "UP", mtu: 1500, addresses: ["10.0.0.2/24"] },
      { name: "eno2", up: true, operState: "UP", mtu: 1500, addresses: ["192.168.0.2/24"] },
    ],
    rules: [],
    sessionLocalAddress: "172.31.2.2",
    sessionPeerAddress: "172.31.2.1",
    sessionDevice: "mgmt0",
    ...extra,
  };
}
const path = sessionPath(labHost())!;
const route = (table: number, family: 4 | 6 = 4): Operation => ({ type: "route", action: "replace", family, table, route: { dst: family === 4 ? "10.0.0.0/24" : "fd00::/64", dev: "eno1", scope: "link" } });
const sysctl = (key: string, value: string): Operation => ({ type: "sysctl", key, value });

describe("the session's path on a host", () => {
  it("is the session's addresses, the devices it uses and the kernel's tables", () => {
    expect(path).toEqual({ family: 4, local: "172.31.2.2", peer: "172.31.2.1", devices: ["mgmt0"], tables: [255, 254, 253] });
  });

  it("adds the tables of rules that may match the session's replies, not those of other sources", () => {
    const rules = [
      { priority: 1000, from: "10.0.0.2", table: 101 },
      { priority: 1001, from: "172.31.2.0/30", table: 150 },
      { priority: 1002, to: "172.31.0.0/16", table: 151 },
      { priority: 1003, fwmark: "0x1", table: 152 },
      { priority: 1004, from: "172.31.2.2", table: 153, family: 6 as const },
    ];
    expect(sessionPath(labHost({ rules }))!.tables).toEqual([255, 254, 253, 150, 151, 152]);
  });

  it("is unknown when the host did not say which session it is or where its replies go", () => {
    expect(sessionPath(labHost({ sessionPeerAddress: undefined }))).toBeUndefined();
    expect(sessionPath(labHost({ sessionDevice: undefined }))).toBeUndefined();
  });
});

describe("a change that may cut the session", () => {
  const cuts = (op: Operation, p: SessionPath = path) => mayCutSession(op, p);

  it("is any change that could cut a session when the path is unknown", () => {
    for (const op of [addressOp("add", "10.0.0.22/24", "eno1"), route(101), ruleOp("add", 101, { from: "10.0.0.2" }), sysctl("net.ipv4.conf.all.rp_filter", "2")]) {
      expect(mayCutSession(op, undefined)).toBe(true);
    }
  });

  it("is an address on the session's device, its own address, or a prefix that holds its peer", () => {
    expect(cuts(addressOp("add", "10.0.0.22/24", "eno1"))).toBe(false);
    expect(cuts(addressOp("del", "10.0.0.2/24", "eno1"))).toBe(false);
    expect(cuts(addressOp("add", "172.31.9.9/32", "mgmt0"))).toBe(true);
    expect(cuts(addressOp("add", "172.31.2.2/30", "eno2"))).toBe(true);
    expect(cuts(addressOp("add", "172.31.0.7/16", "eno2"))).toBe(true);
  });

  it("is a link change on a device the session uses", () => {
    expect(cuts({ type: "link", dev: "eno1", up: false })).toBe(false);
    expect(cuts({ type: "link", dev: "mgmt0", mtu: 1400 })).toBe(true);
  });

  it("is a route in a table the session's replies may be looked up in", () => {
    expect(cuts(route(101))).toBe(false);
    expect(cuts(route(254))).toBe(true);
    expect(cuts(route(150), sessionPath(labHost({ rules: [{ priority: 5, table: 150 }] })))).toBe(true);
    expect(cuts(route(254, 6))).toBe(false);
  });

  it("is a rule that may match the session's replies", () => {
    expect(cuts(ruleOp("add", 101, { from: "10.0.0.2", priority: 1001 }))).toBe(false);
    expect(cuts(ruleOp("add", 101, { from: "all", to: "10.9.0.0/16" }))).toBe(false);
    expect(cuts(ruleOp("add", 101, { from: "all" }))).toBe(true);
    expect(cuts(ruleOp("add", 101, { from: "172.31.2.2", fwmark: "0x1" }))).toBe(true);
    expect(cuts(ruleOp("del", 101, { from: "172.31.0.0/16" }))).toBe(true);
    expect(cuts(ruleOp("add", 260, { from: "fd00:2::2", family: 6 }))).toBe(false);
  });

  it("is a routing setting of the session's family on its device or all, but not rp_filter off or loose", () => {
    expect(cuts(sysctl("net.ipv4.conf.all.rp_filter", "2"))).toBe(false);
    expect(cuts(sysctl("net.ipv4.conf.all.rp_filter", "1"))).toBe(true);
    expect(cuts(sysctl("net.ipv4.conf.mgmt0.rp_filter", "1"))).toBe(true);
    expect(cuts(sysctl("net.ipv4.conf.eno1.rp_filter", "1"))).toBe(false);
    expect(cuts(sysctl("net.ipv4.conf.default.forwarding", "0"))).toBe(false);
    expect(cuts(sysctl("net.ipv4.conf.all.forwarding", "0"))).toBe(true);
    expect(cuts(sysctl("net.ipv4.ip_forward", "0"))).toBe(true);
    expect(cuts(sysctl("net.ipv6.conf.all.disable_ipv6", "1"))).toBe(false);
    expect(cuts(sysctl("net.ipv4.tcp_rmem", "4096 131072 33554432"))).toBe(false);
  });

  it("is never an MPTCP endpoint or limit", () => {
    expect(mayCutSession({ type: "limits", limits: { subflows: 2, addAddrAccepted: 2 } }, undefined)).toBe(false);
  });
});
