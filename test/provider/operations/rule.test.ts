import { describe, it } from "vitest";
import { ruleOp } from "../../../provider/operations/rule";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("rule operations", () => {
  it("adds an IPv6 rule with a source under ip -6, may cut the session, and is undone by deleting it", () => {
    expectOperation(ruleOp("add", 202, { from: "fd00:2::2", priority: 1202, family: 6 }), hostState(), {
      render: { kind: "ip", family: 6, args: ["rule", "add", "priority", "1202", "from", "fd00:2::2", "table", "202"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["rule", "del", "priority", "1202", "from", "fd00:2::2", "table", "202"] }],
    });
  });

  it("deletes an IPv6 rule without a source under ip -6 (ip alone would take it for IPv4)", () => {
    expectOperation(ruleOp("del", 160, { from: "all", priority: 1600, family: 6 }), hostState(), {
      render: { kind: "ip", family: 6, args: ["rule", "del", "priority", "1600", "from", "all", "table", "160"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["rule", "add", "priority", "1600", "from", "all", "table", "160"] }],
    });
  });

  it("renders every selector field the kernel stores, in ip's order", () => {
    expectOperation(ruleOp("add", 101, { from: "10.0.0.2", to: "10.1.0.0/16", fwmark: "0x1/0xff", iif: "eno1", oif: "eno2", priority: 5 }), hostState(), {
      render: { kind: "ip", family: 4, args: ["rule", "add", "priority", "5", "from", "10.0.0.2", "to", "10.1.0.0/16", "fwmark", "0x1/0xff", "iif", "eno1", "oif", "eno2", "table", "101"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 4, args: ["rule", "del", "priority", "5", "from", "10.0.0.2", "to", "10.1.0.0/16", "fwmark", "0x1/0xff", "iif", "eno1", "oif", "eno2", "table", "101"] }],
    });
  });

  it("renders an IPv4 rule in the default family", () => {
    expectOperation(ruleOp("add", 101, { from: "10.0.0.2" }), hostState(), {
      render: { kind: "ip", family: 4, args: ["rule", "add", "from", "10.0.0.2", "table", "101"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 4, args: ["rule", "del", "from", "10.0.0.2", "table", "101"] }],
    });
  });
});
