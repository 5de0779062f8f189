/**
 * The drift check's parsing, on real `pulumi preview --json` output recorded with the CLI v3.248.0
 * (test/fixtures/pulumi-preview-NOTES.md): clean, drifted, never applied, and failed previews.
 */
import { describe, expect, it } from "vitest";
import {
  changedProperties,
  differingPaths,
  driftPlan,
  formatPlan,
  parsePreview,
  previewErrors,
  urnName,
  urnType,
  type PreviewStep,
} from "../../scripts/drift";
import { fixtureText } from "../support/fixtures";

const preview = (name: string) => parsePreview(fixtureText(`pulumi-preview-${name}.json`));
const byName = (name: string) => Object.fromEntries(driftPlan(preview(name)).resources.map((r) => [r.name, r]));

describe("parsePreview", () => {
  it("reads the recorded previews", () => {
    expect(preview("refresh-drift").changeSummary).toEqual({ create: 1, delete: 1, replace: 1, same: 8, update: 3 });
    expect(preview("clean").steps).toHaveLength(1);
  });

  it("refuses what is not a preview, quoting the start of it", () => {
    expect(() => parsePreview("")).toThrow("pulumi preview printed no JSON");
    expect(() => parsePreview("engine: no Pulumi CLI v3.248.0 on PATH")).toThrow("printed no JSON: engine: no Pulumi CLI");
    expect(() => parsePreview("[1, 2]")).toThrow("JSON that is not a preview");
  });
});

describe("urnName and urnType", () => {
  const urn = "urn:pulumi:fixture::mptcp-pulumi::pulumi-nodejs:dynamic/mptcp:Endpoint::server1-endpoint-192.168.0.1";

  it("split a URN into the resource's name and type", () => {
    expect(urnName(urn)).toBe("server1-endpoint-192.168.0.1");
    expect(urnType(urn)).toBe("pulumi-nodejs:dynamic/mptcp:Endpoint");
  });

  it("keep a name that holds an IPv6 address whole", () => {
    const urn = "urn:pulumi:lab::mptcp-pulumi::pulumi-nodejs:dynamic/mptcp:Endpoint::server1-endpoint-fd00:2::1";
    expect(urnName(urn)).toBe("server1-endpoint-fd00:2::1");
    expect(urnType(urn)).toBe("pulumi-nodejs:dynamic/mptcp:Endpoint");
    expect(urnName("urn:pulumi:lab::mptcp-pulumi::pulumi-nodejs:dynamic/mptcp:Endpoint::server2-endpoint-fd00::2")).toBe("server2-endpoint-fd00::2");
  });

  it("drop the parent types of a nested resource", () => {
    expect(urnType("urn:pulumi:s::p::my:Component$pulumi-nodejs:dynamic/mptcp:Endpoint::e")).toBe("pulumi-nodejs:dynamic/mptcp:Endpoint");
  });
});

describe("driftPlan on clean previews", () => {
  it("preview --refresh with every host as declared: no drift, every resource counted", () => {
    const plan = driftPlan(preview("refresh-clean"));
    expect(plan).toEqual({ drifted: false, resources: [], changeSummary: { same: 14 }, matching: 13, foreign: [] });
    expect(formatPlan(plan)).toBe("no drift: 13 resources match");
  });

  it("a plain preview after up: no drift, though only the stack has a step", () => {
    const plan = driftPlan(preview("clean"));
    expect(plan.drifted).toBe(false);
    expect(plan.matching).toBe(13);
  });

  it("says 'resource' for one", () => {
    expect(formatPlan({ drifted: false, resources: [], changeSummary: { same: 2 }, matching: 1, foreign: [] })).toBe("no drift: 1 resource matches");
  });
});

describe("driftPlan on the drifted hosts", () => {
  it("lists every resource up would touch, sorted by name, and nothing else", () => {
    const plan = driftPlan(preview("refresh-drift"));
    expect(plan.drifted).toBe(true);
    expect(plan.matching).toBe(7);
    expect(plan.resources.map((r) => [r.name, r.op])).toEqual([
      ["server1-endpoint-192.168.0.1", "create"],
      ["server1-mptcp", "update"],
      ["server1-table-102", "update"],
      ["server2-endpoint-10.0.0.2", "delete"],
      ["server2-endpoint-192.168.0.2", "replace"],
      ["server2-tuning", "update"],
    ]);
  });

  it("names the properties that differ between the host and the program", () => {
    const resources = byName("refresh-drift");
    expect(resources["server1-mptcp"]!.properties).toEqual(["limits.subflows"]);
    expect(resources["server2-tuning"]!.properties).toEqual(['values["net.ipv4.tcp_rmem"]']);
    expect(resources["server2-endpoint-192.168.0.2"]!.properties).toEqual(["address"]);
    expect(resources["server1-table-102"]!.properties).toEqual(["persisted"]);
  });

  it("keeps the full type in the plan", () => {
    expect(byName("refresh-drift")["server2-tuning"]!.type).toBe("pulumi-nodejs:dynamic/mptcp:SysctlTuning");
  });

  it("tells a resource gone from its host from one never applied", () => {
    expect(byName("refresh-drift")["server1-endpoint-192.168.0.1"]!.reason).toBe("missing on the host");
    expect(byName("create")["server1-endpoint-192.168.0.1"]!.reason).toBe("declared, never applied");
    expect(byName("refresh-drift")["server2-endpoint-10.0.0.2"]!.reason).toBe("no longer declared, still in the stack's state");
  });

  it("formats one line per drifted resource, with its type, op and what differs", () => {
    expect(formatPlan(driftPlan(preview("refresh-drift")))).toBe(
      [
        "drift: 6 resources differ from the stack (up would change them), 7 match",
        "  +  server1-endpoint-192.168.0.1 (mptcp:Endpoint) create: missing on the host",
        "  ~  server1-mptcp (mptcp:MptcpHost) update: limits.subflows",
        "  ~  server1-table-102 (mptcp:PolicyRoute) update: persisted (the boot replay part is missing or stale)",
        "  -  server2-endpoint-10.0.0.2 (mptcp:Endpoint) delete: no longer declared, still in the stack's state",
        "  +- server2-endpoint-192.168.0.2 (mptcp:Endpoint) replace: address",
        '  ~  server2-tuning (mptcp:SysctlTuning) update: values["net.ipv4.tcp_rmem"]',
      ].join("\n"),
    );
  });

  it("the plan is plain JSON: what --json prints parses back to the same", () => {
    const plan = driftPlan(preview("refresh-drift"));
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it("without --refresh the same hosts look clean: only the config change shows", () => {
    const plan = driftPlan(preview("drift-no-refresh"));
    expect(plan.resources.map((r) => [r.name, r.op])).toEqual([["server2-endpoint-10.0.0.2", "delete"]]);
    expect(plan.matching).toBe(12);
  });

  it("a new stack: everything is to create, the stack step is not a resource", () => {
    const plan = driftPlan(preview("create"));
    expect(plan.resources).toHaveLength(13);
    expect(plan.resources.every((r) => r.op === "create")).toBe(true);
    expect(plan.matching).toBe(0);
  });
});

describe("driftPlan on steps the recordings do not have", () => {
  const urn = (name: string, type = "pulumi-nodejs:dynamic/mptcp:Endpoint") => `urn:pulumi:prod::mptcp-pulumi::${type}::${name}`;

  it("folds the three steps of a replacement into one 'replace'", () => {
    const steps: PreviewStep[] = ["create-replacement", "replace", "delete-replaced"].map((op) => ({ op, urn: urn("e"), replaceReasons: ["address"] }));
    expect(driftPlan({ steps }).resources).toEqual([{ name: "e", type: "pulumi-nodejs:dynamic/mptcp:Endpoint", op: "replace", properties: ["address"], reason: "address" }]);
  });

  it("counts neither the stack nor the components (MptcpGroup, MptcpServer) among the matching resources", () => {
    const group = "mptcp-pulumi:index:MptcpGroup";
    const steps: PreviewStep[] = [
      { op: "same", urn: urn("stack", "pulumi:pulumi:Stack") },
      { op: "same", urn: urn("mptcp", group) },
      { op: "same", urn: urn("server1", `${group}$mptcp-pulumi:index:MptcpServer`) },
      { op: "refresh", urn: urn("server1-mptcp", `${group}$mptcp-pulumi:index:MptcpServer$pulumi-nodejs:dynamic/mptcp:MptcpHost`) },
      { op: "same", urn: urn("server1-mptcp", `${group}$mptcp-pulumi:index:MptcpServer$pulumi-nodejs:dynamic/mptcp:MptcpHost`) },
    ];
    expect(driftPlan({ steps, changeSummary: { same: 4 } })).toMatchObject({ drifted: false, resources: [], matching: 1 });
  });

  it("counts an op it does not know as drift rather than hiding it", () => {
    expect(driftPlan({ steps: [{ op: "some-future-op", urn: urn("e") }] }).drifted).toBe(true);
  });

  it("ignores the stack and the providers, and read-only steps", () => {
    const plan = driftPlan({
      steps: [
        { op: "update", urn: urn("mptcp-pulumi-prod", "pulumi:pulumi:Stack") },
        { op: "update", urn: urn("default", "pulumi:providers:pulumi-nodejs") },
        { op: "read", urn: urn("r") },
        { op: "discard", urn: urn("d") },
      ],
    });
    expect(plan.drifted).toBe(false);
  });

  it("uses diffReasons and detailedDiff when a provider reports them", () => {
    expect(changedProperties({ op: "update", urn: urn("e"), diffReasons: ["flags"], detailedDiff: { "flags[1]": { kind: "add" } } })).toEqual(["flags", "flags[1]"]);
  });

  it("reports foreign endpoints from the refreshed MptcpHost outputs, drifted or not, and names them as the reason under remove", () => {
    const host = (policy: string, op: string): PreviewStep => ({
      op,
      urn: urn("server2-mptcp", "pulumi-nodejs:dynamic/mptcp:MptcpHost"),
      oldState: { outputs: { foreignEndpoints: policy, foreign: ["10.0.0.2 id 1 dev eno1"], persisted: op === "same" } },
      newState: { inputs: { foreignEndpoints: policy } },
    });
    const kept = driftPlan({ steps: [host("keep", "same")] });
    expect(kept).toMatchObject({ drifted: false, foreign: [{ name: "server2-mptcp", policy: "keep", endpoints: ["10.0.0.2 id 1 dev eno1"] }] });
    expect(formatPlan(kept)).toContain("foreign MPTCP endpoints on server2-mptcp (kept: foreignEndpoints is keep): 10.0.0.2 id 1 dev eno1");
    const removed = driftPlan({ steps: [host("remove", "update")] });
    expect(removed.resources[0]!.reason).toBe("foreign endpoints to remove: 10.0.0.2 id 1 dev eno1");
    expect(formatPlan(removed)).toContain("(up removes them)");
  });

  it("says so when the provider reports a change it does not name", () => {
    expect(driftPlan({ steps: [{ op: "update", urn: urn("e") }] }).resources[0]!.reason).toBe("the provider reports a difference");
  });
});

describe("differingPaths", () => {
  it("descends into objects, compares arrays whole, ignores key order", () => {
    expect(differingPaths({ a: { b: 1, c: [1, 2] }, d: { y: 1, x: 2 } }, { a: { b: 1, c: [2, 1] }, d: { x: 2, y: 1 } })).toEqual(["a.c"]);
  });

  it("looks only at what the program declares: outputs the provider adds are not drift", () => {
    expect(differingPaths({ address: "10.0.0.1", endpointId: 3, facts: { kernel: "6.1" } }, { address: "10.0.0.1" })).toEqual([]);
  });

  it("reports a declared property the host lacks", () => {
    expect(differingPaths({}, { mtu: 9000 })).toEqual(["mtu"]);
  });

  it("does not count a value unknown until apply", () => {
    expect(differingPaths({ id: 1 }, { id: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).toEqual([]);
  });

  it("quotes keys that are not names, as Pulumi's property paths do", () => {
    expect(differingPaths({ sysctls: { "net.core.rmem_max": "1" } }, { sysctls: { "net.core.rmem_max": "2" } })).toEqual(['sysctls["net.core.rmem_max"]']);
  });
});

describe("previewErrors", () => {
  it("keeps each error once, with the resources it hit, and drops the provider's stack traces", () => {
    const errors = previewErrors(preview("refresh-unreachable"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/: Preview failed: ssh root@172\.31\.2\.2:22: exit 255: ssh: connect to host 172\.31\.2\.2 port 22: Connection timed out$/);
    const names = errors[0]!.split(": Preview failed")[0]!.split(", ").sort();
    expect(names).toEqual(["server2-endpoint-10.0.0.2", "server2-endpoint-192.168.0.2", "server2-eno1", "server2-eno2", "server2-mptcp", "server2-table-102", "server2-tuning"]);
  });

  it("has nothing to say about a successful preview", () => {
    expect(previewErrors(preview("refresh-drift"))).toEqual([]);
  });

  it("keeps an error that names no resource", () => {
    expect(previewErrors({ diagnostics: [{ message: "error: invalid stack configuration\n", severity: "error" }] })).toEqual(["invalid stack configuration"]);
  });
});
