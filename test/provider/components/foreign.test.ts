import { describe, expect, it } from "vitest";
import { groupConfigSchema } from "../../../provider/components/config";
import { asDeclared, foreignChecks } from "../../../provider/components/foreign";
import type { ActualEndpoint } from "../../../provider/state/types";

/** The lab's pair, as the schema gives it (limits 2/2, one signal on server1, one subflow on server2). */
function config(server1Policy = "keep") {
  const host = (name: string, role: string, n: number, endpoint: Record<string, unknown>, foreignEndpoints: string) => ({
    name,
    role,
    connection: { host: `172.31.${n}.2` },
    interfaces: [
      { name: "eno1", addresses: [`10.0.0.${n}/24`] },
      { name: "eno2", addresses: [`192.168.0.${n}/24`] },
    ],
    limits: { subflows: 2, addAddrAccepted: 2 },
    endpoints: [endpoint],
    foreignEndpoints,
  });
  return groupConfigSchema.parse({
    hosts: [host("server1", "server", 1, { address: "192.168.0.1", dev: "eno2", flags: ["signal"] }, server1Policy), host("server2", "client", 2, { address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }, "keep")],
  });
}

/** An endpoint as the host's probe reads it. */
const seen = (address: string, id: number, dev: string, ...flags: ActualEndpoint["flags"]): ActualEndpoint => ({ address, id, dev, flags });

describe("foreignChecks", () => {
  it("passes when the foreign endpoints stay within the limits (mptcpd's flagless ones count for nothing)", () => {
    expect(foreignChecks(config(), { server1: [seen("172.31.1.2", 3, "mgmt0")], server2: [seen("10.0.0.2", 1, "eno1")] })).toEqual([]);
  });

  it("counts a server's foreign signal endpoints against its clients' add_addr_accepted, naming them and the fix", () => {
    const failures = foreignChecks(config(), { server1: [seen("10.0.0.1", 5, "eno1", "signal"), seen("172.31.1.2", 6, "mgmt0", "signal")] });
    expect(failures).toContainEqual({
      property: "hosts[1].limits.addAddrAccepted",
      reason: expect.stringMatching(/announces 3 address\(es\).*counting the foreign endpoints the hosts have \(server1: 10\.0\.0\.1 id 5 signal dev eno1; 172\.31\.1\.2 id 6 signal dev mgmt0\); or set foreignEndpoints: remove/),
    });
  });

  it("does not count the endpoints of a host that removes them", () => {
    expect(foreignChecks(config("remove"), { server1: [seen("10.0.0.1", 5, "eno1", "signal"), seen("172.31.1.2", 6, "mgmt0", "signal")] })).toEqual([]);
  });

  it("takes the host's endpoint into the stack's form; the kernel's implicit flag counts for nothing", () => {
    expect(asDeclared({ address: "192.168.0.2", port: 5201, id: 8, dev: "eno2", flags: ["signal", "implicit"] })).toEqual({ address: "192.168.0.2", port: 5201, dev: "eno2", flags: ["signal"] });
  });
});
