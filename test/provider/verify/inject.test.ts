import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { armAndFailScript, dropRules, restoreAndDisarmScript } from "../../../provider/verify/inject";

describe("failure injection", () => {
  it("drops a link's packets both ways with nftables netdev hooks", () => {
    expect(dropRules("eno1")).toBe(
      'table netdev mptcp_pulumi_failover {\n  chain in { type filter hook ingress device "eno1" priority -500; policy drop; }\n  chain out { type filter hook egress device "eno1" priority -500; policy drop; }\n}\n',
    );
  });

  it("arms a restore timer before failing, so a host cut off still restores itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "inject-"));
    try {
      const log = join(dir, "log");
      const guard = join(dir, "guard");
      const commands = { fail: ["sh", "-c", `echo failed >> ${log}`], restore: ["sh", "-c", `echo restored >> ${log}`] };
      // Nobody disarms: the timer restores by itself.
      execFileSync("sh", ["-c", armAndFailScript(commands, 1, guard)]);
      expect(readFileSync(log, "utf8")).toBe("failed\n");
      execFileSync("sleep", ["1.5"]);
      expect(readFileSync(log, "utf8")).toBe("failed\nrestored\n");
      // Disarmed in time: restored once, by us.
      execFileSync("sh", ["-c", armAndFailScript(commands, 2, guard)]);
      execFileSync("sh", ["-c", restoreAndDisarmScript(commands, guard)]);
      execFileSync("sleep", ["2.5"]);
      expect(readFileSync(log, "utf8")).toBe("failed\nrestored\nfailed\nrestored\n");
      expect(existsSync(guard)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("quotes the stack's words exactly once", () => {
    expect(armAndFailScript({ fail: ["ip", "link", "set", "eno1; reboot", "down"], restore: ["true"] }, 30, "/tmp/g")).toContain("ip link set 'eno1; reboot' down");
  });
});
