import { describe, expect, it } from "vitest";
import {
  canonicalSource,
  planPolicyRoute,
  policyRouteDefinition,
  policyRouteSchema,
  type PolicyRouteInputs,
  type PolicyRouteOutputs,
} from "../../../provider/resources/policyRoute";
import type { HostState } from "../../../provider/state/types";
import { mayCutSession, render } from "../../../provider/operations";
import { applyFileChanges, checkFailures, CONNECTION, hostState, ipLines, planErrorOf, removedPaths, writtenContent } from "../../support/fixtures";

const policy = (input: Record<string, unknown>): PolicyRouteInputs => policyRouteSchema.parse({ connection: CONNECTION, ...input });
const outputsOf = (inputs: PolicyRouteInputs): PolicyRouteOutputs => ({ ...inputs, persisted: true });
const PART = "/etc/mptcp-pulumi/parts/30-table-102.part";

/** Table 102 exactly as both fixtures hold it. */
const TABLE_102 = {
  table: 102,
  rules: [{ from: "192.168.0.2", priority: 1002 }],
  routes: [
    { dst: "default", via: "192.168.0.1", dev: "eno2", metric: 10 },
    { dst: "192.168.0.0/24", dev: "eno2", scope: "link" },
  ],
};

function sessionOn(address: string): HostState {
  const state = hostState("6.1");
  state.sessionLocalAddress = address;
  return state;
}

describe("policyRouteSchema", () => {
  it("accepts the fixture's table 102", () => {
    expect(checkFailures(policyRouteSchema, TABLE_102)).toEqual([]);
  });

  it.each([253, 254, 255])("refuses the reserved table %d on table", (table) => {
    const failures = checkFailures(policyRouteSchema, { table });
    expect(failures).toEqual([{ property: "table", reason: expect.stringContaining("reserved by the kernel") }]);
  });

  it("refuses table 0 on table", () => {
    expect(checkFailures(policyRouteSchema, { table: 0 }).map((f) => f.property)).toEqual(["table"]);
  });

  it("refuses a route declared twice on the second one's dst", () => {
    const failures = checkFailures(policyRouteSchema, {
      table: 102,
      routes: [
        { dst: "192.168.0.0/24", dev: "eno2" },
        { dst: "192.168.0.0/24", dev: "eno1" },
      ],
    });
    expect(failures).toEqual([{ property: "routes[1].dst", reason: expect.stringContaining("declared twice in table 102") }]);
  });

  it("refuses a route declared twice under different spellings of its network", () => {
    const failures = checkFailures(policyRouteSchema, {
      table: 102,
      routes: [
        { dst: "192.168.0.0/24", dev: "eno2" },
        { dst: "192.168.0.0/024", dev: "eno2" },
      ],
    });
    expect(failures.map((f) => f.property)).toEqual(["routes[1].dst"]);
  });

  it("accepts the same destination with different metrics", () => {
    const routes = [
      { dst: "default", via: "192.168.0.1", metric: 10 },
      { dst: "default", via: "192.168.0.1", metric: 20 },
    ];
    expect(checkFailures(policyRouteSchema, { table: 102, routes })).toEqual([]);
  });

  it("refuses a rule declared twice on the second one's from", () => {
    const failures = checkFailures(policyRouteSchema, { table: 102, rules: [{ from: "192.168.0.2" }, { from: "192.168.0.2/32" }] });
    expect(failures).toEqual([{ property: "rules[1].from", reason: expect.stringContaining("rule from 192.168.0.2 is declared twice") }]);
  });

  it("refuses a route with neither dev nor via on dev", () => {
    const failures = checkFailures(policyRouteSchema, { table: 102, routes: [{ dst: "default" }] });
    expect(failures).toEqual([{ property: "routes[0].dev", reason: expect.stringContaining("needs dev or via") }]);
  });

  it("refuses a bad destination on its dst", () => {
    const failures = checkFailures(policyRouteSchema, { table: 102, routes: [{ dst: "10.0.0.0/33", dev: "eno1" }] });
    expect(failures.map((f) => f.property)).toEqual(["routes[0].dst"]);
  });

  it("refuses a gateway with a prefix on its via", () => {
    const failures = checkFailures(policyRouteSchema, { table: 102, routes: [{ dst: "default", via: "192.168.0.1/24" }] });
    expect(failures.map((f) => f.property)).toEqual(["routes[0].via"]);
  });

  it.each([0, 32766, 32767])("refuses the kernel's rule priority %d on priority", (priority) => {
    const failures = checkFailures(policyRouteSchema, { table: 102, rules: [{ from: "192.168.0.2", priority }] });
    expect(failures.map((f) => f.property)).toEqual(["rules[0].priority"]);
  });

  it("stores a /32 source as a bare address", () => {
    expect(policy({ table: 102, rules: [{ from: "192.168.0.2/32" }] }).rules[0]!.from).toBe("192.168.0.2");
  });
});

describe("canonicalSource", () => {
  it("keeps a network source with its prefix", () => {
    expect(canonicalSource("10.0.0.0/24")).toBe("10.0.0.0/24");
  });

  it("turns an IPv6 /128 into a bare address", () => {
    expect(canonicalSource("2001:db8::2/128")).toBe("2001:db8::2");
  });
});

describe("planPolicyRoute", () => {
  it("plans no ip change when the table already matches", () => {
    expect(ipLines(planPolicyRoute(policy(TABLE_102), hostState("6.1")))).toEqual([]);
  });

  it("is idempotent once the boot part is written", () => {
    const desired = policy(TABLE_102);
    const state = hostState("6.1");
    applyFileChanges(state, planPolicyRoute(desired, state));
    expect(planPolicyRoute(desired, state)).toEqual([]);
  });

  it("writes routes then rules as the boot part", () => {
    const changes = planPolicyRoute(policy(TABLE_102), hostState("6.1"));
    expect(writtenContent(changes, PART)).toBe(
      "route family=4 table=102 dst=default via=192.168.0.1 dev=eno2 metric=10\n" +
        "route family=4 table=102 dst=192.168.0.0/24 dev=eno2 scope=link\n" +
        "rule family=4 table=102 priority=1002 from=192.168.0.2\n",
    );
  });

  it("deletes a route the table holds but the declaration lacks", () => {
    const changes = planPolicyRoute(policy({ ...TABLE_102, routes: [TABLE_102.routes[1]] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["route del default via 192.168.0.1 dev eno2 metric 10 table 102"]);
  });

  it("deletes a rule that looks the table up but is not declared", () => {
    const state = hostState("6.1");
    state.rules.push({ priority: 1010, from: "10.0.0.2", table: 102 });
    expect(ipLines(planPolicyRoute(policy(TABLE_102), state))).toEqual(["rule del priority 1010 from 10.0.0.2 table 102"]);
  });

  it("leaves rules and routes of other tables alone", () => {
    const state = hostState("6.1");
    state.rules.push({ priority: 1001, from: "10.0.0.2", table: 101 });
    state.routes.push({ table: 101, dst: "10.0.0.0/24", dev: "eno1", scope: "link" });
    expect(ipLines(planPolicyRoute(policy(TABLE_102), state))).toEqual([]);
  });

  it("adds a missing route and a missing rule", () => {
    const changes = planPolicyRoute(
      policy({
        table: 102,
        rules: [...TABLE_102.rules, { from: "10.0.0.2", priority: 1003 }],
        routes: [...TABLE_102.routes, { dst: "10.0.0.0/24", dev: "eno1", scope: "link" }],
      }),
      hostState("6.1"),
    );
    expect(ipLines(changes)).toEqual(["route replace 10.0.0.0/24 dev eno1 scope link table 102", "rule add priority 1003 from 10.0.0.2 table 102"]);
  });

  it("adds rules only after every route of the table, even when a rule's source sits on the first interface", () => {
    const changes = planPolicyRoute(
      policy({
        table: 160,
        rules: [{ from: "10.0.0.2", priority: 1600 }],
        routes: [
          { dst: "10.0.0.0/24", dev: "eno1", scope: "link" },
          { dst: "192.168.0.0/24", dev: "eno2", scope: "link" },
        ],
      }),
      hostState("6.1"),
    );
    expect(ipLines(changes)).toEqual([
      "route replace 10.0.0.0/24 dev eno1 scope link table 160",
      "route replace 192.168.0.0/24 dev eno2 scope link table 160",
      "rule add priority 1600 from 10.0.0.2 table 160",
    ]);
  });

  it("fills an empty table", () => {
    const changes = planPolicyRoute(
      policy({ table: 101, rules: [{ from: "10.0.0.2", priority: 1001 }], routes: [{ dst: "10.0.0.0/24", dev: "eno1", scope: "link" }] }),
      hostState("6.1"),
    );
    expect(ipLines(changes)).toEqual(["route replace 10.0.0.0/24 dev eno1 scope link table 101", "rule add priority 1001 from 10.0.0.2 table 101"]);
  });

  it("replaces a route whose gateway changed without deleting it first", () => {
    const changes = planPolicyRoute(
      policy({ ...TABLE_102, routes: [{ dst: "default", via: "192.168.0.254", dev: "eno2", metric: 10 }, TABLE_102.routes[1]] }),
      hostState("6.1"),
    );
    expect(ipLines(changes)).toEqual(["route replace default via 192.168.0.254 dev eno2 metric 10 table 102"]);
  });

  it("moves a rule to a new priority by deleting and adding", () => {
    const changes = planPolicyRoute(policy({ ...TABLE_102, rules: [{ from: "192.168.0.2", priority: 1005 }] }), hostState("6.1"));
    expect(ipLines(changes)).toEqual(["rule del priority 1002 from 192.168.0.2 table 102", "rule add priority 1005 from 192.168.0.2 table 102"]);
  });

  it("adopts an existing rule when no priority is declared", () => {
    expect(ipLines(planPolicyRoute(policy({ ...TABLE_102, rules: [{ from: "192.168.0.2/32" }] }), hostState("6.1")))).toEqual([]);
  });

  it("removes what the table holds beyond the declaration", () => {
    expect(ipLines(planPolicyRoute(policy({ table: 102, rules: [{ from: "192.168.0.2", priority: 1002 }] }), hostState("6.1"))).filter((l) => !l.startsWith("rule add"))).toEqual([
      "route del default via 192.168.0.1 dev eno2 metric 10 table 102",
      "route del 192.168.0.0/24 dev eno2 table 102",
    ]);
  });

  it("refuses a table that declares neither rules nor routes, before any host is read", () => {
    expect(checkFailures(policyRouteSchema, { connection: CONNECTION, table: 102 })).toEqual([{ property: "rules", reason: expect.stringContaining("declares neither rules nor routes") }]);
  });

  it("refuses a route over an interface the host does not have", () => {
    const message = planErrorOf(() => planPolicyRoute(policy({ table: 102, routes: [{ dst: "default", dev: "eno9" }] }), hostState("6.1")));
    expect(message).toContain("route default uses interface eno9, which does not exist");
  });

  it("matches an IPv6 route declared without a metric to the kernel's default metric 1024", () => {
    const state = hostState("6.1");
    // As the probe reads them: from `ip -6`, so marked family 6.
    state.routes.push({ family: 6, table: 103, dst: "2001:db8::/64", dev: "eno1", metric: 1024 });
    state.rules.push({ family: 6, priority: 1003, from: "2001:db8::2", table: 103 });
    const desired = policy({ table: 103, rules: [{ from: "2001:db8::2", priority: 1003 }], routes: [{ dst: "2001:db8::/64", dev: "eno1" }] });
    expect(ipLines(planPolicyRoute(desired, state))).toEqual([]);
  });
});

describe("planPolicyRoute: protecting the SSH session's address", () => {
  const capture = (from: string, extra: Record<string, unknown> = {}) =>
    policy({ table: 101, rules: [{ from, priority: 1001 }], routes: [{ dst: "10.0.0.0/24", dev: "eno1" }], ...extra });

  it("refuses a new rule from the session's address", () => {
    const message = planErrorOf(() => planPolicyRoute(capture("10.0.0.2"), sessionOn("10.0.0.2")));
    expect(message).toContain("refusing rule from 10.0.0.2: this SSH session uses 10.0.0.2");
    expect(message).toContain("allowSessionDisruption");
  });

  it("refuses a new rule from a network holding the session's address", () => {
    const message = planErrorOf(() => planPolicyRoute(capture("10.0.0.0/24"), sessionOn("10.0.0.2")));
    expect(message).toContain("refusing rule from 10.0.0.0/24");
  });

  it("adds the rule when allowSessionDisruption is set", () => {
    const changes = planPolicyRoute(capture("10.0.0.2", { allowSessionDisruption: true }), sessionOn("10.0.0.2"));
    expect(ipLines(changes)).toContain("rule add priority 1001 from 10.0.0.2 table 101");
  });

  it("allows rules from other addresses", () => {
    expect(() => planPolicyRoute(capture("10.0.0.2"), sessionOn("172.31.2.2"))).not.toThrow();
  });

  it("keeps a capturing rule that is already in place", () => {
    expect(ipLines(planPolicyRoute(policy(TABLE_102), sessionOn("192.168.0.2")))).toEqual([]);
  });
});

describe("policyRouteDefinition.observe", () => {
  it("gives undefined when the table holds nothing", () => {
    expect(policyRouteDefinition.observe(outputsOf({ ...policy(TABLE_102), table: 150 }), hostState("6.1"))).toBeUndefined();
  });

  it("reports the declared rules and routes that are present", () => {
    const current = outputsOf(policy(TABLE_102));
    const seen = policyRouteDefinition.observe(current, hostState("6.1"))!;
    expect(seen.rules).toEqual(current.rules);
    expect(seen.routes).toEqual(current.routes);
  });

  it("reports rules and routes the host has beyond the declaration", () => {
    const current = outputsOf(policy({ table: 102, rules: [], routes: [TABLE_102.routes[1]] }));
    const seen = policyRouteDefinition.observe(current, hostState("6.1"))!;
    expect(seen.rules).toEqual([{ from: "192.168.0.2", priority: 1002 }]);
    expect(seen.routes).toContainEqual({ dst: "default", via: "192.168.0.1", dev: "eno2", metric: 10 });
  });

  it("leaves out declared items the host lacks", () => {
    const current = outputsOf(policy({ ...TABLE_102, rules: [...TABLE_102.rules, { from: "10.0.0.2", priority: 1003 }] }));
    expect(policyRouteDefinition.observe(current, hostState("6.1"))!.rules).toEqual([{ from: "192.168.0.2", priority: 1002 }]);
  });
});

describe("policyRouteDefinition.remove", () => {
  it("deletes the table's rules and each of its routes (a flush would miss the other family)", () => {
    const changes = policyRouteDefinition.remove(outputsOf(policy(TABLE_102)), hostState("6.1"));
    expect(ipLines(changes)).toEqual([
      "rule del priority 1002 from 192.168.0.2 table 102",
      "route del default via 192.168.0.1 dev eno2 metric 10 table 102",
      "route del 192.168.0.0/24 dev eno2 table 102",
    ]);
  });

  it("removes the boot part", () => {
    const desired = policy(TABLE_102);
    const state = applyFileChanges(hostState("6.1"), planPolicyRoute(desired, hostState("6.1")));
    expect(removedPaths(policyRouteDefinition.remove(outputsOf(desired), state))).toContain(PART);
  });

  it("plans nothing for an empty table without a boot part", () => {
    expect(policyRouteDefinition.remove(outputsOf({ ...policy(TABLE_102), table: 150 }), hostState("6.1"))).toEqual([]);
  });
});

describe("policyRouteDefinition.replaces", () => {
  it("replaces on a new table only", () => {
    const old = outputsOf(policy(TABLE_102));
    expect(policyRouteDefinition.replaces(old, policy({ ...TABLE_102, table: 103 }))).toEqual(["table"]);
    expect(policyRouteDefinition.replaces(old, policy({ ...TABLE_102, routes: [] }))).toEqual([]);
  });
});

describe("forms the kernel prints back", () => {
  it("stores a host route as the bare address and a /0 as default, so the next plan is empty", () => {
    const p = policy({ table: 150, routes: [{ dst: "10.9.9.9/32", dev: "eno1" }, { dst: "0.0.0.0/0", via: "10.0.0.254", dev: "eno1" }] });
    expect(p.routes.map((r) => r.dst)).toEqual(["10.9.9.9", "default"]);
    const state = hostState("6.1");
    state.routes.push({ table: 150, dst: "10.9.9.9", dev: "eno1", scope: "link" }, { table: 150, dst: "default", via: "10.0.0.254", dev: "eno1" });
    expect(ipLines(planPolicyRoute(p, state))).toEqual([]);
  });

  it("treats scope global as the kernel's default, which iproute2 never prints", () => {
    const p = policy({ table: 150, routes: [{ dst: "10.9.0.0/16", via: "10.0.0.254", dev: "eno1", scope: "global" }] });
    expect(p.routes[0]!.scope).toBeUndefined();
  });

  it("prints a rule from 0.0.0.0/0 as from all", () => {
    expect(canonicalSource("0.0.0.0/0")).toBe("all");
    expect(canonicalSource("2001:DB8::2/128")).toBe("2001:db8::2");
  });

  it("deletes an IPv6 rule without a source as an IPv6 rule operation, armed like any rule change", () => {
    const state = hostState("6.1");
    state.rules.push({ family: 6, priority: 1600, table: 160 });
    const changes = policyRouteDefinition.remove(outputsOf({ ...policy(TABLE_102), table: 160 }), state);
    expect(changes.map(render)).toContainEqual({ kind: "ip", family: 6, args: ["rule", "del", "priority", "1600", "from", "all", "table", "160"] });
    expect(changes.every((op) => mayCutSession(op))).toBe(true);
  });

  it("refuses an IPv6 rule that captures the SSH session's address", () => {
    const state = hostState("6.1");
    state.sessionLocalAddress = "2001:db8:1::2";
    expect(planErrorOf(() => planPolicyRoute(policy({ table: 150, rules: [{ from: "2001:db8:1::/64" }] }), state))).toMatch(/refusing rule from 2001:db8:1::\/64: this SSH session uses 2001:db8:1::2/);
  });
});
