/**
 * Rules and routes are matched whole: every field the kernel stores. A host rule with a fwmark or
 * an input interface is not the declared rule without them; a blackhole route or one through a
 * gateway is not the declared link route to the same destination. Each mismatch names its field.
 */
import { describe, expect, it } from "vitest";
import { routeDifference, routeMatches, sameSlot } from "../../../provider/model/route";
import { ruleDifference, ruleMatches } from "../../../provider/model/rule";

describe("rules", () => {
  it("match whatever priority the kernel chose when none is declared, and only the declared one otherwise", () => {
    expect(ruleMatches({ from: "192.168.0.2" }, 102, { priority: 1002, from: "192.168.0.2", table: 102 })).toBe(true);
    expect(ruleDifference({ from: "192.168.0.2", priority: 1003 }, 102, { priority: 1002, from: "192.168.0.2", table: 102 })).toBe("priority: declared 1003, host has 1002");
  });

  it("differ by any selector field the host rule has and the declaration does not (the issue's fwmark and iif rule)", () => {
    const host = { priority: 1001, from: "10.0.0.2", fwmark: "0x1", iif: "eno9", table: 101 };
    expect(ruleDifference({ from: "10.0.0.2", priority: 1001 }, 101, host)).toBe("fwmark: declared none, host has 0x1");
    expect(ruleMatches({ from: "10.0.0.2", priority: 1001, fwmark: "0x1", iif: "eno9" }, 101, host)).toBe(true);
    expect(ruleDifference({ from: "10.0.0.2" }, 101, { priority: 1, from: "10.0.0.2", to: "10.1.0.0/16", table: 101 })).toBe("to: declared none, host has 10.1.0.0/16");
    expect(ruleDifference({ from: "10.0.0.2" }, 101, { priority: 1, from: "10.0.0.2", oif: "eno2", table: 101 })).toBe("oif: declared none, host has eno2");
  });

  it("differ by table, family and action", () => {
    expect(ruleDifference({ from: "all" }, 101, { priority: 5, table: 102 })).toBe("table: declared 101, host has 102");
    expect(ruleDifference({ from: "all", family: 6 }, 101, { priority: 5, table: 101 })).toBe("family: declared 6, host has 4");
    expect(ruleDifference({ from: "all" }, 101, { priority: 5, table: 101, action: "unreachable" })).toBe("action: declared none, host has unreachable");
  });
});

describe("routes", () => {
  it("match the dev and scope the kernel chose when none is declared", () => {
    expect(routeMatches({ dst: "192.168.0.0/24", dev: "eno2" }, 102, { table: 102, dst: "192.168.0.0/24", dev: "eno2", scope: "link" })).toBe(true);
    expect(routeMatches({ dst: "default", via: "192.168.0.1" }, 102, { table: 102, dst: "default", via: "192.168.0.1", dev: "eno2" })).toBe(true);
  });

  it("take an unset metric as the kernel's default (0, or 1024 for IPv6): metric 10 is another route", () => {
    expect(routeDifference({ dst: "default", via: "192.168.0.1" }, 102, { table: 102, dst: "default", via: "192.168.0.1", metric: 10 })).toBe("metric: declared 0, host has 10");
    expect(routeMatches({ dst: "fd00::/64", dev: "eno2", family: 6 }, 202, { family: 6, table: 202, dst: "fd00::/64", dev: "eno2", metric: 1024 })).toBe(true);
  });

  it("differ by type, gateway and source (the issue's blackhole route)", () => {
    expect(routeDifference({ dst: "10.9.0.0/24", dev: "eno1" }, 102, { table: 102, dst: "10.9.0.0/24", type: "blackhole" })).toBe("type: declared unicast, host has blackhole");
    expect(routeDifference({ dst: "10.9.0.0/24", dev: "eno1" }, 102, { table: 102, dst: "10.9.0.0/24", dev: "eno1", via: "10.0.0.1" })).toBe("via: declared none, host has 10.0.0.1");
    expect(routeDifference({ dst: "10.9.0.0/24", dev: "eno1" }, 102, { table: 102, dst: "10.9.0.0/24", dev: "eno1", src: "10.0.0.2" })).toBe("src: declared none, host has 10.0.0.2");
  });

  it("share a slot (replaced in place by ip route replace) by family, table, destination and metric alone", () => {
    expect(sameSlot({ dst: "10.9.0.0/24", dev: "eno1" }, 102, { table: 102, dst: "10.9.0.0/24", type: "blackhole" })).toBe(true);
    expect(sameSlot({ dst: "10.9.0.0/24", dev: "eno1" }, 102, { table: 102, dst: "10.9.0.0/24", dev: "eno1", metric: 5 })).toBe(false);
  });
});
