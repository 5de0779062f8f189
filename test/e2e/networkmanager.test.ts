/**
 * NetworkManager keeps what the stack declares: the lab stack on the systemd tier's
 * networkmanager flavor with mptcpd running, one `up`, then NM's and the kernel's own events
 * (`nmcli connection up eno2`, a carrier loss, the data NICs re-created, a real reboot). After
 * each, NM (and its dispatcher hook) must have everything back within seconds, with no `up`:
 * `preview --refresh --expect-no-changes` passes. mptcpd's endpoints are reported as foreign,
 * removed with `foreignEndpoints: remove`, and destroy leaves NM's connections and the kernel
 * as they were before `up`. Real CLI, real SSH.
 */
import { spawnSync } from "node:child_process";
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

/** Polls until `check` passes, for at most `seconds`; returns how long it took. */
function within(seconds: number, check: () => boolean): number {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > seconds * 1000) return Infinity;
    spawnSync("sleep", ["0.5"]);
  }
  return (Date.now() - start) / 1000;
}

describe("the lab stack on NetworkManager servers with mptcpd", () => {
  let project: TempProject;
  const before: Record<string, string> = {};
  const nmBefore: Record<string, string> = {};
  const hosts = () => stackHosts(labHosts("systemd"), keyPaths("systemd")) as Array<Record<string, unknown>>;
  const setHosts = (policy: "keep" | "remove") =>
    writeFileSync(project.configFile, JSON.stringify({ config: { "mptcp-pulumi:hosts": hosts().map((h) => ({ ...h, foreignEndpoints: policy })), "mptcp-pulumi:verify": { seconds: 2 } } }, null, 2));
  const outputs = () => JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { foreignEndpoints: string[]; managers: Record<string, string>; verification?: { ok: boolean; paths: Array<{ dev: string; sharePercent: number }> } }> };
  const clean = () => project.pulumi("preview", "--refresh", "--expect-no-changes").status === 0;

  beforeAll(() => {
    sd.lab("up", "--flavor", "networkmanager", "--mptcpd");
    // mptcpd adds its endpoints as NM brings the addresses up: wait for them before the snapshot.
    within(20, () => SERVERS.every((s) => sd.onHost(s, "ip", "mptcp", "endpoint", "show").includes("dev eno2")));
    for (const s of SERVERS) before[s] = state(s);
    for (const s of SERVERS) nmBefore[s] = nmState(s);
    project = new TempProject("sd-nm-keeps", { "mptcp-pulumi:hosts": hosts(), "mptcp-pulumi:verify": { seconds: 2 } });
  }, SLOW);

  afterAll(() => {
    project?.remove();
    sd.lab("down");
  });

  it("up writes the tables into NM's connections, turns NM's own endpoints off there, and reports mptcpd's as foreign", () => {
    project.ok("up", "--yes", "--skip-preview");
    const nm = (c: string, key: string) => sd.onHost("server2", "nmcli", "-g", key, "connection", "show", c).trim();
    expect(nm("eno2", "ipv4.routing-rules")).toBe("priority 1002 from 192.168.0.2 table 102");
    expect(nm("eno2", "ipv4.routes")).toBe("192.168.0.0/24 scope=253 table=102");
    expect(nm("eno1", "connection.mptcp-flags")).toBe("0x1");
    expect(sd.onHost("server2", "sh", "-c", "ls /etc/mptcp-pulumi/parts")).not.toContain("table");
    expect(sd.onHost("server2", "ip", "mptcp", "endpoint", "show")).toMatch(/^192\.168\.0\.2 id \d+ subflow dev eno2/m);
    const out = outputs().hosts;
    expect(out["server2"]!.verification).toMatchObject({ ok: true });
    expect(out["server2"]!.managers).toEqual({ eno1: "NetworkManager (connection eno1)", eno2: "NetworkManager (connection eno2)" });
    // mptcpd's endpoints (no flags) on the addresses the stack does not declare.
    expect(out["server2"]!.foreignEndpoints).toEqual(expect.arrayContaining([expect.stringMatching(/^10\.0\.0\.2 id \d+ dev eno1$/)]));
    expect(out["server2"]!.foreignEndpoints.join()).not.toContain("192.168.0.2");
    expect(clean()).toBe(true);
  }, SLOW);

  const events: Array<[string, () => void]> = [
    ["nmcli connection up eno2", () => void sd.onHost("server2", "nmcli", "connection", "up", "eno2")],
    [
      "eno2 carrier down and up",
      () => {
        sd.onHost("server1", "ip", "link", "set", "dev", "eno2", "down");
        spawnSync("sleep", ["3"]);
        sd.onHost("server1", "ip", "link", "set", "dev", "eno2", "up");
      },
    ],
  ];
  // These change what mptcpd added before up (its endpoints on the dead NICs, NM's route
  // metrics), so they run after the destroy check, on a second up.
  const laterEvents: Array<[string, () => void]> = [
    ["the data NICs re-created", () => void sd.lab("relink", "server2")],
    ["a real reboot of server2", () => void sd.lab("reboot", "server2")],
  ];
  const settles = (cause: () => void) => {
    cause();
    const took = within(30, () => SERVERS.every((s) => sd.onHost(s, "ip", "route", "show", "table", "102").includes("192.168.0.0/24 dev eno2")) && clean());
    expect(took, `still drifted 30 s after the event: ${project.drift().stdout}`).toBeLessThan(30);
  };

  it.each(events)("after %s, NM puts everything back within seconds: preview --refresh --expect-no-changes passes", (_event, cause) => settles(cause), SLOW);

  it("foreignEndpoints: remove deletes mptcpd's endpoints; mptcpd adds one back when NM brings an address up, which drift reports and up removes", () => {
    setHosts("remove");
    project.ok("up", "--yes", "--skip-preview");
    expect(outputs().hosts["server2"]!.foreignEndpoints).toEqual([]);
    expect(sd.onHost("server2", "ip", "mptcp", "endpoint", "show").trim().split("\n")).toHaveLength(1);
    expect(clean()).toBe(true);
    sd.onHost("server2", "nmcli", "connection", "up", "eno1");
    expect(within(10, () => sd.onHost("server2", "ip", "mptcp", "endpoint", "show").includes("10.0.0.2"))).toBeLessThan(10);
    const drift = project.drift("--json");
    expect(drift.status, drift.stderr).toBe(1);
    const plan = JSON.parse(drift.stdout) as { resources: Array<{ name: string; reason: string }> };
    expect(plan.resources).toEqual([expect.objectContaining({ name: "server2-mptcp", reason: expect.stringMatching(/^foreign endpoints to remove: 10\.0\.0\.2 id \d+ dev eno1$/) })]);
    project.ok("up", "--yes", "--refresh", "--skip-preview");
    expect(clean()).toBe(true);
  }, SLOW);

  it("destroy leaves NM's connections and the kernel as before up (mptcpd's endpoints back)", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    for (const s of SERVERS) expect(state(s)).toBe(before[s]);
  }, SLOW);

  it("up again (foreign endpoints kept) converges", () => {
    setHosts("keep");
    project.ok("up", "--yes", "--skip-preview");
    expect(clean()).toBe(true);
  }, SLOW);

  it.each(laterEvents)("after %s, NM and its dispatcher hook put everything back within seconds: preview --refresh --expect-no-changes passes", (_event, cause) => settles(cause), SLOW);

  it("MptcpVerification still shows both paths after every event", () => {
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
