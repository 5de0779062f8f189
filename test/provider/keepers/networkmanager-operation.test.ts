import { describe, expect, it } from "vitest";
import { describe as describeOp, type NmOp } from "../../../provider/operations";
import { nmSettableValue } from "../../../provider/keepers/networkmanager/operation";
import { nmConnectionOf } from "../../../provider/keepers/networkmanager/facts";
import { nmConnections, nmHostState } from "../../support/nm";
import { expectOperation } from "../operations/support";

const ENO2 = "cfa71a41-f49d-3e5f-a3a0-613c55d9addb";

describe("NM probe sections", () => {
  it("parse into one connection per device NM configures, settings by key", () => {
    const [eno1, eno2] = nmConnections();
    expect(eno1).toMatchObject({ device: "eno1", id: "eno1" });
    expect(eno2).toEqual({
      device: "eno2",
      uuid: ENO2,
      id: "eno2",
      settings: {
        "connection.mptcp-flags": "0x0",
        "ipv4.routes": "",
        "ipv4.routing-rules": "",
        "ipv6.routes": "",
        "ipv6.routing-rules": "",
        "ipv4.addresses": "192.168.0.2/24",
        "ipv6.addresses": "",
        "ipv4.method": "manual",
        "ipv6.method": "disabled",
      },
    });
    expect(nmConnectionOf(nmHostState(), "mgmt0")).toBeUndefined();
    // The manager facts decide: a device they do not give to NetworkManager is not written through.
    const state = nmHostState();
    state.facts.managers.interfaces["eno2"] = { kind: "none" };
    expect(nmConnectionOf(state, "eno2")).toBeUndefined();
    expect(nmConnectionOf(nmHostState(), "eno2")?.uuid).toBe(ENO2);
  });
});

describe("nm operations", () => {
  const op: NmOp = { type: "nm", device: "eno2", uuid: ENO2, connectionId: "eno2", set: { "ipv4.routes": "192.168.0.0/24 table=102" } };

  it("modify the connection by uuid and reapply it, may cut, and are undone to the values the connection had", () => {
    const before = nmHostState((c) => (c.settings["ipv4.routes"] = "10.9.9.0/24 table=7"));
    expectOperation(op, before, {
      render: { kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "ipv4.routes", "192.168.0.0/24 table=102"] },
      mayCut: true,
      inverse: [{ kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "ipv4.routes", "10.9.9.0/24 table=7"] }],
    });
    expect(describeOp(op)).toBe('nmcli connection modify eno2 ipv4.routes "192.168.0.0/24 table=102"; nmcli device reapply eno2 (NetworkManager)');
  });

  it("that only set MPTCP flags cannot cut the session; flags are restored as numbers", () => {
    const flags: NmOp = { ...op, set: { "connection.mptcp-flags": "disabled" } };
    expectOperation(flags, nmHostState(), {
      render: { kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "connection.mptcp-flags", "disabled"] },
      mayCut: false,
      inverse: [{ kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "connection.mptcp-flags", "0"] }],
    });
    expect(nmSettableValue("connection.mptcp-flags", "0x22 (enabled,subflow)")).toBe("34");
  });

  it("with nothing to set only reapply, and have no inverse on a host without that connection", () => {
    expect(describeOp({ ...op, set: {} })).toBe("nmcli device reapply eno2 (NetworkManager)");
    expectOperation(op, nmHostState(), {
      render: { kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "ipv4.routes", "192.168.0.0/24 table=102"] },
      mayCut: true,
      inverse: [{ kind: "call", fn: "nm_apply", args: [ENO2, "eno2", "ipv4.routes", ""] }],
    });
    expect(nmHostState().nm!.length).toBe(2);
  });
});
