/**
 * The components under Pulumi's mocks: what they register (names, types, the inputs each
 * resource gets), and that a bad configuration is refused before anything is registered.
 * (Mocks never run the provider: the real CRUD is in test/e2e.)
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { MptcpGroup, MptcpServer } from "../../../provider/package";
import { labStackHosts } from "../../support/labStack";

const registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

beforeEach(async () => {
  registered.length = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    true,
  );
});

/** The lab stack's hosts, with key files that exist. */
const labHosts = labStackHosts;

/** Lets the mock monitor receive every registration. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("MptcpGroup", () => {
  it("registers a server component per host with its eight resources (the preflight among them), and the client's verification", async () => {
    new MptcpGroup("lab", { hosts: labHosts(), verify: { seconds: 2 } });
    await settle();
    const names = registered.map((r) => `${r.type.split(":").pop()} ${r.name}`).sort();
    expect(names).toEqual(
      [
        "MptcpGroup lab",
        ...["server1", "server2"].flatMap((s) => [`MptcpServer ${s}`, `MptcpHost ${s}-mptcp`, `NetworkInterface ${s}-eno1`, `NetworkInterface ${s}-eno2`, `PolicyRoute ${s}-table-101`, `PolicyRoute ${s}-table-102`, `Preflight ${s}-preflight`, `SysctlTuning ${s}-tuning`]),
        "Endpoint server1-endpoint-192.168.0.1",
        "Endpoint server2-endpoint-192.168.0.2",
        "MptcpVerification server2-verify",
      ].sort(),
    );
  });

  it("keeps resource options out of the resources' inputs", async () => {
    const hosts = labHosts();
    hosts[0].options = { protect: true, aliases: ["old"] };
    hosts[0].interfaces[0].options = { ignoreChanges: ["mtu"] };
    hosts[0].policyRoutes[0].options = { retainOnDelete: true };
    hosts[0].endpoints[0].options = { aliases: ["x"] };
    new MptcpGroup("lab", { hosts });
    await settle();
    const server1 = registered.filter((r) => r.name.startsWith("server1-"));
    expect(server1).toHaveLength(8);
    for (const r of server1) expect(Object.keys(r.inputs), r.name).not.toContain("options");
  });

  it("refuses a bad configuration with every field and reason, before registering anything", async () => {
    const hosts = labHosts();
    hosts[1].limits.addAddrAccepted = 0;
    hosts[0].interfaces[1].name = "eno 2";
    expect(() => new MptcpGroup("lab", { hosts, verify: { seconds: 0 } })).toThrow(
      /invalid configuration of MptcpGroup lab \(nothing was changed on any host\):\n {2}hosts\[0\]\.interfaces\[1\]\.name: .*whitespace[\s\S]*verify\.seconds: seconds is 1\.\.60/,
    );
    await settle();
    expect(registered).toEqual([]);
  });
});

describe("MptcpServer", () => {
  it("names a bad field of its own host without the group's path", () => {
    const { name: _name, ...host } = labHosts()[0];
    host.endpoints[0].flags = [];
    expect(() => new MptcpServer("server1", host)).toThrow(/invalid configuration of MptcpServer server1[^\n]*\n {2}endpoints\[0\]\.flags: give at least one flag/);
  });
});
