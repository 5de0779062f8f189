import { describe, expect, it } from "vitest";
import { preflightDefinition, preflightRefusals, withDeclaredAddresses, type PreflightInputs } from "../../../provider/resources/preflight";
import { CONNECTION, hostState, planErrorOf } from "../../support/fixtures";
import { nmHostState } from "../../support/nm";

/** The lab client's declaration (server2), as MptcpServer hands it to the preflight. */
function declared(edit: (d: PreflightInputs["declared"]) => void = () => undefined): PreflightInputs {
  const d: PreflightInputs["declared"] = {
    mptcp: { enabled: true, limits: { subflows: 2, addAddrAccepted: 2 } },
    interfaces: [
      { name: "eno1", addresses: ["10.0.0.2/24"] },
      { name: "eno2", addresses: ["192.168.0.2/24"] },
    ],
    policyRoutes: [{ table: 102, rules: [{ from: "192.168.0.2", priority: 1002 }], routes: [{ dst: "192.168.0.0/24", dev: "eno2", scope: "link" }] }],
    endpoints: [{ address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }],
    tunings: [{ name: "tuning", values: { "net.ipv4.tcp_rmem": "4096 131072 33554432" } }],
  };
  edit(d);
  return preflightDefinition.schema.parse({ connection: CONNECTION, declared: d });
}

describe("preflight", () => {
  it("passes and plans nothing when the host can take every declared object", () => {
    expect(preflightDefinition.plan(declared(), nmHostState(), undefined)).toEqual([]);
  });

  it("lists every refusal of every kind at once, before anything is applied", () => {
    const p = declared((d) => {
      d.interfaces[1]!["addresses"] = ["192.168.0.2/24", "fd00:2::2/64"];
      d.policyRoutes.push({ table: 202, rules: [{ from: "fd00:2::2" }], routes: [{ dst: "fd00:2::/64", dev: "eno2" }] });
      d.endpoints.push({ address: "10.0.0.2", dev: "eno9", flags: ["subflow"] });
    });
    const refusals = preflightRefusals(p, nmHostState());
    expect(refusals).toHaveLength(3);
    expect(refusals[0]).toMatch(/^interface eno2: addresses\[1\]: eno2 is managed by NetworkManager \(connection eno2\), whose ipv6\.method is disabled/);
    expect(refusals[1]).toMatch(/^table 202: rules\[0\]\.priority: .*requires a priority on every routing rule/);
    expect(refusals[2]).toMatch(/^endpoint 10\.0\.0\.2: interface eno9 does not exist/);
    expect(planErrorOf(() => preflightDefinition.plan(p, nmHostState(), undefined))).toMatch(/^preflight on root@172\.31\.2\.2:22: nothing was changed on the host, because these 3 would be refused:\n {2}- /);
  });

  it("plans routes and endpoints on the host as the interfaces will leave it (a port endpoint on an address the stack adds)", () => {
    const p = declared((d) => {
      d.interfaces[1]!["addresses"] = ["192.168.0.2/24", "192.168.7.2/24"];
      d.endpoints.push({ address: "192.168.7.2", dev: "eno2", flags: ["signal"], port: 10000 });
    });
    expect(preflightRefusals(p, hostState())).toEqual([]);
    const without = declared((d) => d.endpoints.push({ address: "192.168.7.2", dev: "eno2", flags: ["signal"], port: 10000 }));
    expect(preflightRefusals(without, hostState())).toEqual([expect.stringMatching(/192\.168\.7\.2 is not an address of the host/)]);
  });

  it("projects addresses in canonical form and leaves other links alone", () => {
    const state = withDeclaredAddresses(hostState(), [{ name: "eno2", addresses: ["FD00:2:0::2/64"] }]);
    expect(state.links.find((l) => l.name === "eno2")!.addresses).toContain("fd00:2::2/64");
    expect(state.links.find((l) => l.name === "eno1")).toEqual(hostState().links.find((l) => l.name === "eno1"));
  });

  it("holds nothing on the host: observing keeps it, removing it changes nothing", () => {
    const p = declared();
    expect(preflightDefinition.observe(p, hostState())).toBe(p);
    expect(preflightDefinition.remove(p, hostState())).toEqual([]);
  });
});
