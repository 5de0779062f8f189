import { describe, expect, it } from "vitest";
import type { NmOp, Operation } from "../../../provider/operations";
import { interfaceDefinition, interfaceSchema, planInterface } from "../../../provider/resources/interface";
import { nmMptcpDisabled } from "../../../provider/resources/nmMptcp";
import { CONNECTION, planErrorOf } from "../../support/fixtures";
import { nmHostState } from "../../support/nm";

const ENO2 = interfaceSchema.parse({ connection: CONNECTION, name: "eno2", addresses: ["192.168.0.2/24"] });
const nmOps = (plan: Operation[]) => plan.filter((op): op is NmOp => op.type === "nm");
const disabled = nmHostState((c) => (c.settings["connection.mptcp-flags"] = "0x1"));

describe("an interface NetworkManager manages", () => {
  it("gets NM's own MPTCP endpoints turned off (the stack declares them), once", () => {
    expect(nmOps(planInterface(ENO2, nmHostState(), undefined))).toEqual([expect.objectContaining({ device: "eno2", set: { "connection.mptcp-flags": "disabled" } })]);
    expect(nmOps(planInterface(ENO2, disabled, undefined))).toEqual([]);
  });

  it("drifts when NM's endpoints are turned back on, and gets its flags back on delete", () => {
    // No boot part (persist: false), so `persisted` says only whether NM's endpoints stay off.
    const outs = interfaceDefinition.outputs({ ...ENO2, persist: false }, disabled, nmHostState(), undefined);
    expect(outs.nm).toMatchObject({ device: "eno2", previousFlags: "0" });
    expect(outs.persisted).toBe(true);
    expect(interfaceDefinition.observe(outs, nmHostState())?.persisted).toBe(false);
    expect(nmOps(interfaceDefinition.remove(outs, disabled))).toEqual([expect.objectContaining({ set: { "connection.mptcp-flags": "0" }, note: "(restore)" })]);
  });

  it("refuses an address the connection lacks (NM removes it at reapply), at up and at preview, naming the fix", () => {
    const extra = interfaceSchema.parse({ connection: CONNECTION, name: "eno2", addresses: ["192.168.0.2/24", "192.168.0.9/24"] });
    const message = planErrorOf(() => planInterface(extra, nmHostState(), undefined));
    expect(message).toContain("addresses[1]: eno2 is managed by NetworkManager (connection eno2), which removes 192.168.0.9/24");
    expect(message).toContain("nmcli connection modify eno2 +ipv4.addresses 192.168.0.9/24");
    const outs = interfaceDefinition.outputs(ENO2, disabled, nmHostState(), undefined);
    expect(interfaceDefinition.refuse!(outs, extra).map((f) => f.property)).toEqual(["addresses[1]"]);
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
