/**
 * The lab stack on real servers: Debian 12 containers booting systemd with a real network stack
 * (netplan + systemd-networkd, NetworkManager, or plain addresses from a oneshot unit), driven
 * with the real Pulumi CLI over real SSH. Per flavor: up (MptcpVerification passes), a clean
 * `preview --refresh`, a real `systemctl reboot` of both servers and what refresh sees after
 * it, and destroy back to the image's state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "../../scripts/tempProject";
import { tierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts } from "../lab/topology";
import { snapshot } from "./project";

const sd = tierHarness("systemd");
const SERVERS = ["server1", "server2"] as const;
type Flavor = "networkd" | "networkmanager" | "plain";
const FLAVORS: Flavor[] = ["networkd", "networkmanager", "plain"];

/**
 * Resources a real reboot loses on each flavor, as measured (`npm run lab -- events`). Losing
 * them is today's truth, not the goal: issue 12 makes the provider cooperate with the network
 * managers so that these lists become empty.
 */
const LOST_AT_REBOOT: Record<Flavor, string[]> = {
  // server2's reboot drops the carrier of server1's eno1/eno2; systemd-networkd reconfigures
  // them and removes the policy rules and routes it did not configure itself
  // (ManageForeignRoutingPolicyRules/ManageForeignRoutes). The rebooted servers replay theirs.
  networkd: ["server1-table-101", "server1-table-102"],
  networkmanager: [],
  plain: [],
};

/** The server's state as the stack sees it; `@ifN` peer indexes change when a reboot recreates the management link. */
function state(server: string): string {
  return snapshot(server, sd.onHost).replace(/@if\d+/g, "").replace(/[ \t]+/g, " ");
}

/** Resource names a `preview --refresh --json` would change. */
function changed(project: TempProject): string[] {
  const r = project.pulumi("preview", "--refresh", "--json");
  expect(r.status, r.stderr).toBe(0);
  const steps = (JSON.parse(r.stdout) as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  return steps.filter((s) => s.op !== "same" && s.op !== "refresh" && !s.urn.includes("pulumi:pulumi:Stack")).map((s) => s.urn.split("::").pop()!).sort();
}

afterAll(() => {
  sd.lab("down");
});

describe.each(FLAVORS)("the lab stack on systemd servers, %s flavor", (flavor) => {
  let project: TempProject;
  const image: Record<string, string> = {};

  beforeAll(() => {
    sd.lab("up", "--flavor", flavor);
    for (const s of SERVERS) image[s] = state(s);
    project = new TempProject(`sd-${flavor}`, { "mptcp-pulumi:hosts": stackHosts(labHosts("systemd"), keyPaths("systemd")), "mptcp-pulumi:verify": { seconds: 2 } });
  });

  afterAll(() => project?.remove());

  it("up configures both servers, and MptcpVerification proves both links carry MPTCP", () => {
    project.ok("up", "--yes", "--skip-preview");
    expect(sd.onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    expect(sd.onHost("server2", "ip", "rule", "show")).toContain("1002:\tfrom 192.168.0.2 lookup 102");
    const outputs = JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { verification?: { ok: boolean; joins: Record<string, number> } }> };
    expect(outputs.hosts["server2"]!.verification).toMatchObject({ ok: true });
    expect(outputs.hosts["server2"]!.verification!.joins["serverAckRx"]).toBeGreaterThan(0);
  });

  it("preview --refresh --expect-no-changes passes right after up", () => {
    const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("a real reboot of both servers runs the provider's unit; refresh then finds exactly the measured losses", () => {
    for (const s of SERVERS) {
      const out = sd.lab("reboot", s);
      expect(out).toContain(`${s}: boot: mptcp-pulumi.service result=success`);
    }
    expect(changed(project)).toEqual(LOST_AT_REBOOT[flavor]);
    const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
    expect(r.status === 0, `${r.stdout}${r.stderr}`).toBe(LOST_AT_REBOOT[flavor].length === 0);
  });

  it("destroy leaves both servers as the image made them", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    for (const s of SERVERS) expect(state(s)).toBe(image[s]);
  });
});
