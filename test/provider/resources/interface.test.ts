import { describe, expect, it } from "vitest";
import {
  interfaceDefinition,
  interfaceSchema,
  planInterface,
  type InterfaceInputs,
  type InterfaceOutputs,
} from "../../../provider/resources/interface";
import type { HostState } from "../../../provider/state/types";
import { describe as describeOp } from "../../../provider/operations";
import { applyFileChanges, checkFailures, CONNECTION, hostState, ipLines, planErrorOf, removedPaths, writtenContent } from "../../support/fixtures";

const iface = (input: Record<string, unknown>): InterfaceInputs => interfaceSchema.parse({ connection: CONNECTION, ...input });
const outputsOf = (inputs: InterfaceInputs, addedAddresses: string[]): InterfaceOutputs => ({ ...inputs, addedAddresses, operState: "UP", persisted: true });
const PART = "/etc/mptcp-pulumi/parts/20-interface-eno1.part";

/** The fixture host, with this SSH session arriving on `address`. */
function sessionOn(address: string): HostState {
  const state = hostState("6.1");
  state.sessionLocalAddress = address;
  return state;
}

describe("interfaceSchema", () => {
  it("sorts and de-duplicates addresses", () => {
    expect(iface({ name: "eno1", addresses: ["192.168.0.2/24", "10.0.0.2/24", "10.0.0.2/24"] }).addresses).toEqual(["10.0.0.2/24", "192.168.0.2/24"]);
  });

  it("canonicalizes addresses as the kernel prints them", () => {
    expect(iface({ name: "eno1", addresses: ["FD00:2:0:0:0:0:0:2/64"] }).addresses).toEqual(["fd00:2::2/64"]);
  });

  it("defaults to up, persisted, without session disruption", () => {
    expect(iface({ name: "eno1" })).toMatchObject({ addresses: [], up: true, persist: true, allowSessionDisruption: false });
  });

  it("refuses a bad address on its position", () => {
    const failures = checkFailures(interfaceSchema, { name: "eno1", addresses: ["10.0.0.2/24", "10.0.0.2/33"] });
    expect(failures).toEqual([{ property: "addresses[1]", reason: expect.stringContaining("is not an address with prefix") }]);
  });

  it("refuses an address listed twice with different prefixes", () => {
    const failures = checkFailures(interfaceSchema, { name: "eno1", addresses: ["10.0.0.2/24", "10.0.0.2/16"] });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.reason).toContain("10.0.0.2 is listed twice");
  });

  it("names the input position of an address listed twice, not its sorted position", () => {
    const failures = checkFailures(interfaceSchema, { name: "eno1", addresses: ["10.0.0.2/24", "192.168.9.9/24", "10.0.0.2/16"] });
    expect(failures).toHaveLength(1);
    expect(["addresses[0]", "addresses[2]"]).toContain(failures[0]!.property);
  });

  it("refuses an MTU below 68 on mtu", () => {
    const failures = checkFailures(interfaceSchema, { name: "eno1", mtu: 67 });
    expect(failures).toEqual([{ property: "mtu", reason: expect.stringContaining("68..65535") }]);
  });

  it("refuses a hostile interface name on name", () => {
    const failures = checkFailures(interfaceSchema, { name: "eno1$(reboot)" });
    expect(failures.map((f) => f.property)).toContain("name");
  });
});

describe("planInterface", () => {
  it("plans no ip change for an interface that already matches", () => {
    expect(ipLines(planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/24"] }), hostState("6.1"), undefined))).toEqual([]);
  });

  it("writes the boot part on first run", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/24"] }), hostState("6.1"), undefined);
    expect(writtenContent(changes, PART)).toBe("link dev=eno1 state=up\naddress dev=eno1 cidr=10.0.0.2/24\n");
  });

  it("is idempotent once the boot part is written", () => {
    const desired = iface({ name: "eno1", addresses: ["10.0.0.2/24"], mtu: 1500 });
    const state = hostState("6.1");
    applyFileChanges(state, planInterface(desired, state, undefined));
    expect(planInterface(desired, state, undefined)).toEqual([]);
  });

  it("adds a missing address", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/24", "10.0.1.2/24"] }), hostState("6.1"), undefined);
    expect(ipLines(changes)).toEqual(["address add 10.0.1.2/24 dev eno1"]);
  });

  it("changes a prefix by deleting and re-adding the address", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/16"] }), hostState("6.1"), undefined);
    expect(ipLines(changes)).toEqual(["address del 10.0.0.2/24 dev eno1", "address add 10.0.0.2/16 dev eno1"]);
  });

  it("leaves an adopted address in place when it is no longer declared", () => {
    expect(ipLines(planInterface(iface({ name: "eno1", addresses: [] }), hostState("6.1"), undefined))).toEqual([]);
  });

  it("removes an address it added once it is no longer declared", () => {
    const previous = outputsOf(iface({ name: "eno1", addresses: ["10.0.0.2/24"] }), ["10.0.0.2/24"]);
    const changes = planInterface(iface({ name: "eno1", addresses: [] }), hostState("6.1"), previous);
    expect(ipLines(changes)).toEqual(["address del 10.0.0.2/24 dev eno1"]);
  });

  it("sets a new MTU and says what it was", () => {
    const changes = planInterface(iface({ name: "eno1", mtu: 9000 }), hostState("6.1"), undefined);
    expect(ipLines(changes)).toEqual(["link set dev eno1 mtu 9000"]);
    expect(describeOp(changes[0]!)).toContain("(was 1500)");
  });

  it("brings a down link up", () => {
    const state = hostState("6.1");
    state.links.find((l) => l.name === "eno1")!.up = false;
    expect(ipLines(planInterface(iface({ name: "eno1" }), state, undefined))).toEqual(["link set dev eno1 up"]);
  });

  it("sets a link down when asked", () => {
    expect(ipLines(planInterface(iface({ name: "eno1", up: false }), hostState("6.1"), undefined))).toEqual(["link set dev eno1 down"]);
  });

  it("refuses an interface the host does not have, listing the ones it has", () => {
    const message = planErrorOf(() => planInterface(iface({ name: "eno9" }), hostState("6.1"), undefined));
    expect(message).toContain("no interface named eno9 on the host (found: lo, eno1, eno2)");
  });

  it("matches an IPv6 address written differently from the kernel's canonical form", () => {
    const state = hostState("6.1");
    state.links.find((l) => l.name === "eno1")!.addresses.push("2001:db8::2/64");
    const changes = planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/24", "2001:DB8:0:0::2/64"] }), state, undefined);
    expect(ipLines(changes)).toEqual([]);
  });
});

describe("planInterface: protecting the SSH session's address", () => {
  const added = (addresses: string[]) => outputsOf(iface({ name: "eno1", addresses }), addresses);

  it("refuses to remove the address the session arrives on", () => {
    const message = planErrorOf(() => planInterface(iface({ name: "eno1", addresses: [] }), sessionOn("10.0.0.2"), added(["10.0.0.2/24"])));
    expect(message).toContain("refusing to remove 10.0.0.2/24: this SSH session arrives on 10.0.0.2");
    expect(message).toContain("allowSessionDisruption");
  });

  it("removes it when allowSessionDisruption is set", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: [], allowSessionDisruption: true }), sessionOn("10.0.0.2"), added(["10.0.0.2/24"]));
    expect(ipLines(changes)).toEqual(["address del 10.0.0.2/24 dev eno1"]);
  });

  it("refuses to change the prefix of the session's address", () => {
    const message = planErrorOf(() => planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/16"] }), sessionOn("10.0.0.2"), undefined));
    expect(message).toContain("refusing to change the prefix of 10.0.0.2");
  });

  it("refuses to set the session's link down", () => {
    const message = planErrorOf(() => planInterface(iface({ name: "eno1", up: false }), sessionOn("10.0.0.2"), undefined));
    expect(message).toContain("refusing to set eno1 down");
  });

  it("removes other addresses while the session uses another one", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: [] }), sessionOn("172.31.2.2"), added(["10.0.0.2/24"]));
    expect(ipLines(changes)).toEqual(["address del 10.0.0.2/24 dev eno1"]);
  });

  it("refuses to remove the session's address on delete", () => {
    const message = planErrorOf(() => interfaceDefinition.remove(added(["10.0.0.2/24"]), sessionOn("10.0.0.2")));
    expect(message).toContain("refusing to remove 10.0.0.2/24");
  });
});

describe("interfaceDefinition.outputs", () => {
  it("owns only the addresses that were not there before", () => {
    const before = hostState("6.1");
    const after = hostState("6.1");
    after.links.find((l) => l.name === "eno1")!.addresses.push("10.0.1.2/24");
    const outs = interfaceDefinition.outputs(iface({ name: "eno1", addresses: ["10.0.0.2/24", "10.0.1.2/24"] }), after, before, undefined);
    expect(outs.addedAddresses).toEqual(["10.0.1.2/24"]);
    expect(outs.operState).toBe("DOWN");
  });

  it("keeps owning addresses it added in an earlier run", () => {
    const state = hostState("6.1");
    const desired = iface({ name: "eno1", addresses: ["10.0.0.2/24"] });
    expect(interfaceDefinition.outputs(desired, state, state, outputsOf(desired, ["10.0.0.2/24"])).addedAddresses).toEqual(["10.0.0.2/24"]);
  });
});

describe("interfaceDefinition.observe", () => {
  it("gives undefined when the link is gone", () => {
    expect(interfaceDefinition.observe(outputsOf(iface({ name: "eno9" }), []), hostState("6.1"))).toBeUndefined();
  });

  it("reports only declared addresses still present, and the link state", () => {
    const state = hostState("6.1");
    state.links.find((l) => l.name === "eno1")!.up = false;
    const seen = interfaceDefinition.observe(outputsOf(iface({ name: "eno1", addresses: ["10.0.0.2/24", "10.0.1.2/24"] }), []), state)!;
    expect(seen).toMatchObject({ addresses: ["10.0.0.2/24"], up: false, operState: "DOWN" });
  });

  it("reports the MTU only when one was declared", () => {
    expect(interfaceDefinition.observe(outputsOf(iface({ name: "eno1" }), []), hostState("6.1"))!.mtu).toBeUndefined();
    expect(interfaceDefinition.observe(outputsOf(iface({ name: "eno1", mtu: 9000 }), []), hostState("6.1"))!.mtu).toBe(1500);
  });
});

describe("interfaceDefinition.remove", () => {
  it("deletes only the addresses it added", () => {
    const state = hostState("6.1");
    const changes = interfaceDefinition.remove(outputsOf(iface({ name: "eno1", addresses: ["10.0.0.2/24"] }), []), state);
    expect(ipLines(changes)).toEqual([]);
  });

  it("deletes an address it added and its boot part", () => {
    const desired = iface({ name: "eno1", addresses: ["10.0.0.2/24"] });
    const state = applyFileChanges(hostState("6.1"), planInterface(desired, hostState("6.1"), undefined));
    const changes = interfaceDefinition.remove(outputsOf(desired, ["10.0.0.2/24"]), state);
    expect(ipLines(changes)).toEqual(["address del 10.0.0.2/24 dev eno1"]);
    expect(removedPaths(changes)).toContain(PART);
  });
});

describe("interfaceDefinition.replaces", () => {
  it("replaces on a new name only", () => {
    const old = outputsOf(iface({ name: "eno1" }), []);
    expect(interfaceDefinition.replaces(old, iface({ name: "eno2" }))).toEqual(["name"]);
    expect(interfaceDefinition.replaces(old, iface({ name: "eno1", addresses: ["10.0.0.2/24"], mtu: 9000 }))).toEqual([]);
  });
});

describe("what delete puts back", () => {
  it("restores an address whose prefix it changed, the MTU and the link state", () => {
    const before = hostState("6.1");
    const desired = iface({ name: "eno1", addresses: ["10.0.0.2/16"], mtu: 9000 });
    const outs = interfaceDefinition.outputs(desired, before, before, undefined);
    expect(outs.original).toEqual({ addresses: ["10.0.0.2/24"], mtu: 1500, up: true });
    expect(outs.addedAddresses).toEqual(["10.0.0.2/16"]);
    const now = hostState("6.1");
    const link = now.links.find((l) => l.name === "eno1")!;
    link.addresses = ["10.0.0.2/16"];
    link.mtu = 9000;
    expect(ipLines(interfaceDefinition.remove(outs, now))).toEqual([
      "address del 10.0.0.2/16 dev eno1",
      "address replace 10.0.0.2/24 dev eno1",
      "link set dev eno1 mtu 1500",
    ]);
  });

  it("does not restore a link-local address (the kernel's, per NIC: a re-created NIC has another)", () => {
    const before = hostState("6.1");
    before.links.find((l) => l.name === "eno1")!.addresses.push("fe80::1/64");
    const outs = interfaceDefinition.outputs(iface({ name: "eno1", addresses: ["10.0.0.2/24"] }), before, before, undefined);
    expect(outs.original!.addresses).toContain("fe80::1/64");
    expect(ipLines(interfaceDefinition.remove(outs, hostState("6.1")))).toEqual([]);
  });

  it("persists a link declared down as down", () => {
    const changes = planInterface(iface({ name: "eno1", addresses: ["10.0.0.2/24"], up: false, allowSessionDisruption: true }), hostState("6.1"), undefined);
    expect(writtenContent(changes, PART)).toContain("link dev=eno1 state=down");
  });
});
