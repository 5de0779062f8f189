import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `script` (its /run/lock moved to a temporary folder) in a network namespace of its own
 * while another process holds that namespace's host lock for 1.5 s; returns its exit status and
 * how long it took, in ms. `prepare` edits the script once the folder is known.
 */
export function runWhileLocked(script: string, prepare: (s: string, dir: string) => string = (s) => s): { status: number; ms: number; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-lock-"));
  const text = prepare(script, dir).split("/run/lock").join(dir);
  const r = spawnSync(
    "unshare",
    ["-rn", "sh", "-c", `l="$1/mptcp-pulumi-$(stat -L -c %i /proc/self/ns/net).lock"; : > "$l"; flock "$l" sleep 1.5 & sleep 0.3; s=$(date +%s%N); sh -c "$0"; echo $?; echo $(( ($(date +%s%N) - s) / 1000000 ))`, text, dir],
    { encoding: "utf8" },
  );
  rmSync(dir, { recursive: true, force: true });
  const [status, ms] = r.stdout.trim().split("\n").slice(-2).map(Number);
  return { status: status ?? -1, ms: ms ?? 0, stderr: r.stderr };
}
