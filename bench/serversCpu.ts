/**
 * The lab servers' own CPU during an operation: everything their sshd runs for us (sessions,
 * shells, our host programs, ip, sysctl) in a CPU-accounting cgroup. On this machine the
 * servers share the bench's cores, so their programs' cost is part of every figure; the
 * command's own CPU (childrenCpuMs) never sees it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** cgroup v1's accounting controller, or the v2 hierarchy; whichever this machine mounts. */
const V1 = "/sys/fs/cgroup/cpuacct";
const V2 = "/sys/fs/cgroup";

/** A cgroup's CPU seconds so far, from cpuacct.usage (v1, nanoseconds) or cpu.stat (v2, usage_usec). */
export function parseCpuSeconds(file: "cpuacct.usage" | "cpu.stat", text: string): number {
  if (file === "cpuacct.usage") return Number(text.trim()) / 1e9;
  const usec = /^usage_usec (\d+)$/m.exec(text);
  if (!usec) throw new Error(`cpu.stat has no usage_usec line: ${JSON.stringify(text.slice(0, 200))}`);
  return Number(usec[1]) / 1e6;
}

/** The servers' processes in one cgroup. */
export interface ServersCpu {
  /** Starts a count; the function returned gives the CPU seconds spent since. */
  start(): () => number;
}

/** The cgroup `name`'s folder on this machine. */
function groupDir(name: string): { dir: string; file: "cpuacct.usage" | "cpu.stat" } {
  const v1 = existsSync(join(V1, "cpuacct.usage"));
  return { dir: join(v1 ? V1 : V2, name), file: v1 ? "cpuacct.usage" : "cpu.stat" };
}

/** Removes the cgroup `name` once its processes are gone (after `lab down`); a busy one stays. */
export function dropServersCpu(name: string): void {
  try {
    rmdirSync(groupDir(name).dir);
  } catch {
    // Missing, or processes still in it: the next run's mkdir reuses it.
  }
}

/**
 * Moves every process of the namespaces `netns` (the servers' sshd) into a new cgroup `name`;
 * what they start later lands there too. Undefined where no accounting cgroup can be made.
 */
export function serversCpu(name: string, netns: readonly string[]): ServersCpu | undefined {
  const { dir, file } = groupDir(name);
  try {
    mkdirSync(dir, { recursive: true });
    for (const ns of netns) {
      const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean);
      for (const pid of pids) writeFileSync(join(dir, "cgroup.procs"), pid);
    }
    const seconds = () => parseCpuSeconds(file, readFileSync(join(dir, file), "utf8"));
    seconds();
    return {
      start: () => {
        const from = seconds();
        return () => seconds() - from;
      },
    };
  } catch {
    return undefined;
  }
}
