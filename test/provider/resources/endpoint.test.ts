import { describe, expect, it } from "vitest";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, UDEV_RULE_PATH, UNIT_PATH } from "../../../provider/hostpaths";
import {
  addArgs,
  endpointDefinition,
  endpointSchema,
  MAX_ENDPOINTS,
  planEndpoint,
  type EndpointInputs,
  type EndpointOutputs,
} from "../../../provider/resources/endpoint";
import type { HostState } from "../../../provider/state/types";
import { describe as describeOp } from "../../../provider/operations";
import { applyFileChanges, checkFailures, CONNECTION, hostState, ipLines, planErrorOf, removedPaths, writtenContent } from "../../support/fixtures";

const endpoint = (input: Record<string, unknown>): EndpointInputs => endpointSchema.parse({ connection: CONNECTION, ...input });
const outputsOf = (inputs: EndpointInputs, endpointId: number): EndpointOutputs => ({ ...inputs, endpointId, persisted: true });

/** The lab client's subflow endpoint, as the fixtures hold it (id 1). */
const SUBFLOW = { address: "192.168.0.2", dev: "eno2", flags: ["subflow"] };
const PART = "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part";

describe("endpointSchema", () => {
  it("accepts an address alone with no flags", () => {
    expect(endpoint({ address: "192.168.0.2" }).flags).toEqual([]);
  });

  it("sorts and de-duplicates flags", () => {
    expect(endpoint({ address: "192.168.0.2", flags: ["subflow", "backup", "subflow"] }).flags).toEqual(["backup", "subflow"]);
  });

  it("accepts a port with the signal flag", () => {
    expect(checkFailures(endpointSchema, { address: "192.168.0.1", port: 5201, flags: ["signal"] })).toEqual([]);
  });

  it("refuses signal with fullmesh on flags", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", flags: ["signal", "fullmesh"] });
    expect(failures).toEqual([{ property: "flags", reason: expect.stringContaining("signal and fullmesh cannot be combined") }]);
  });

  it("refuses a port without signal on port", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", port: 5201, flags: ["backup"] });
    expect(failures).toEqual([{ property: "port", reason: expect.stringContaining("only valid with the signal flag") }]);
  });

  it("refuses a port with subflow on port, even with signal", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", port: 5201, flags: ["signal", "subflow"] });
    expect(failures).toEqual([{ property: "port", reason: expect.stringContaining("cannot be used with the subflow flag") }]);
  });

  it("refuses id 0 on id", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", id: 0 });
    expect(failures).toEqual([{ property: "id", reason: expect.stringContaining("1..255") }]);
  });

  it("refuses id 256 on id", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", id: 256 });
    expect(failures).toEqual([{ property: "id", reason: expect.stringContaining("1..255") }]);
  });

  it("accepts ids 1 and 255", () => {
    expect(checkFailures(endpointSchema, { address: "192.168.0.1", id: 1 })).toEqual([]);
    expect(checkFailures(endpointSchema, { address: "192.168.0.1", id: 255 })).toEqual([]);
  });

  it("refuses the kernel's own implicit flag on the flag's position", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", flags: ["subflow", "implicit"] });
    expect(failures).toEqual([{ property: "flags[1]", reason: expect.stringContaining('"implicit" is set by the kernel') }]);
  });

  it("refuses an unknown flag", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", flags: ["mesh"] });
    expect(failures).toEqual([{ property: "flags[0]", reason: expect.stringContaining('"mesh" is not a flag') }]);
  });

  it("refuses an address with a prefix on address", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1/24" });
    expect(failures).toEqual([{ property: "address", reason: expect.stringContaining("is not an IPv4 or IPv6 address") }]);
  });

  it("refuses a hostile device name on dev", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", dev: "eno2;reboot" });
    expect(failures.map((f) => f.property)).toContain("dev");
  });

  it("refuses a port above 65535 on port", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", port: 65536, flags: ["signal"] });
    expect(failures).toEqual([{ property: "port", reason: expect.stringContaining("1..65535") }]);
  });

  it("refuses an unknown input key", () => {
    expect(checkFailures(endpointSchema, { address: "192.168.0.1", backup: true })).not.toEqual([]);
  });

  it("refuses a connection host that would be read as an ssh option on connection.host", () => {
    const failures = checkFailures(endpointSchema, { address: "192.168.0.1", connection: { host: "-oProxyCommand=id" } });
    expect(failures.map((f) => f.property)).toContain("connection.host");
  });
});

describe("addArgs", () => {
  it("puts port, id and dev before the flags", () => {
    expect(addArgs(endpoint({ address: "192.168.0.1", port: 5201, id: 3, dev: "eno2", flags: ["signal", "backup"] }))).toEqual([
      "mptcp", "endpoint", "add", "192.168.0.1", "port", "5201", "id", "3", "dev", "eno2", "backup", "signal",
    ]);
  });
});

describe("planEndpoint: adoption", () => {
  it("adopts an identical endpoint with only the boot-replay changes", () => {
    const changes = planEndpoint(endpoint({ ...SUBFLOW, id: 1 }), hostState("6.1"));
    expect(ipLines(changes)).toEqual([]);
    expect(changes.map((c) => (c.type === "file" ? c.path : `${c.type} ${"action" in c ? c.action : ""}`))).toEqual([APPLY_SCRIPT_PATH, UNIT_PATH, DEVICE_UNIT_PATH, UDEV_RULE_PATH, "bootUnit enable", PART]);
  });

  it("writes the endpoint's add line as its boot part", () => {
    const desired = endpoint(SUBFLOW);
    expect(writtenContent(planEndpoint(desired, hostState("6.1")), PART)).toBe("endpoint address=192.168.0.2 dev=eno2 flags=subflow\n");
    expect(addArgs(desired).join(" ")).toBe("mptcp endpoint add 192.168.0.2 dev eno2 subflow");
  });

  it("plans nothing once the endpoint and its boot part are in place", () => {
    const desired = endpoint(SUBFLOW);
    const state = hostState("6.1");
    applyFileChanges(state, planEndpoint(desired, state));
    expect(planEndpoint(desired, state)).toEqual([]);
  });

  it("adopts an endpoint whose id and dev were left unset", () => {
    expect(ipLines(planEndpoint(endpoint({ address: "192.168.0.2", flags: ["subflow"] }), hostState("6.1")))).toEqual([]);
  });

  it("adopts on iproute2 5.15 too", () => {
    expect(ipLines(planEndpoint(endpoint({ ...SUBFLOW, id: 1 }), hostState("5.15")))).toEqual([]);
  });

  it("tells an endpoint with a port from the one without", () => {
    const changes = planEndpoint(endpoint({ address: "192.168.0.2", port: 5201, dev: "eno2", flags: ["signal"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual([]);
  });

  it("adopts an IPv6 endpoint written differently from the kernel's canonical form", () => {
    const state = hostState("6.1");
    state.endpoints.push({ id: 9, address: "2001:db8::2", flags: ["subflow"], dev: "eno1" });
    expect(ipLines(planEndpoint(endpoint({ address: "2001:DB8:0:0::2", dev: "eno1", flags: ["subflow"] }), state))).toEqual([]);
  });

  it("ignores the kernel's implicit flag when comparing", () => {
    const state = hostState("6.1");
    state.endpoints[0]!.flags = ["implicit", "subflow"];
    expect(ipLines(planEndpoint(endpoint(SUBFLOW), state))).toEqual([]);
  });
});

describe("planEndpoint: flag changes", () => {
  it("flips backup in place with `endpoint change` on iproute2 6.1", () => {
    const changes = planEndpoint(endpoint({ ...SUBFLOW, flags: ["subflow", "backup"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint change id 1 backup"]);
  });

  it("clears backup in place with nobackup on iproute2 6.1", () => {
    const changes = planEndpoint(endpoint({ address: "10.0.0.2", dev: "eno1", flags: ["signal"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint change id 7 nobackup"]);
  });

  it("flips fullmesh in place on iproute2 6.1", () => {
    const changes = planEndpoint(endpoint({ ...SUBFLOW, flags: ["subflow", "fullmesh"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint change id 1 fullmesh"]);
  });

  it("flips backup with delete and add on iproute2 5.15, which has no `endpoint change`", () => {
    const changes = planEndpoint(endpoint({ ...SUBFLOW, flags: ["subflow", "backup"] }), hostState("5.15"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 1", "mptcp endpoint add 192.168.0.2 dev eno2 backup subflow"]);
  });

  it("flips fullmesh with delete and add on iproute2 5.17 (changing fullmesh needs 5.18)", () => {
    const state = hostState("6.1");
    state.facts.iproute2Version = "5.17.0";
    const changes = planEndpoint(endpoint({ ...SUBFLOW, flags: ["subflow", "fullmesh"] }), state);
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 1", "mptcp endpoint add 192.168.0.2 dev eno2 fullmesh subflow"]);
  });

  it("refuses fullmesh on iproute2 5.15", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ ...SUBFLOW, flags: ["subflow", "fullmesh"] }), hostState("5.15")));
    expect(message).toContain("iproute2 5.15.0 does not know the fullmesh flag");
  });

  it("refuses laminar before iproute2 6.19", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ ...SUBFLOW, flags: ["laminar"] }), hostState("6.1")));
    expect(message).toContain("laminar");
  });

  it("replaces signal by subflow with delete and add", () => {
    const changes = planEndpoint(endpoint({ address: "10.0.0.2", dev: "eno1", flags: ["subflow"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 7", "mptcp endpoint add 10.0.0.2 dev eno1 subflow"]);
  });

  it("says what the deleted endpoint was", () => {
    const changes = planEndpoint(endpoint({ address: "10.0.0.2", dev: "eno1", flags: ["subflow"] }), hostState("6.1"));
    expect(describeOp(changes[0]!)).toContain("(was backup signal)");
  });

  it("moves an endpoint to a new id with delete and add", () => {
    const changes = planEndpoint(endpoint({ ...SUBFLOW, id: 5 }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 1", "mptcp endpoint add 192.168.0.2 id 5 dev eno2 subflow"]);
  });
});

describe("planEndpoint: new endpoints and refusals", () => {
  /** The fixture's three endpoints plus five more: the kernel's maximum of eight. */
  function fullHost(): HostState {
    const state = hostState("6.1");
    for (let id = 2; id <= 6; id++) state.endpoints.push({ id, address: `10.0.${id}.2`, flags: ["subflow"] });
    expect(state.endpoints).toHaveLength(MAX_ENDPOINTS);
    return state;
  }

  it("adds a new endpoint", () => {
    const changes = planEndpoint(endpoint({ address: "10.0.0.2", port: 5202, dev: "eno1", flags: ["signal"] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint add 10.0.0.2 port 5202 dev eno1 signal"]);
  });

  it("refuses a 9th endpoint", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ address: "10.0.9.2", flags: ["subflow"] }), fullHost()));
    expect(message).toContain("the kernel's maximum is 8");
  });

  it("still changes one of eight existing endpoints", () => {
    const changes = planEndpoint(endpoint({ address: "10.0.2.2", flags: ["signal"] }), fullHost());
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 2", "mptcp endpoint add 10.0.2.2 signal"]);
  });

  it("refuses an id another endpoint uses", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ address: "10.0.0.2", port: 5202, id: 7, flags: ["signal"] }), hostState("6.1")));
    expect(message).toContain("id 7 is already used by endpoint 10.0.0.2");
  });

  it("refuses a device the host does not have", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ address: "10.0.0.2", dev: "eno9", flags: ["subflow"] }), hostState("6.1")));
    expect(message).toContain("interface eno9 does not exist");
  });

  it("refuses a host without MPTCP", () => {
    const state = hostState("6.1");
    state.facts.mptcpAvailable = false;
    const message = planErrorOf(() => planEndpoint(endpoint(SUBFLOW), state));
    expect(message).toContain("has no MPTCP");
  });

  it("names the host and the endpoint in a plan error", () => {
    const message = planErrorOf(() => planEndpoint(endpoint({ address: "10.0.0.2", dev: "eno9" }), hostState("6.1")));
    expect(message).toMatch(/^endpoint 10\.0\.0\.2 on root@172\.31\.2\.2:22: /);
  });
});

describe("endpointDefinition.replaces", () => {
  const olds = (input: Record<string, unknown>) => outputsOf(endpoint(input), 1);

  it("replaces on signal -> subflow", () => {
    expect(endpointDefinition.replaces(olds({ ...SUBFLOW, flags: ["signal"] }), endpoint(SUBFLOW))).toEqual(["flags"]);
  });

  it("does not replace on a backup flip", () => {
    expect(endpointDefinition.replaces(olds(SUBFLOW), endpoint({ ...SUBFLOW, flags: ["subflow", "backup"] }))).toEqual([]);
  });

  it("does not replace on a fullmesh flip", () => {
    expect(endpointDefinition.replaces(olds({ ...SUBFLOW, flags: ["subflow", "fullmesh"] }), endpoint(SUBFLOW))).toEqual([]);
  });

  it("replaces on a new address, port, id or dev", () => {
    const old = olds({ address: "192.168.0.1", port: 5201, id: 1, dev: "eno2", flags: ["signal"] });
    const news = endpoint({ address: "10.0.0.1", port: 5202, id: 2, dev: "eno1", flags: ["signal"] });
    expect(endpointDefinition.replaces(old, news).sort()).toEqual(["address", "dev", "id", "port"]);
  });

  it("does not replace when the declared id is the one the kernel already chose", () => {
    const old = { ...olds({ address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }), endpointId: 7 };
    expect(endpointDefinition.replaces(old, endpoint({ address: "192.168.0.2", dev: "eno2", flags: ["subflow"], id: 7 }))).toEqual([]);
    expect(endpointDefinition.replaces(old, endpoint({ address: "192.168.0.2", dev: "eno2", flags: ["subflow"], id: 8 }))).toEqual(["id"]);
  });

  it("does not replace when nothing changed", () => {
    expect(endpointDefinition.replaces(olds(SUBFLOW), endpoint(SUBFLOW))).toEqual([]);
  });
});

describe("endpointDefinition.observe", () => {
  it("gives undefined when the endpoint is gone", () => {
    expect(endpointDefinition.observe(outputsOf(endpoint({ address: "10.9.9.9" }), 3), hostState("6.1"))).toBeUndefined();
  });

  it("reports the host's flags and kernel id", () => {
    const seen = endpointDefinition.observe(outputsOf(endpoint({ address: "10.0.0.2", flags: ["signal"] }), 0), hostState("6.1"));
    expect(seen).toMatchObject({ flags: ["backup", "signal"], endpointId: 7 });
  });

  it("reports the host's id when one was declared", () => {
    const seen = endpointDefinition.observe(outputsOf(endpoint({ ...SUBFLOW, id: 4 }), 4), hostState("6.1"));
    expect(seen?.id).toBe(1);
  });

  it("leaves an undeclared id unset", () => {
    const seen = endpointDefinition.observe(outputsOf(endpoint(SUBFLOW), 1), hostState("6.1"));
    expect(seen?.id).toBeUndefined();
  });

  it("drops the kernel's implicit flag", () => {
    const state = hostState("6.1");
    state.endpoints[0]!.flags = ["implicit", "subflow"];
    expect(endpointDefinition.observe(outputsOf(endpoint(SUBFLOW), 1), state)?.flags).toEqual(["subflow"]);
  });

  it("reports persisted only when the boot part and replay script are current", () => {
    const desired = endpoint(SUBFLOW);
    const state = hostState("6.1");
    expect(endpointDefinition.observe(outputsOf(desired, 1), state)?.persisted).toBe(false);
    applyFileChanges(state, planEndpoint(desired, state));
    expect(endpointDefinition.observe(outputsOf(desired, 1), state)?.persisted).toBe(true);
  });

  it("matches what the definition's outputs say after adoption", () => {
    const desired = endpoint(SUBFLOW);
    const state = applyFileChanges(hostState("6.1"), planEndpoint(desired, hostState("6.1")));
    const outs = endpointDefinition.outputs(desired, state, state, undefined);
    const seen = endpointDefinition.observe(outs, state)!;
    for (const key of endpointDefinition.inputKeys) expect(seen[key]).toEqual(outs[key]);
    expect(outs.endpointId).toBe(1);
  });
});

describe("endpointDefinition.remove", () => {
  it("deletes the endpoint by the host's id", () => {
    const changes = endpointDefinition.remove(outputsOf(endpoint(SUBFLOW), 1), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["mptcp endpoint delete id 1"]);
  });

  it("removes the boot part when there is one", () => {
    const desired = endpoint(SUBFLOW);
    const state = applyFileChanges(hostState("6.1"), planEndpoint(desired, hostState("6.1")));
    const changes = endpointDefinition.remove(outputsOf(desired, 1), state);
    expect(removedPaths(changes)).toContain(PART);
  });

  it("plans nothing for an endpoint already gone without a boot part", () => {
    expect(endpointDefinition.remove(outputsOf(endpoint({ address: "10.9.9.9" }), 3), hostState("6.1"))).toEqual([]);
  });
});

describe("endpointDefinition.identity", () => {
  it("includes the port when there is one, spelled as ip prints it", () => {
    expect(endpointDefinition.identity(endpoint({ address: "192.168.0.2", port: 5201, flags: ["signal"] }))).toBe("endpoint/192.168.0.2 port 5201");
  });

  it("keeps an IPv6 address with a port apart from an address that ends like one (fd00::1 port 5201 is not fd00::1:5201)", () => {
    const withPort = endpointDefinition.identity(endpoint({ address: "fd00::1", port: 5201, flags: ["signal"] }));
    const other = endpointDefinition.identity(endpoint({ address: "fd00::1:5201", flags: ["signal"] }));
    expect(withPort).not.toBe(other);
  });
});
