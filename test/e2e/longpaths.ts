/**
 * Long fat paths on a VM pair (netem inside the guests): the verification's verdicts with the
 * kernel's own buffers and with the buffers it advises, applied through the stack, and MPTCP
 * slower than the best single path on a short and a long path. Reuses a pair that is already
 * booted (the same release and flavor: `lab up --delays` only reshapes the links). Asserts the
 * verdicts, never throughputs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject, type VerifyResult } from "../../scripts/tempProject";
import type { TierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts } from "../lab/topology";

// Why so short, and no shorter: at 150 ms one way a round trip is 300 ms; slow start and
// receive-buffer autotuning need about eight of them to open a 1.9 MB window (a 200 ms path:
// 3.2 s), so 4 s of warm-up are left out, then 4 s measured: the verdicts need the kernels'
// round trips and windows, not a precise rate. Each verification is three transfers (TCP on
// each path, then MPTCP) of about 10 s each, plus the remedies' two.
const VERIFY = ["--each-path", "--warmup", "4", "--advise"];
const SECONDS = 4;
const SLOW = 300_000;

type Hosts = Array<{ sysctls: Record<string, string | number> }>;

/** The verification's problems other than MPTCP below the best single path (a rate, not a verdict). */
const otherProblems = (r: VerifyResult): string[] =>
  r.problems.filter((p) => !p.startsWith("MPTCP is slower than the best single path"));

/** Declares the long-path tests on the running pair of `up` (release and flavor). */
export function describeLongPaths(harness: TierHarness, up: string[]): void {
  describe(`long fat paths on ${harness.tier} servers (${up.join(" ")})`, () => {
    let project: TempProject;
    const hosts = (buffers: "stack" | "kernel", extra: Record<string, string> = {}) => {
      const h = stackHosts(labHosts(harness.tier), keyPaths(harness.tier), buffers) as Hosts;
      for (const x of h) Object.assign(x.sysctls, extra);
      return { "mptcp-pulumi:hosts": h };
    };
    const verify = (...extra: string[]): { status: number; result: VerifyResult; stderr: string } => {
      const r = project.verify(SECONDS, ...VERIFY, ...extra);
      expect(r.results, r.stderr).toHaveLength(1);
      return { status: r.status, result: r.results[0]!, stderr: r.stderr };
    };

    beforeAll(() => {
      harness.lab("up", ...up, "--delays", "150,150");
      project = new TempProject("vm-longpaths", hosts("kernel"));
      project.ok("up", "--yes", "--skip-preview");
    }, SLOW);

    afterAll(() => {
      if (project) {
        project.pulumi("destroy", "--yes", "--skip-preview");
        project.remove();
      }
      // The same pair without delays, as the lifecycle left it.
      harness.lab("up", ...up);
    }, SLOW);

    let advised: Record<string, string> = {};

    it("with the kernel's own buffers, two 150 ms paths are window-limited, and --advise names the buffers that lift it", () => {
      const { status, result, stderr } = verify();
      // 0, or 1 when MPTCP also fell below a single path: both say the verification ran.
      expect([0, 1], stderr).toContain(status);
      expect(otherProblems(result)).toEqual([]);
      expect(result.window.windowLimited, result.window.verdict).toBe(true);
      expect(result.window.verdict).toMatch(/^window-limited: the 2 paths need at least [\d.]+ MB in flight .*, tcp_rmem's maximum \([\d.]+ MiB on server1\) gives about [\d.]+ MB of window/);
      expect(Object.keys(result.advice?.sysctls ?? {}).sort()).toEqual(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
      expect(stderr).toMatch(/net\.ipv4\.tcp_rmem: "4096 131072 \d+"/);
      advised = result.advice!.sysctls;
    }, SLOW);

    // Whether MPTCP then beats the best single path is a rate, and 4 s after a slow start that
    // overshoots into a 300 ms queue is not enough to say (CI saw 32 vs 48 Mbit/s once, with 65%
    // of an 8.2 MB window in flight); the bench measures it over 15 s (0.97 of the sum).
    it("with the advised buffers applied through the stack's sysctls, it is not window-limited, and --advise has nothing to add", () => {
      project.configure(hosts("kernel", advised));
      project.ok("up", "--yes", "--skip-preview");
      const { status, result, stderr } = verify();
      expect([0, 1], stderr).toContain(status);
      expect(otherProblems(result)).toEqual([]);
      expect(result.window.windowLimited, result.window.verdict).toBe(false);
      expect(result.window.verdict).toMatch(/^not window-limited: the 2 paths need at least [\d.]+ MB in flight .*, the buffers allow about [\d.]+ MB/);
      expect(result.advice).toBeUndefined();
      expect(stderr).toMatch(/nothing to change/);
    }, SLOW);

    it("on a 5 ms and a 200 ms path with the kernel's buffers, MPTCP is slower than the best single path, and the best remedy measured is named", () => {
      harness.lab("up", ...up, "--delays", "5,200");
      project.configure(hosts("kernel"));
      project.ok("up", "--yes", "--skip-preview");
      const { status, result } = verify("--remedies");
      expect(status).toBe(1);
      expect(result.problems).toEqual([expect.stringMatching(/^MPTCP is slower than the best single path \([\d.]+ vs [\d.]+ Mbit\/s on eno1\); best remedy measured: /)]);
      expect(result.remedies!.map((r) => r.label)).toEqual(expect.arrayContaining(["eno2 as backup", expect.stringMatching(/^the advised buffers/)]));
    }, SLOW);
  });
}
