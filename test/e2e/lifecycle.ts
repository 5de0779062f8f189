/**
 * The lab stack's lifecycle on one real-server lab (systemd containers or VMs), with the real
 * Pulumi CLI over real SSH: up (MptcpVerification passes), a clean `preview --refresh`, a real
 * `systemctl reboot` of both servers and what refresh finds after it, destroy back to the
 * image's state. Test files call `describeLifecycle` once per flavor or kernel.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "../../scripts/tempProject";
import type { TierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts } from "../lab/topology";
import { snapshot } from "./project";

const SERVERS = ["server1", "server2"] as const;
// Two VM reboots under software emulation took up to ~4 min on a busy 2-core machine.
const SLOW = 600_000;

/** One lab to run the lifecycle on. */
export interface Lifecycle {
  /** The suite's name, e.g. "networkd flavor". */
  name: string;
  /** Stack name (unique per file). */
  stack: string;
  harness: TierHarness;
  /** Arguments of `lab up` after the tier. */
  up: string[];
  /** Resources a real reboot of both servers loses, as measured; empty when nothing is lost (issue 12). */
  lostAtReboot: string[];
  /** Checks on the booted lab before the stack is applied (kernel, packages). */
  labChecks?: () => void;
  /** Events on a configured server (one `up` shared by all), each followed by a refresh. */
  events?: LabEvent[];
}

/** Something that happens to a configured server, and what refresh may then find changed. */
interface LabEvent {
  name: string;
  run(): void;
  /** Resources refresh finds changed once the event settled, as measured; [] when the manager keeps or restores everything. */
  lost?: string[];
}

/**
 * The server's state as the stack sees it; `@ifN` peer indexes change when a reboot recreates a
 * management link, and IPv6 link-local addresses (the kernel's, from the MAC) when a NIC is re-created.
 */
function state(harness: TierHarness, server: string): string {
  return snapshot(server, harness.onHost).replace(/@if\d+/g, "").replace(/ fe80::[0-9a-f:]+\/64/g, "").replace(/[ \t]+/g, " ");
}

/** Resource names a `preview --refresh --json` would change. */
function changed(project: TempProject): string[] {
  const r = project.pulumi("preview", "--refresh", "--json");
  expect(r.status, r.stderr).toBe(0);
  const steps = (JSON.parse(r.stdout) as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  return steps.filter((s) => s.op !== "same" && s.op !== "refresh" && !s.urn.includes("pulumi:pulumi:Stack")).map((s) => s.urn.split("::").pop()!).sort();
}

/** Declares the lifecycle tests of one lab. */
export function describeLifecycle(l: Lifecycle): void {
  describe(`the lab stack on ${l.harness.tier} servers, ${l.name}`, () => {
    let project: TempProject;
    const image: Record<string, string> = {};

    beforeAll(() => {
      l.harness.lab("up", ...l.up);
      for (const s of SERVERS) image[s] = state(l.harness, s);
      const hosts = stackHosts(labHosts(l.harness.tier), keyPaths(l.harness.tier));
      project = new TempProject(l.stack, { "mptcp-pulumi:hosts": hosts, "mptcp-pulumi:verify": { seconds: 2 } });
    });

    afterAll(() => project?.remove());

    if (l.labChecks) it("the lab is what it claims to be", () => l.labChecks!());

    it("up configures both servers, and MptcpVerification proves both links carry MPTCP", () => {
      project.ok("up", "--yes", "--skip-preview");
      expect(l.harness.onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
      expect(l.harness.onHost("server2", "ip", "rule", "show")).toContain("1002:\tfrom 192.168.0.2 lookup 102");
      const outputs = JSON.parse(project.ok("stack", "output", "--json")) as { hosts: Record<string, { verification?: { ok: boolean; joins: Record<string, number> } }> };
      expect(outputs.hosts["server2"]!.verification).toMatchObject({ ok: true });
      expect(outputs.hosts["server2"]!.verification!.joins["serverAckRx"]).toBeGreaterThan(0);
    }, SLOW);

    it("preview --refresh --expect-no-changes passes right after up", () => {
      const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    });

    for (const event of l.events ?? []) {
      it(`after ${event.name}, refresh finds ${event.lost?.length ? `exactly the measured losses (${event.lost.join(", ")})` : "every declared object in place, restored within seconds by the manager or the provider's units"}`, () => {
        event.run();
        const expected = event.lost ?? [];
        // The manager restores what it keeps asynchronously: give it a few seconds.
        let found = changed(project);
        for (let i = 0; i < 5 && JSON.stringify(found) !== JSON.stringify(expected); i++) {
          spawnSync("sleep", ["2"]);
          found = changed(project);
        }
        expect(found).toEqual(expected);
        if (expected.length) project.ok("up", "--yes", "--refresh", "--skip-preview");
      }, SLOW);
    }

    if (l.events?.length) {
      it("after the events, MPTCP still carries traffic on both paths", () => {
        const { status, results, stderr } = project.verify(2);
        expect(status, stderr).toBe(0);
        expect(results.map((x) => x.ok)).toEqual([true]);
        expect(results[0]!.paths.map((p) => p.dev).sort()).toEqual(["eno1", "eno2"]);
        for (const path of results[0]!.paths) expect(path.share).toBeGreaterThan(0.05);
      }, SLOW);
    }

    it("a real reboot of both servers runs the provider's unit; refresh then finds exactly the measured losses", () => {
      for (const s of SERVERS) {
        const out = l.harness.lab("reboot", s);
        expect(out).toContain(`${s}: boot: mptcp-pulumi.service result=success`);
      }
      expect(changed(project)).toEqual(l.lostAtReboot);
      const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
      expect(r.status === 0, `${r.stdout}${r.stderr}`).toBe(l.lostAtReboot.length === 0);
    }, SLOW);

    it("destroy leaves both servers as the image made them", () => {
      project.ok("destroy", "--yes", "--skip-preview");
      for (const s of SERVERS) expect(state(l.harness, s)).toBe(image[s]);
    }, SLOW);
  });
}
