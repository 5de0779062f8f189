/**
 * Typed operations against a real lab server over SSH: IPv6 and IPv4 rules and routes rendered
 * into their families' batches, and the inverse of each put back by a second change set.
 * Host state is read with nsenter, not through the provider.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context } from "../../provider/runtime";
import { connectionSchema } from "../../provider/connection";
import { inverseAll, type Operation } from "../../provider/operations";
import { addressOp } from "../../provider/operations/address";
import { ruleOp } from "../../provider/operations/rule";
import { freshLab, labConnection, onHost } from "../lab/harness";

beforeAll(() => freshLab());
afterAll(async () => {
  await context.closeAll();
});

const rules6 = () => onHost("server2", "ip", "-6", "rule", "show");
const routes6 = (table: string) => onHost("server2", "ip", "-6", "route", "show", "table", table);

describe("operations on a real host", () => {
  it("adds IPv6 rules with and without a source, IPv6 routes with and without a gateway, beside IPv4, and undoes them", async () => {
    const session = context.sessionFor(connectionSchema.parse(labConnection("server2")), undefined);
    const before = await session.state();
    const ops: Operation[] = [
      addressOp("add", "fd00:2:0:0:0:0:0:2/64", "eno2"),
      ruleOp("add", 902, { from: "192.168.0.2", priority: 1902 }),
      ruleOp("add", 903, { from: "fd00:2::2", priority: 1903, family: 6 }),
      ruleOp("add", 904, { from: "all", priority: 1904, family: 6 }),
      { type: "route", action: "replace", family: 6, table: 903, route: { dst: "fd00:2::/64", dev: "eno2" } },
      { type: "route", action: "replace", family: 6, table: 904, route: { dst: "default", dev: "eno2" } },
      { type: "route", action: "replace", family: 6, table: 903, route: { dst: "default", via: "fd00:2::1", dev: "eno2" } },
    ];
    await session.apply(ops, "IPv6 beside IPv4");
    expect(rules6()).toContain("1903:\tfrom fd00:2::2 lookup 903");
    expect(rules6()).toContain("1904:\tfrom all lookup 904");
    expect(onHost("server2", "ip", "rule", "show")).toContain("1902:\tfrom 192.168.0.2 lookup 902");
    expect(routes6("903")).toContain("default via fd00:2::1 dev eno2");
    expect(routes6("904")).toContain("default dev eno2");
    // The IPv4 table 904 stays empty: the gateway-less default went to IPv6.
    expect(onHost("server2", "sh", "-c", "ip route show table 904 2>/dev/null; true").trim()).toBe("");

    await session.apply(inverseAll(ops, before), "undo");
    expect(rules6()).not.toMatch(/lookup 90[34]/);
    expect(onHost("server2", "ip", "rule", "show")).not.toContain("lookup 902");
    expect(onHost("server2", "ip", "-6", "-br", "addr", "show", "dev", "eno2")).not.toContain("fd00:2::2");
    expect(onHost("server2", "sh", "-c", "ip -6 route show table all | grep -c 'table 90[34]' || true").trim()).toBe("0");
  });
});
