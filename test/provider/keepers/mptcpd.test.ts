import { describe, expect, it } from "vitest";
import { mptcpdRefusals } from "../../../provider/keepers/mptcpd";
import { hostSchema, planHost } from "../../../provider/resources/host";
import type { MptcpdFacts } from "../../../provider/state/types";
import { CONNECTION, hostState, planErrorOf } from "../../support/fixtures";

/** mptcpd as Debian 12 runs it after `apt install mptcpize`: both plugins installed, none listed. */
const RUNNING: MptcpdFacts = { running: true, plugins: ["addr_adv", "sspi"], config: { "path-manager": "addr_adv" } };

describe("mptcpd beside the stack", () => {
  it("is refused, with the fix, when its addr_adv plugin would reset the declared limits or endpoints", () => {
    const [refusal] = mptcpdRefusals(RUNNING, { limits: true, endpoints: 1 });
    expect(refusal).toMatchObject({ property: "limits", reason: expect.stringContaining("Fix: systemctl disable --now mptcp.service") });
    expect(mptcpdRefusals(RUNNING, { limits: false, endpoints: 2 })).toEqual([expect.objectContaining({ property: "declaredEndpoints" })]);
  });

  it("is no conflict when it is stopped, runs without addr_adv, or the stack leaves limits and endpoints alone", () => {
    expect(mptcpdRefusals({ ...RUNNING, running: false }, { limits: true, endpoints: 1 })).toEqual([]);
    expect(mptcpdRefusals({ ...RUNNING, plugins: ["sspi"] }, { limits: true, endpoints: 1 })).toEqual([]);
    expect(mptcpdRefusals(RUNNING, { limits: false, endpoints: 0 })).toEqual([]);
  });

  it("stops MptcpHost's plan before any change (and so the preflight)", () => {
    const state = hostState();
    state.facts.managers.mptcpd = RUNNING;
    const inputs = hostSchema.parse({ connection: CONNECTION, limits: { subflows: 2, addAddrAccepted: 2 } });
    expect(planErrorOf(() => planHost(inputs, state, undefined))).toMatch(/^MPTCP host on .*: limits: mptcpd runs \(mptcp\.service\) with its addr_adv plugin/);
  });
});
