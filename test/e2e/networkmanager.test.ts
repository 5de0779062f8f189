/**
 * The lab stack in NetworkManager's connections, on the systemd tier's networkmanager flavor: one
 * `up` puts the tables into the connections and turns NM's own endpoints off; an endpoint someone
 * added by hand is reported as foreign, removed with `foreignEndpoints: remove` (and again after it
 * came back), and destroy leaves NM's connections and the kernel as they were before `up`. NM's own
 * events are the variation matrix's (matrix.test.ts). Real CLI, real SSH.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "../../scripts/tempProject";
import { tierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts } from "../lab/topology";
import { snapshot } from "./project";

const sd = tierHarness("systemd");
const SERVERS = ["server1", "server2"] as const;
const SLOW = 300_000;
const NM_SETTINGS = "connection.mptcp-flags,ipv4.addresses,ipv4.routes,ipv4.routing-rules";

/**
 * The server's kernel state as the stack sees it (endpoints sorted, ids left out: mptcpd and the
 * restore pick them), its NM connections' settings and NM's dispatcher folder.
 */
function state(server: string): string {
  // NM numbers its connected routes anew when it reactivates a connection (the tests' own
  // `nmcli connection up` does): their metric is NM's business, not the stack's.
  const kernel = snapshot(server, sd.onHost).replace(/@if\d+/g, "").replace(/[ \t]+/g, " ").replace(/( proto kernel scope link src \S+) metric \d+/g, "$1");
  const [endpoints = "", ...rest] = kernel.split("---");
  const sorted = endpoints.replace(/ id \d+ /g, " ").split("\n").filter(Boolean).sort().join("\n");
  return [sorted, ...rest, nmState(server)].join("---\n");
}

/** NM's side alone: the connections' settings we write and the dispatcher folder. */
function nmState(server: string): string {
  const nm = ["eno1", "eno2"].map((c) => sd.onHost(server, "nmcli", "-g", NM_SETTINGS, "connection", "show", c)).join("---\n");
  return `${nm}---\n${sd.onHost(server, "ls", "/etc/NetworkManager/dispatcher.d")}`;
}


describe("the lab stack on NetworkManager servers, with an endpoint added by hand", () => {
  let project: TempProject;
  const before: Record<string, string> = {};
  const nmBefore: Record<string, string> = {};
  const hosts = () => stackHosts(labHosts("systemd"), keyPaths("systemd")) as Array<Record<string, unknown>>;
  const setHosts = (policy: "keep" | "remove") =>
    writeFileSync(project.configFile, JSON.stringify({ config: { "mptcp-pulumi:hosts": hosts().map((h) => ({ ...h, foreignEndpoints: policy })), "mptcp-pulumi:verify": { seconds: 2 } } }, null, 2));
  const outputs = () => JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { foreignEndpoints: string[]; managers: Record<string, string>; verification?: { ok: boolean; paths: Array<{ dev: string; sharePercent: number }> } }> };
  const clean = () => project.pulumi("preview", "--refresh", "--expect-no-changes").status === 0;

  beforeAll(() => {
    sd.lab("up", "--flavor", "networkmanager");
    // Someone's own endpoint, on an address the stack declares no endpoint for.
    sd.onHost("server2", "ip", "mptcp", "endpoint", "add", "10.0.0.2", "dev", "eno1");
    for (const s of SERVERS) before[s] = state(s);
    for (const s of SERVERS) nmBefore[s] = nmState(s);
    project = new TempProject("sd-nm-keeps", { "mptcp-pulumi:hosts": hosts(), "mptcp-pulumi:verify": { seconds: 2 } });
  }, SLOW);

  afterAll(() => {
    project?.remove();
    sd.lab("down");
  });

  it("up writes the tables into NM's connections, turns NM's own endpoints off there, and reports the hand-made one as foreign", () => {
    project.ok("up", "--yes", "--skip-preview");
    const nm = (c: string, key: string) => sd.onHost("server2", "nmcli", "-g", key, "connection", "show", c).trim();
    expect(nm("eno2", "ipv4.routing-rules")).toBe("priority 1002 from 192.168.0.2 table 102");
    // The metric written out: without one NM gives the route the connection's own (100 and up).
    expect(nm("eno2", "ipv4.routes")).toBe("192.168.0.0/24 0 scope=253 table=102");
    expect(nm("eno1", "connection.mptcp-flags")).toBe("0x1");
    expect(sd.onHost("server2", "sh", "-c", "ls /etc/mptcp-pulumi/parts")).not.toContain("table");
    expect(sd.onHost("server2", "ip", "mptcp", "endpoint", "show")).toMatch(/^192\.168\.0\.2 id \d+ subflow dev eno2/m);
    const out = outputs().hosts;
    expect(out["server2"]!.verification).toMatchObject({ ok: true });
    expect(out["server2"]!.managers).toEqual({ eno1: "NetworkManager", eno2: "NetworkManager" });
    expect(out["server2"]!.foreignEndpoints).toEqual([expect.stringMatching(/^10\.0\.0\.2 id \d+ dev eno1$/)]);
    expect(out["server2"]!.foreignEndpoints.join()).not.toContain("192.168.0.2");
    expect(clean()).toBe(true);
  }, SLOW);

  it("foreignEndpoints: remove deletes the hand-made endpoint; added again, drift reports it and up removes it", () => {
    setHosts("remove");
    project.ok("up", "--yes", "--skip-preview");
    expect(outputs().hosts["server2"]!.foreignEndpoints).toEqual([]);
    expect(sd.onHost("server2", "ip", "mptcp", "endpoint", "show").trim().split("\n")).toHaveLength(1);
    expect(clean()).toBe(true);
    sd.onHost("server2", "ip", "mptcp", "endpoint", "add", "10.0.0.2", "dev", "eno1");
    const drift = project.drift("--json");
    expect(drift.status, drift.stderr).toBe(1);
    const plan = JSON.parse(drift.stdout) as { resources: Array<{ name: string; reason: string }> };
    expect(plan.resources).toEqual([expect.objectContaining({ name: "server2-mptcp", reason: expect.stringMatching(/^foreign endpoints to remove: 10\.0\.0\.2 id \d+ dev eno1$/) })]);
    project.ok("up", "--yes", "--refresh", "--skip-preview");
    expect(clean()).toBe(true);
  }, SLOW);

  it("destroy leaves NM's connections and the kernel as before up (the hand-made endpoint back)", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    for (const s of SERVERS) expect(state(s)).toBe(before[s]);
  }, SLOW);

  it("up again (foreign endpoints kept) converges", () => {
    setHosts("keep");
    project.ok("up", "--yes", "--skip-preview");
    expect(clean()).toBe(true);
  }, SLOW);

  it("MptcpVerification shows both paths", () => {
    const r = project.verify(2);
    expect(r.status, r.stderr).toBe(0);
    const [result] = r.results;
    expect(result!.ok).toBe(true);
    expect(result!.paths.map((p) => p.dev).sort()).toEqual(["eno1", "eno2"]);
  }, SLOW);

  it("destroy leaves NM's connections without our entries", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    for (const s of SERVERS) expect(nmState(s)).toBe(nmBefore[s]);
  }, SLOW);
});
