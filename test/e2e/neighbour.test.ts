/**
 * A hostile neighbour (issue 18): on both servers of the systemd tier (netplan flavor) another
 * local user plants pid and guard files in /tmp naming processes of theirs, the sampler's old
 * stop flag and a FIFO at the old lock path, and tries to make the provider's folder. The
 * provider logs in as a non-root user with the README's sudoers lines and runs `up` with a
 * verification that fails a path over SSH (the failover's guard), then a real reboot and a
 * refresh. The stack converges, the verification passes, none of the neighbour's processes is
 * signalled, and the neighbour can write nothing of ours.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "../../scripts/tempProject";
import { tierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts } from "../lab/topology";
import { addDeployLogin, asNeighbour, DEPLOY, goneDecoys, plantNeighbour } from "../lab/users";

const sd = tierHarness("systemd");
const SERVERS = ["server1", "server2"] as const;
const SLOW = 600_000;
const decoys: Record<string, string[]> = {};
let project: TempProject;

/** The server fails the client's eno2 path by setting its own end down, through sudo like every privileged step. */
const FAILOVER = {
  path: "eno2",
  kinds: ["carrier"],
  inject: { via: "ssh", host: "server", guardSeconds: 30, carrier: { fail: ["sudo", "-n", "ip", "link", "set", "dev", "eno2", "down"], restore: ["sudo", "-n", "ip", "link", "set", "dev", "eno2", "up"] } },
};

beforeAll(() => {
  sd.lab("up", "--flavor", "netplan");
  for (const s of SERVERS) {
    addDeployLogin(sd, s);
    decoys[s] = plantNeighbour(sd, s, SERVERS);
  }
  const hosts = (stackHosts(labHosts("systemd"), keyPaths("systemd")) as Array<Record<string, any>>).map((h) => ({ ...h, connection: { ...h["connection"], user: DEPLOY } }));
  project = new TempProject("neighbour", { "mptcp-pulumi:hosts": hosts, "mptcp-pulumi:verify": { seconds: 2, failover: FAILOVER } });
}, SLOW);

afterAll(() => {
  project?.remove();
  sd.lab("down");
});

describe("a hostile neighbour on both servers", () => {
  it("up, with a verification that fails a path over SSH, converges and passes", () => {
    project.ok("up", "--yes", "--skip-preview");
    const out = JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { verification?: { ok: boolean; failover: Array<{ kind: string; ok: boolean }> } }> };
    expect(out.hosts["server2"]!.verification).toMatchObject({ ok: true, failover: [{ kind: "carrier", ok: true }] });
    expect(project.pulumi("preview", "--refresh", "--expect-no-changes").status).toBe(0);
  }, SLOW);

  it("signalled none of the neighbour's processes (their pid and guard files in /tmp were never read)", () => {
    for (const s of SERVERS) expect(goneDecoys(sd, s, decoys[s]!), s).toEqual([]);
  });

  it("keeps its files where the neighbour can write nothing: root's folder, the login's own inside it", () => {
    for (const s of SERVERS) {
      expect(sd.onHost(s, "stat", "-c", "%U %a", "/run/mptcp-pulumi").trim()).toBe("root 755");
      expect(asNeighbour(sd, s, "touch /run/mptcp-pulumi/x").status).not.toBe(0);
      const work = sd.onHost(s, "sh", "-c", `ls -d /run/mptcp-pulumi/ns-*/work-$(id -u ${DEPLOY})`).trim();
      expect(sd.onHost(s, "stat", "-c", "%U %a", work).trim()).toBe(`${DEPLOY} 755`);
      expect(asNeighbour(sd, s, `touch ${work}/iperf3-server1.pid`).status).not.toBe(0);
    }
  });

  it("a real reboot of the client, then refresh: nothing drifted", () => {
    sd.lab("reboot", "server2");
    plantNeighbour(sd, "server2", SERVERS);
    expect(project.pulumi("preview", "--refresh", "--expect-no-changes").status).toBe(0);
  }, SLOW);

  it("destroy as the same login removes everything; the neighbour's processes on the peer still run", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    expect(sd.onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
    expect(goneDecoys(sd, "server1", decoys["server1"]!)).toEqual([]);
  }, SLOW);
});
