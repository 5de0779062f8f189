import { describe, expect, it } from "vitest";
import { dropRules } from "../../../provider/verify/inject";
import { verifyProgram } from "../../../provider/verify/hostCalls";
import { runIsolated } from "../../support/hostRun";

/** A failover guard's run: the arm (with its failure), optionally the disarm, in one isolated host. */
function guarded(seconds: number, then: string): ReturnType<typeof runIsolated> {
  const restore = ["sh", "-c", "echo restored >> /run/log"];
  const arm = verifyProgram(false, "failover_arm", ["eno1", seconds, ...restore], ["sh", "-c", "echo failed >> /run/log"]);
  const disarm = verifyProgram(false, "failover_disarm", ["eno1", ...restore]);
  return runIsolated(`sh -c "$1" && ${then.replace("DISARM", 'sh -c "$2" && ')} cat /run/log`, { args: [arm, disarm] });
}

describe("failure injection", () => {
  it("drops a link's packets both ways with nftables netdev hooks", () => {
    expect(dropRules("eno1")).toBe(
      'table netdev mptcp_pulumi_failover {\n  chain in { type filter hook ingress device "eno1" priority -500; policy drop; }\n  chain out { type filter hook egress device "eno1" priority -500; policy drop; }\n}\n',
    );
  });

  it("arms a restore timer before failing, so a host cut off still restores itself", () => {
    expect(guarded(1, "sleep 1.5 &&").stdout).toBe("failed\nrestored\n");
  });

  it("restores once when disarmed in time: the timer is gone", () => {
    expect(guarded(2, "DISARM sleep 2.5 &&").stdout).toBe("failed\nrestored\n");
  });

  it("keeps its guard in the login's own folder: a pid planted in /tmp is never signalled", () => {
    // The old guard lived at /tmp/mptcp-pulumi-failover-HOST.guard, which any local user may write.
    const plant = 'mount -t tmpfs none /tmp; sleep 30 >/dev/null 2>&1 & victim=$!; echo "$victim" > /tmp/mptcp-pulumi-failover-eno1.guard';
    const disarm = verifyProgram(false, "failover_disarm", ["eno1", "true"]);
    const r = runIsolated(`${plant}; sh -c "$1"; kill -0 "$victim" && echo alive; kill "$victim"`, { args: [disarm] });
    expect(r.stdout).toContain("alive");
  });

  it("signals no pid its own file does not name plainly (a word like -15 before it, as `kill $(cat f)` would take)", () => {
    const iperf = verifyProgram(false, "iperf_server_stop", ["server1"]);
    const r = runIsolated(`sleep 30 >/dev/null 2>&1 & victim=$!; d=$(sh -c "$1"; ls -d /run/mptcp-pulumi/ns-*/work-0); echo "-15 $victim" > "$d/iperf3-server1.pid"; sh -c "$1"; kill -0 "$victim" && echo alive; kill "$victim"; ls "$d"`, { args: [iperf] });
    expect(r.stdout).toBe("alive\n");
  });

  it("quotes the stack's words exactly once", () => {
    expect(verifyProgram(false, "failover_arm", ["eno1", 30, "true"], ["ip", "link", "set", "eno1; reboot", "down"])).toContain("ip link set 'eno1; reboot' down");
  });
});
