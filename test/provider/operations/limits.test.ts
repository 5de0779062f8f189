import { describe, it } from "vitest";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("limits operations", () => {
  it("sets both limits, never cuts the session, and restores the limits the host had", () => {
    expectOperation({ type: "limits", limits: { subflows: 4, addAddrAccepted: 3 } }, hostState(), {
      render: { kind: "ip", args: ["mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "3"] },
      mayCut: false,
      inverse: [{ kind: "ip", args: ["mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2"] }],
    });
  });
});
