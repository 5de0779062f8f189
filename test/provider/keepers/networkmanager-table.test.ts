import { describe, expect, it } from "vitest";
import { describe as describeOp, type NmOp, type Operation } from "../../../provider/operations";
import { planPolicyRoute, policyRouteDefinition, policyRouteSchema, type PolicyRouteInputs } from "../../../provider/resources/policyRoute";
import { nmEntryKey } from "../../../provider/keepers/networkmanager";
import { CONNECTION, ipLines, planErrorOf } from "../../support/fixtures";
import { nmHostState } from "../../support/nm";

const policy = (input: Record<string, unknown>): PolicyRouteInputs => policyRouteSchema.parse({ connection: CONNECTION, ...input });
/** Table 102 exactly as the 6.1 fixture's kernel holds it, on eno2. */
const TABLE_102 = policy({
  table: 102,
  rules: [{ from: "192.168.0.2", priority: 1002 }],
  routes: [
    { dst: "default", via: "192.168.0.1", dev: "eno2", metric: 10 },
    { dst: "192.168.0.0/24", dev: "eno2", scope: "link" },
  ],
});
const ROUTES = "0.0.0.0/0 192.168.0.1 10 table=102, 192.168.0.0/24 0 table=102 scope=253";
const RULES = "priority 1002 from 192.168.0.2 table 102";
const nmOps = (plan: Operation[]) => plan.filter((op): op is NmOp => op.type === "nm");

describe("a policy table on an interface NetworkManager manages", () => {
  it("goes into the connection's routes and routing rules, not into a boot part", () => {
    const plan = planPolicyRoute(TABLE_102, nmHostState());
    expect(nmOps(plan)).toEqual([expect.objectContaining({ device: "eno2", set: { "ipv4.routes": ROUTES, "ipv4.routing-rules": RULES } })]);
    expect(plan.filter((op) => op.type === "file")).toEqual([]);
    expect(describeOp(nmOps(plan)[0]!)).toContain("(NetworkManager)");
  });

  it("writes the kernel's default metric of a route declared without one (else NM gives it the connection's, 100 and up)", () => {
    const v6 = policy({ table: 202, rules: [{ from: "fd00:2::2", priority: 1202 }], routes: [{ dst: "fd00:2::/64", dev: "eno2" }] });
    const plan = planPolicyRoute(v6, nmHostState((c) => (c.settings["ipv6.method"] = "auto")));
    expect(nmOps(plan)[0]!.set["ipv6.routes"]).toBe("fd00:2::/64 1024 table=202");
    expect(ROUTES).toContain("192.168.0.0/24 0 table=102");
  });

  it("is left alone once the connection holds it as NM prints it and the kernel has it", () => {
    const state = nmHostState((c) => {
      c.settings["ipv4.routes"] = "0.0.0.0/0 192.168.0.1 10 table=102, 192.168.0.0/24 0 scope=253 table=102";
      c.settings["ipv4.routing-rules"] = RULES;
    });
    expect(planPolicyRoute(TABLE_102, state)).toEqual([]);
    expect(policyRouteDefinition.observe({ ...TABLE_102, persisted: true }, state)).toMatchObject({ persisted: true });
  });

  it("is reapplied when the connection holds it but the kernel lost a route", () => {
    const state = nmHostState((c) => {
      c.settings["ipv4.routes"] = ROUTES;
      c.settings["ipv4.routing-rules"] = RULES;
    });
    state.routes = state.routes.filter((r) => !(r.table === 102 && r.dst === "192.168.0.0/24"));
    expect(nmOps(planPolicyRoute(TABLE_102, state))).toEqual([expect.objectContaining({ set: {} })]);
  });

  it("keeps the connection's other entries and drops the table's old ones", () => {
    const state = nmHostState((c) => {
      c.settings["ipv4.routes"] = "10.9.9.0/24 table=7, 172.16.0.0/16 table=102";
    });
    const set = nmOps(planPolicyRoute(TABLE_102, state))[0]!.set;
    expect(set["ipv4.routes"]).toBe(`10.9.9.0/24 table=7, ${ROUTES}`);
  });

  it("reports persisted: false when someone took it out of the connection (drift that up repairs)", () => {
    expect(policyRouteDefinition.observe({ ...TABLE_102, persisted: true }, nmHostState())).toMatchObject({ persisted: false });
  });

  it("records what the connection held before and gives it back on delete", () => {
    const before = nmHostState((c) => (c.settings["ipv4.routes"] = "10.9.9.0/24 table=7"));
    const after = nmHostState((c) => {
      c.settings["ipv4.routes"] = `10.9.9.0/24 table=7, ${ROUTES}`;
      c.settings["ipv4.routing-rules"] = RULES;
    });
    const outs = policyRouteDefinition.outputs(TABLE_102, after, before, undefined);
    expect(outs.kept?.networkmanager).toMatchObject({ device: "eno2", previous: { "ipv4.routes": "10.9.9.0/24 table=7", "ipv4.routing-rules": "" } });
    expect(outs.persisted).toBe(true);
    const removal = policyRouteDefinition.remove(outs, after);
    // The kernel's copies go first (NM leaves table routes behind when they leave the connection).
    expect(ipLines(removal)).toEqual(expect.arrayContaining(["rule del priority 1002 from 192.168.0.2 table 102", "route del 192.168.0.0/24 dev eno2 table 102"]));
    expect(nmOps(removal)).toEqual([expect.objectContaining({ set: { "ipv4.routes": "10.9.9.0/24 table=7", "ipv4.routing-rules": "" }, note: "(restore)" })]);
    expect(removal.at(-1)?.type).toBe("nm");
  });

  it("is refused when it spans an NM interface and one NM does not manage, naming both and the fix", () => {
    const state = nmHostState();
    state.facts.managers.interfaces["eno1"] = { kind: "none" };
    const mixed = policy({ table: 102, rules: [{ from: "10.0.0.2", priority: 1002 }], routes: [{ dst: "192.168.0.0/24", dev: "eno2" }] });
    const message = planErrorOf(() => planPolicyRoute(mixed, state));
    expect(message).toContain("sit on eno2 (NetworkManager, connection eno2) and on other interfaces");
    expect(message).toContain("Fix: declare one table per interface");
  });

  it("is refused when a rule has no priority, which NM requires", () => {
    const message = planErrorOf(() => planPolicyRoute(policy({ table: 102, rules: [{ from: "192.168.0.2" }] }), nmHostState()));
    expect(message).toContain("rules[0].priority");
  });

  it("is refused with persist: false (NM would drop it at its next reactivation), naming the interface, NM and the fix", () => {
    const message = planErrorOf(() => planPolicyRoute({ ...TABLE_102, persist: false }, nmHostState()));
    expect(message).toContain("persist: eno2 is managed by NetworkManager (connection eno2)");
    expect(message).toContain("Fix: leave persist at true");
  });

  it("is refused at preview from the outputs of the last read, without the host", () => {
    const outs = policyRouteDefinition.outputs(TABLE_102, nmHostState(), nmHostState(), undefined);
    expect(policyRouteDefinition.refuse!(outs, { ...TABLE_102, persist: false })).toEqual([{ property: "persist", reason: expect.stringContaining("NetworkManager") }]);
    expect(policyRouteDefinition.refuse!(outs, policy({ table: 102, rules: [{ from: "192.168.0.2" }] }))).toEqual([{ property: "rules[0].priority", reason: expect.stringContaining("requires a priority") }]);
    expect(policyRouteDefinition.refuse!(outs, TABLE_102)).toEqual([]);
    expect(policyRouteDefinition.refuse!({ ...outs, through: {} }, { ...TABLE_102, persist: false })).toEqual([]);
  });
});

describe("nmEntryKey", () => {
  it("compares NM's spelling and ours: attributes in any order, host prefixes bare", () => {
    expect(nmEntryKey("ipv4.routes", "10.9.9.0/24 192.168.0.1 55 table=102 src=192.168.0.2")).toBe(nmEntryKey("ipv4.routes", "10.9.9.0/24 192.168.0.1 55 src=192.168.0.2 table=102"));
    expect(nmEntryKey("ipv4.routing-rules", "priority 5 from 192.168.0.2/32 table 9")).toBe(nmEntryKey("ipv4.routing-rules", "table 9 priority 5 from 192.168.0.2"));
    expect(nmEntryKey("ipv6.routes", "fd00:2:0::/64 table=9")).toBe(nmEntryKey("ipv6.routes", "fd00:2::/64 table=9"));
  });
});
