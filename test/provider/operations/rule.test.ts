import { describe, it } from "vitest";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("rule operations", () => {
  it("adds an IPv6 rule with a source under ip -6, may cut the session, and is undone by deleting it", () => {
    expectOperation({ type: "rule", action: "add", family: 6, from: "fd00:2::2", priority: 1202, table: 202 }, hostState(), {
      render: { kind: "ip", family: 6, args: ["rule", "add", "priority", "1202", "from", "fd00:2::2", "table", "202"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["rule", "del", "priority", "1202", "from", "fd00:2::2", "table", "202"] }],
    });
  });

  it("deletes an IPv6 rule without a source under ip -6 (ip alone would take it for IPv4)", () => {
    expectOperation({ type: "rule", action: "del", family: 6, from: "all", priority: 1600, table: 160 }, hostState(), {
      render: { kind: "ip", family: 6, args: ["rule", "del", "priority", "1600", "from", "all", "table", "160"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["rule", "add", "priority", "1600", "from", "all", "table", "160"] }],
    });
  });

  it("renders an IPv4 rule in the default family", () => {
    expectOperation({ type: "rule", action: "add", family: 4, from: "10.0.0.2", table: 101 }, hostState(), {
      render: { kind: "ip", family: 4, args: ["rule", "add", "from", "10.0.0.2", "table", "101"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 4, args: ["rule", "del", "from", "10.0.0.2", "table", "101"] }],
    });
  });
});
