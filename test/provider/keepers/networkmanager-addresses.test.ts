/**
 * The NetworkManager keeper with an interface's addresses: they go into the connection NM has
 * active (NM removes addresses it does not know at every reapply), NM's own MPTCP endpoints are
 * turned off there, and a family the connection has turned off is refused with the fix.
 */
import { describe, expect, it } from "vitest";
import { nmMptcpDisabled } from "../../../provider/keepers/networkmanager";
import type { NmOp, Operation } from "../../../provider/operations";
import { interfaceDefinition, interfaceSchema, planInterface } from "../../../provider/resources/interface";
import { CONNECTION, planErrorOf } from "../../support/fixtures";
import { nmHostState } from "../../support/nm";

const ENO2 = interfaceSchema.parse({ connection: CONNECTION, name: "eno2", addresses: ["192.168.0.2/24"] });
const EXTRA = interfaceSchema.parse({ connection: CONNECTION, name: "eno2", addresses: ["192.168.0.2/24", "192.168.0.9/24"] });
const nmOps = (plan: Operation[]) => plan.filter((op): op is NmOp => op.type === "nm");
const disabled = () => nmHostState((c) => (c.settings["connection.mptcp-flags"] = "0x1"));

describe("an interface NetworkManager manages", () => {
  it("gets NM's own MPTCP endpoints turned off (the stack declares them), once", () => {
    expect(nmOps(planInterface(ENO2, nmHostState(), undefined))).toEqual([expect.objectContaining({ device: "eno2", set: { "connection.mptcp-flags": "disabled" } })]);
    expect(nmOps(planInterface(ENO2, disabled(), undefined))).toEqual([]);
  });

  it("puts an address the connection lacks into it, with the connection's own, applied by a reapply", () => {
    const ops = nmOps(planInterface(EXTRA, disabled(), undefined));
    expect(ops).toEqual([expect.objectContaining({ device: "eno2", set: { "ipv4.addresses": "192.168.0.2/24, 192.168.0.9/24" } })]);
    const after = nmHostState((c) => {
      c.settings["connection.mptcp-flags"] = "0x1";
      c.settings["ipv4.addresses"] = "192.168.0.2/24, 192.168.0.9/24";
    });
    after.links.find((l) => l.name === "eno2")!.addresses.push("192.168.0.9/24");
    expect(nmOps(planInterface(EXTRA, after, undefined))).toEqual([]);
  });

  it("drifts when NM's endpoints are turned back on or our address leaves the connection, and puts the connection back on delete", () => {
    const before = nmHostState();
    const after = nmHostState((c) => {
      c.settings["connection.mptcp-flags"] = "0x1";
      c.settings["ipv4.addresses"] = "192.168.0.2/24, 192.168.0.9/24";
    });
    after.links.find((l) => l.name === "eno2")!.addresses.push("192.168.0.9/24");
    // No boot part (persist: false), so `persisted` says only whether NM keeps them.
    const outs = interfaceDefinition.outputs({ ...EXTRA, persist: false }, after, before, undefined);
    expect(outs).toMatchObject({ through: "networkmanager", persisted: true, addedAddresses: ["192.168.0.9/24"] });
    expect(outs.kept).toMatchObject({ device: "eno2", previous: { "ipv4.addresses": "192.168.0.2/24", "connection.mptcp-flags": "0" } });
    expect(interfaceDefinition.observe(outs, nmHostState())?.persisted).toBe(false);
    const removal = nmOps(interfaceDefinition.remove(outs, after));
    expect(removal).toEqual([expect.objectContaining({ set: { "ipv4.addresses": "192.168.0.2/24", "connection.mptcp-flags": "0" }, note: "(restore)" })]);
  });

  it("refuses an IPv6 address where the connection turned IPv6 off, at up and at preview, naming the fix", () => {
    const v6 = interfaceSchema.parse({ connection: CONNECTION, name: "eno2", addresses: ["192.168.0.2/24", "fd00:2::2/64"] });
    const off = () => nmHostState((c) => (c.settings["ipv6.method"] = "disabled"));
    const message = planErrorOf(() => planInterface(v6, off(), undefined));
    expect(message).toContain("addresses[1]: eno2 is managed by NetworkManager (connection eno2), whose ipv6.method is disabled: it would not keep fd00:2::2/64");
    expect(message).toContain("Fix: nmcli connection modify eno2 ipv6.method auto (or manual, with an address of the connection's own)");
    const outs = interfaceDefinition.outputs(ENO2, off(), off(), undefined);
    expect(interfaceDefinition.refuse!(outs, v6).map((f) => f.property)).toEqual(["addresses[1]"]);
    expect(interfaceDefinition.refuse!(outs, ENO2)).toEqual([]);
  });

  it.each([
    ["0x1", true],
    ["0x22", false],
    ["0x0", false],
    ["disabled", true],
    ["0x23 (disabled,enabled,subflow)", true],
  ])("reads mptcp-flags %s as disabled: %s", (printed, off) => {
    expect(nmMptcpDisabled(printed)).toBe(off);
  });
});
