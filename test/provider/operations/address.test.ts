import { describe, expect, it } from "vitest";
import { addressOp } from "../../../provider/operations/address";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("address operations", () => {
  it("adds an IPv4 address, may cut the session, and is undone by deleting it", () => {
    expectOperation(addressOp("add", "10.0.0.9/24", "eno1"), hostState(), {
      render: { kind: "ip", family: 4, args: ["address", "add", "10.0.0.9/24", "dev", "eno1"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 4, args: ["address", "del", "10.0.0.9/24", "dev", "eno1"] }],
    });
  });

  it("deletes an IPv6 address under ip -6 and is undone by adding it back", () => {
    expectOperation(addressOp("del", "fd00:2::1/64", "eno2"), hostState(), {
      render: { kind: "ip", family: 6, args: ["address", "del", "fd00:2::1/64", "dev", "eno2"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["address", "add", "fd00:2::1/64", "dev", "eno2"] }],
    });
  });

  it("takes its family from the address", () => {
    expect(addressOp("replace", "fd00:2::1/64", "eno2").family).toBe(6);
    expect(addressOp("replace", "10.0.0.1/24", "eno1").family).toBe(4);
  });
});
