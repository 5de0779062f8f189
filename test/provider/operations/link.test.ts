import { describe, it } from "vitest";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("link operations", () => {
  it("sets an MTU, may cut the session, and restores the MTU the link had", () => {
    expectOperation({ type: "link", dev: "eno1", mtu: 9000 }, hostState(), {
      render: { kind: "ip", args: ["link", "set", "dev", "eno1", "mtu", "9000"] },
      mayCut: true,
      inverse: [{ kind: "ip", args: ["link", "set", "dev", "eno1", "mtu", "1500"] }],
    });
  });

  it("sets a link down and is undone by setting it up again", () => {
    expectOperation({ type: "link", dev: "eno1", up: false }, hostState(), {
      render: { kind: "ip", args: ["link", "set", "dev", "eno1", "down"] },
      mayCut: true,
      inverse: [{ kind: "ip", args: ["link", "set", "dev", "eno1", "up"] }],
    });
  });

  it("has no inverse for a link the host did not have", () => {
    expectOperation({ type: "link", dev: "eno9", up: true }, hostState(), { render: { kind: "ip", args: ["link", "set", "dev", "eno9", "up"] }, mayCut: true, inverse: [] });
  });
});
