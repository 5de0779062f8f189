/** Each rule of provider/components/groupRules.ts: a vector it refuses (naming the field) and one it accepts. */
import { describe, expect, it } from "vitest";
import { checkGroupConfig } from "../../../provider/components/config";
import { machineKey } from "../../../provider/components/groupRules";
import { connectionSchema } from "../../../provider/connection";
import { labStackHosts } from "../../support/labStack";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Hosts = any[];

/** The lab stack after `edit`: its failures as "property: reason". */
function failures(edit: (hosts: Hosts) => void): string[] {
  const hosts = labStackHosts();
  edit(hosts);
  return checkGroupConfig({ hosts }, process.cwd()).failures.map((f) => `${f.property}: ${f.reason}`);
}

describe("group rules", () => {
  it("the lab stack passes them all", () => {
    expect(failures(() => undefined)).toEqual([]);
  });

  it("J1: one machine declared twice, however its host is spelled", () => {
    for (const spelling of ["172.31.1.2", "::ffff:172.31.1.2", "::FFFF:AC1F:0102"]) {
      expect(failures((h) => (h[1].connection.host = spelling))).toContainEqual(expect.stringMatching(/^hosts\[1\]\.connection\.host: .* is the machine hosts\[0\] \(server1\) already declares$/));
    }
    expect(machineKey(connectionSchema.parse({ host: "Server.Example." }))).toBe(machineKey(connectionSchema.parse({ host: "server.example" })));
    expect(failures((h) => (h[1].connection.port = 2222))).toEqual([]);
  });

  it("J2: one address on two hosts", () => {
    expect(failures((h) => (h[1].interfaces[0].addresses = ["10.0.0.1/24"]))).toContainEqual("hosts[1].interfaces[0].addresses[0]: 10.0.0.1 is also server1's address");
  });

  it("B13: an MTU below 1280 on an interface with IPv6 addresses", () => {
    expect(failures((h) => Object.assign(h[1].interfaces[1], { mtu: 1279, addresses: ["192.168.0.2/24", "fd00:2::2/64"] }))).toContainEqual(expect.stringMatching(/^hosts\[1\]\.interfaces\[1\]\.mtu: an MTU below 1280 removes IPv6 from eno2/));
    expect(failures((h) => Object.assign(h[1].interfaces[1], { mtu: 1279 }))).toEqual([]);
  });

  it("G7: disable_ipv6=1 where IPv6 addresses are declared", () => {
    const f = failures((h) => {
      h[1].interfaces[1].addresses.push("fd00:2::2/64");
      h[1].sysctls["net.ipv6.conf.eno2.disable_ipv6"] = 1;
    });
    expect(f).toContainEqual(expect.stringMatching(/^hosts\[1\]\.sysctls\.net\.ipv6\.conf\.eno2\.disable_ipv6: disable_ipv6=1 removes the IPv6 addresses declared on eno2/));
    expect(failures((h) => (h[1].sysctls["net.ipv6.conf.all.disable_ipv6"] = 1))).toEqual([]);
  });

  it("G6: the host's own net.mptcp keys in sysctls", () => {
    expect(failures((h) => (h[0].sysctls["net.mptcp.enabled"] = 1))).toContainEqual(expect.stringMatching(/^hosts\[0\]\.sysctls\.net\.mptcp\.enabled: net\.mptcp\.enabled is the host's own setting/));
    expect(failures((h) => (h[0].sysctls["net.mptcp.add_addr_timeout"] = 60))).toEqual([]);
  });

  it("C15: endpoints under the userspace path manager", () => {
    expect(failures((h) => (h[0].pathManager = "userspace"))).toContainEqual(expect.stringMatching(/^hosts\[0\]\.endpoints: the userspace path manager ignores the in-kernel endpoints/));
  });

  it("E8: one rule selector in two tables", () => {
    const f = failures((h) => h[0].policyRoutes[1].rules.push({ from: "10.0.0.1", priority: 1001 }));
    expect(f).toContainEqual("hosts[0].policyRoutes[1].rules[1]: the rule priority 1001 from 10.0.0.1 also sends traffic to table 101: the kernel would use only the first");
    expect(failures((h) => h[0].policyRoutes[1].rules.push({ from: "10.0.0.1", priority: 1005 }))).toEqual([]);
  });

  it("J6: a route source the host does not have", () => {
    expect(failures((h) => (h[0].policyRoutes[0].routes[0].src = "10.0.0.9"))).toContainEqual("hosts[0].policyRoutes[0].routes[0].src: 10.0.0.9 is not one of this host's declared addresses");
    expect(failures((h) => (h[0].policyRoutes[0].routes[0].src = "10.0.0.1"))).toEqual([]);
  });

  it("J5: a gateway without a device, off every declared subnet", () => {
    expect(failures((h) => h[0].policyRoutes[0].routes.push({ dst: "default", via: "10.9.9.9" }))).toContainEqual(expect.stringMatching(/^hosts\[0\]\.policyRoutes\[0\]\.routes\[1\]\.via: gateway 10\.9\.9\.9 is on none of this host's declared subnets/));
    expect(failures((h) => h[0].policyRoutes[0].routes.push({ dst: "default", via: "10.0.0.254" }))).toEqual([]);
  });
});
