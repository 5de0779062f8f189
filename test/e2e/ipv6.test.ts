/**
 * IPv6 beside IPv4 with the real CLI on the lab (file backend in a temporary directory): v6
 * addresses on both data links, v6 signal and subflow endpoints, a table per v6 source. Up,
 * a refreshed preview with no changes, MPTCP joining over IPv6, the same stack written with
 * non-canonical spellings seen as identical, a deleted v6 rule found as drift and repaired,
 * and destroy back to exactly the start.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftPlan } from "../../scripts/drift";
import { freshLab, onHost, tryOnHost } from "../lab/harness";
import { addIpv6 } from "../support/ipv6Stack";
import { labHosts, labVerify, snapshot, TempProject } from "./project";

const STACK = "e2eipv6";
let project: TempProject;
const before: Record<string, string> = {};
const ok = (...args: string[]) => project.ok(...args);

/** The same stack's config with every IPv6 address spelled out (FD00:2:0:0:0:0:0:1). */
function longSpellingFile(): string {
  const salt = /^encryptionsalt: (.*)$/m.exec(readFileSync(project.configFile, "utf8"))?.[1];
  const file = join(project.dir, "long-spelling.yaml");
  const config = { "mptcp-pulumi:hosts": labHosts((hosts) => addIpv6(hosts, "long")), ...labVerify() };
  // YAML is a superset of JSON; the salt is the stack's, so the file reads as the same stack.
  writeFileSync(file, JSON.stringify({ config, ...(salt ? { encryptionsalt: salt } : {}) }, null, 2));
  return file;
}

function drift(): { status: number; plan: DriftPlan } {
  const r = project.drift("--json");
  return { status: r.status, plan: JSON.parse(r.stdout || "{}") as DriftPlan };
}

beforeAll(() => {
  freshLab();
  project = new TempProject(STACK, (hosts) => addIpv6(hosts));
  before["server1"] = snapshot("server1");
  before["server2"] = snapshot("server2");
});

afterAll(() => project?.remove());

describe("a stack with IPv6 beside IPv4", () => {
  it("1. goes up: v6 addresses, endpoints, rules and routes on both hosts, v4 as before", () => {
    ok("up", "--yes", "--skip-preview");
    for (const [server, n, peer] of [["server1", "1", "2"], ["server2", "2", "1"]] as const) {
      expect(onHost(server, "ip", "-6", "-br", "addr", "show", "dev", "eno2")).toContain(`fd00:2::${n}/64`);
      expect(onHost(server, "ip", "-6", "-br", "addr", "show", "dev", "eno1")).toContain(`fd00:1::${n}/64`);
      const rules6 = onHost(server, "ip", "-6", "rule", "show");
      expect(rules6).toContain(`1201:\tfrom fd00:1::${n} lookup 201`);
      expect(rules6).toContain(`1202:\tfrom fd00:2::${n} lookup 202`);
      expect(onHost(server, "ip", "-6", "route", "show", "table", "201")).toContain("fd00:1::/64 dev eno1");
      const table202 = onHost(server, "ip", "-6", "route", "show", "table", "202");
      expect(table202).toContain("fd00:2::/64 dev eno2");
      expect(table202).toContain(`fd00:99::/64 via fd00:2::${peer} dev eno2`);
      expect(onHost(server, "ip", "rule", "show")).toContain(`1002:\tfrom 192.168.0.${n} lookup 102`);
      // IPv6 lines replay under ip -6 at boot.
      expect(onHost(server, "cat", "/etc/mptcp-pulumi/parts/30-table-202.part")).toContain(`rule family=6 table=202 priority=1202 from=fd00:2::${n}`);
    }
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show")).toMatch(/^fd00:2::1 id \d+ signal dev eno2/m);
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show")).toMatch(/^fd00:2::2 id \d+ subflow dev eno2/m);
  });

  it("2. a refreshed preview expects no changes", () => {
    ok("preview", "--refresh", "--expect-no-changes");
  });

  it("3. the verification measured over IPv6, and MPTCP joins over IPv6", () => {
    const state = JSON.parse(ok("stack", "export")) as { deployment: { resources: Array<{ type: string; outputs?: { target?: string; result?: { ok: boolean; joins: Record<string, number> } } }> } };
    const verify = state.deployment.resources.find((r) => r.type.endsWith(":MptcpVerification"))!;
    expect(verify.outputs!.target).toBe("fd00:1::1");
    expect(verify.outputs!.result!.ok).toBe(true);
    expect(verify.outputs!.result!.joins["serverAckRx"]).toBeGreaterThan(0);
    // While an MPTCP transfer to fd00:1::1 runs, a subflow between the eno2 IPv6 addresses is up.
    onHost("server1", "sh", "-c", "mptcpize run iperf3 -s -1 -D -p 5299 -I /tmp/mptcp-ipv6-e2e.pid; sleep 0.3");
    const subflows = onHost(
      "server2",
      "sh",
      "-c",
      "mptcpize run iperf3 -c fd00:1::1 -p 5299 -t 3 >/dev/null 2>&1 & sleep 1.5; ss -tnH state established '( dport = :5299 )'; wait",
    );
    expect(subflows).toMatch(/\[fd00:2::2\]:\d+\s+\[fd00:2::1\]:5299/);
  });

  it("4. the same stack written with non-canonical IPv6 spellings shows no changes", () => {
    ok("preview", "--refresh", "--expect-no-changes", "--config-file", longSpellingFile());
  });

  it("5. a deleted IPv6 rule is found as drift and repaired by up --refresh", () => {
    onHost("server2", "ip", "-6", "rule", "del", "priority", "1202");
    const found = drift();
    expect(found.status).toBe(1);
    expect(found.plan.resources.map((r) => r.name)).toEqual(["server2-table-202"]);
    ok("up", "--yes", "--refresh", "--skip-preview");
    expect(onHost("server2", "ip", "-6", "rule", "show")).toContain("1202:\tfrom fd00:2::2 lookup 202");
    expect(drift().status).toBe(0);
  });

  it("6. destroy restores both hosts exactly", () => {
    ok("destroy", "--yes", "--skip-preview");
    expect(snapshot("server1")).toBe(before["server1"]);
    expect(snapshot("server2")).toBe(before["server2"]);
    expect(tryOnHost("server2", "ls", "/etc/mptcp-pulumi").status).not.toBe(0);
  });
});
