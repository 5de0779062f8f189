/**
 * The user's workflow with the real Pulumi CLI on the lab (file backend in a temporary
 * directory): preview, up, no-change preview, drift by hand seen by refresh and repaired by
 * up --refresh, a config change applied in place, verify, and destroy back to the start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptedConnections, freshLab, onHost } from "../lab/harness";
import { previewOps, snapshot, TempProject } from "./project";

let project: TempProject;
const ok = (...args: string[]) => project.ok(...args);
const pulumi = (...args: string[]) => project.pulumi(...args);
const before: Record<string, string> = {};

beforeAll(() => {
  freshLab();
  project = new TempProject("e2e");
  before["server1"] = snapshot("server1");
  before["server2"] = snapshot("server2");
});

afterAll(() => project?.remove());

describe("pulumi on the lab stack", () => {
  it("1. preview lists the creates and touches no host", () => {
    const connections = acceptedConnections("server1") + acceptedConnections("server2");
    const ops = previewOps(ok("preview", "--json"));
    expect(Object.values(ops).every((op) => op === "create")).toBe(true);
    expect(Object.keys(ops)).toEqual(expect.arrayContaining(["server1-mptcp", "server1-eno2", "server1-table-102", "server1-endpoint-192.168.0.1", "server2-endpoint-192.168.0.2", "server2-tuning"]));
    // 8 per server (7 and its Preflight), the pair's MptcpVerification, and the components: the group and a server per host
    expect(Object.keys(ops)).toHaveLength(20);
    expect(ops["server1-preflight"]).toBe("create");
    expect(Object.keys(ops)).toEqual(expect.arrayContaining(["mptcp", "server1", "server2"]));
    expect(ops["server2-verify"]).toBe("create");
    expect(acceptedConnections("server1") + acceptedConnections("server2")).toBe(connections);
    expect(snapshot("server1")).toBe(before["server1"]);
    expect(snapshot("server2")).toBe(before["server2"]);
  });

  it("2. up converges: the hosts show exactly the configured state", () => {
    ok("up", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.2 id 1 subflow dev eno2");
    for (const server of ["server1", "server2"]) {
      const n = server === "server1" ? "1" : "2";
      expect(onHost(server, "ip", "mptcp", "limits", "show").trim()).toBe("add_addr_accepted 2 subflows 2");
      const rules = onHost(server, "ip", "rule", "show");
      expect(rules).toContain(`1001:\tfrom 10.0.0.${n} lookup 101`);
      expect(rules).toContain(`1002:\tfrom 192.168.0.${n} lookup 102`);
      expect(onHost(server, "ip", "route", "show", "table", "101").trim()).toBe("10.0.0.0/24 dev eno1 scope link");
      expect(onHost(server, "ip", "route", "show", "table", "102").trim()).toBe("192.168.0.0/24 dev eno2 scope link");
      expect(onHost(server, "sysctl", "-n", "net.ipv4.tcp_rmem").split(/\s+/).join(" ").trim()).toBe("4096 131072 33554432");
      expect(onHost(server, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim()).toBe("2");
    }
  });

  it("2c. each host's resources stand in three levels: endpoints wait for the host and its interfaces, not its tables", () => {
    const deployment = (JSON.parse(ok("stack", "export")) as { deployment: { resources: Array<{ urn: string; custom: boolean; dependencies?: string[] }> } }).deployment;
    const ofServer1 = new Map(deployment.resources.filter((r) => r.custom && r.urn.includes("::server1-")).map((r) => [r.urn, r.dependencies ?? []]));
    const name = (urn: string) => urn.split("::").pop()!;
    const endpoint = [...ofServer1.keys()].find((urn) => name(urn).startsWith("server1-endpoint-"))!;
    expect(ofServer1.get(endpoint)!.map(name).sort()).toEqual(["server1-eno1", "server1-eno2", "server1-mptcp", "server1-preflight"]);
    const depth = (urn: string): number => 1 + Math.max(0, ...ofServer1.get(urn)!.filter((d) => ofServer1.has(d)).map(depth));
    expect(Math.max(...[...ofServer1.keys()].map(depth))).toBe(3);
  });

  it("2b. the stack outputs the verification: MPTCP joined on both links", () => {
    const outputs = JSON.parse(ok("stack", "output", "--json")) as { hosts: Record<string, { verification?: { ok: boolean; joins: Record<string, number>; ratio: number } }> };
    const proof = outputs.hosts["server2"]!.verification!;
    expect(proof.ok).toBe(true);
    expect(proof.joins["serverAckRx"]).toBeGreaterThan(0);
    expect(outputs.hosts["server1"]!.verification).toBeUndefined();
  });

  it("3. a second preview expects no changes", () => {
    ok("preview", "--expect-no-changes");
  });

  it("7. verify shows MPTCP joining and both links carrying traffic", () => {
    const r = project.verify();
    expect(r.status, r.stderr).toBe(0);
    const [result] = r.results;
    expect(result!.ok).toBe(true);
    expect(result!.joins["serverAckRx"]).toBeGreaterThan(0);
    expect(result!.linkBytes["eno1"]).toBeGreaterThan(1e6);
    expect(result!.linkBytes["eno2"]).toBeGreaterThan(1e6);
  });

  it("4. drift made by hand is reported by refresh and preview --refresh, and repaired by up --refresh", () => {
    onHost("server1", "ip", "mptcp", "endpoint", "flush");
    onHost("server2", "sysctl", "-qw", "net.ipv4.tcp_rmem=4096 87380 6291456");
    onHost("server2", "ip", "rule", "del", "priority", "1002");

    const check = pulumi("refresh", "--preview-only", "--expect-no-changes");
    expect(check.status).not.toBe(0);
    const ops = previewOps(ok("preview", "--refresh", "--json"));
    expect(ops["server1-endpoint-192.168.0.1"]).toBe("create");
    expect(ops["server2-tuning"]).toBe("update");
    expect(ops["server2-table-102"]).toBe("update");
    expect(["same", "refresh"]).toContain(ops["server1-eno1"]);

    ok("up", "--yes", "--refresh", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    expect(onHost("server2", "sysctl", "-n", "net.ipv4.tcp_rmem").split(/\s+/).join(" ").trim()).toBe("4096 131072 33554432");
    expect(onHost("server2", "ip", "rule", "show")).toContain("1002:\tfrom 192.168.0.2 lookup 102");
    ok("refresh", "--preview-only", "--expect-no-changes");
  });

  it("5. a config change (an endpoint flag, a buffer size) updates in place", () => {
    // backup is flipped in place (ip mptcp endpoint change); the pair's proof, measured again,
    // now expects eno2 to stand by as a backup instead of sharing the traffic.
    ok("config", "set", "--path", "hosts[1].endpoints[0].flags[1]", "backup");
    ok("config", "set", "--path", 'hosts[1].sysctls["net.ipv4.tcp_wmem"]', "4096 262144 67108864");
    const ops = previewOps(ok("preview", "--json"));
    expect(ops["server2-endpoint-192.168.0.2"]).toBe("update");
    expect(ops["server2-tuning"]).toBe("update");
    // The pair's configuration changed, so its proof is measured again; the host's declaration
    // changed, so its preflight plans it again before the first change.
    expect(Object.entries(ops).filter(([, op]) => op !== "same").map(([name]) => name).sort()).toEqual(["server2-endpoint-192.168.0.2", "server2-preflight", "server2-tuning", "server2-verify"]);
    ok("up", "--yes", "--skip-preview");
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.2 id 1 subflow backup dev eno2");
    const outputs = JSON.parse(ok("stack", "output", "--json")) as { hosts: Record<string, { verification: { ok: boolean; paths: Array<{ dev: string; role: string }> } }> };
    expect(outputs.hosts["server2"]!.verification.paths.map((p) => `${p.dev} ${p.role}`)).toEqual(["eno1 active", "eno2 backup"]);
    expect(onHost("server2", "sysctl", "-n", "net.ipv4.tcp_wmem").split(/\s+/).join(" ").trim()).toBe("4096 262144 67108864");
    ok("preview", "--expect-no-changes");
  });

  it("6. destroy returns both servers to the state they had before", () => {
    ok("destroy", "--yes", "--skip-preview");
    expect(snapshot("server1")).toBe(before["server1"]);
    expect(snapshot("server2")).toBe(before["server2"]);
  });
});
