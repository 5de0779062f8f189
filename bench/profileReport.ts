/**
 * The bench's tables about cost: ours against the floor and the Ansible peer (the issue's
 * targets), each figure's growth per added server, and the profiles of the operations.
 */
import { median } from "../provider/verify";
import type { Profile } from "./profile";
import type { SizeResult } from "./run";

/** The Ansible peer's medians on one lab size. */
export interface PeerResult {
  servers: number;
  applySeconds: number;
  noopSeconds: number;
}

const f2 = (x: number) => x.toFixed(2);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** Ours against the floor and the peer, with the targets, one row per lab size. */
export function peerMarkdown(sizes: readonly SizeResult[]): string[] {
  const lines = [
    "Against the floor and the Ansible peer (medians, the peer run right before ours on the same lab size; targets from issue 20):",
    "",
    "| servers | floor s | Ansible apply s | up s | up / Ansible (target) | up / floor (target) | Ansible no-op s | refresh s | refresh / Ansible no-op (target) | destroy s | destroy / up (target) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const size of sizes) {
    const o = size.ops;
    const a = size.ansible;
    const small = size.servers <= 2;
    lines.push(
      `| ${size.servers} | ${f2(o.floor.medianSeconds)} | ${a ? f2(a.applySeconds) : "-"} | ${f2(o.up.medianSeconds)} | ${a ? ratio(o.up.medianSeconds, a.applySeconds) : "-"}${small ? " (<= 0.5x)" : ""} | ` +
        `${ratio(o.up.medianSeconds, o.floor.medianSeconds)}${small ? "" : " (<= 5x)"} | ${a ? f2(a.noopSeconds) : "-"} | ${f2(o.refresh.medianSeconds)} | ` +
        `${a ? ratio(o.refresh.medianSeconds, a.noopSeconds) : "-"} (<= ${small ? "0.5" : "0.15"}x) | ${f2(o.destroy.medianSeconds)} | ${ratio(o.destroy.medianSeconds, o.up.medianSeconds)}${small ? "" : " (<= 1x)"} |`,
    );
  }
  return lines;
}

/** Ours against the baseline checkout, operation by operation: wall and CPU medians, and their ratios. */
export function beforeAfterMarkdown(sizes: readonly SizeResult[]): string[] {
  const lines = [
    "Before (the baseline checkout) and after (this one), medians, each run of the baseline right after ours on a fresh lab; CPU: the command and everything it waited for (CLI, program, provider, ssh clients):",
    "",
    "| servers | operation | before s | after s | after / before | before CPU s | after CPU s | after / before (CPU) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const cpu = (r: { cpuSeconds?: number[] | undefined }) => (r.cpuSeconds?.length ? median(r.cpuSeconds) : NaN);
  for (const size of sizes) {
    if (!size.baseline) continue;
    for (const op of ["up", "preview", "refresh", "destroy"] as const) {
      const b = size.baseline[op];
      const a = size.ops[op];
      lines.push(`| ${size.servers} | ${op} | ${f2(b.medianSeconds)} | ${f2(a.medianSeconds)} | ${ratio(a.medianSeconds, b.medianSeconds)} | ${f2(cpu(b))} | ${f2(cpu(a))} | ${ratio(cpu(a), cpu(b))} |`);
    }
    lines.push(`| ${size.servers} | floor | | ${f2(size.ops.floor.medianSeconds)} | | | | |`);
  }
  return lines;
}

/**
 * Where this machine's CPU went, per operation: the command's tree (CLI, engine, program,
 * provider, ssh clients) and the lab servers' (their sshd and everything it ran for us), against
 * what the machine's cores could give in the operation's wall time.
 */
export function cpuMarkdown(sizes: readonly SizeResult[], cores: number): string[] {
  const lines = [
    `CPU (medians; the lab servers run on this machine's ${cores} cores too, counted in a cgroup holding their sshd):`,
    "",
    "| servers | operation | wall s | command CPU s | servers' CPU s | both / (cores x wall) |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const med = (xs: readonly number[] | undefined) => (xs?.length ? median(xs) : undefined);
  for (const size of sizes) {
    for (const op of ["up", "preview", "refresh", "destroy", "floor"] as const) {
      const r = size.ops[op];
      const command = med(r.cpuSeconds);
      const servers = med(r.serversCpuSeconds);
      const share = servers !== undefined ? `${Math.round((((command ?? 0) + servers) / (cores * r.medianSeconds)) * 100)}%` : "-";
      lines.push(`| ${size.servers} | ${op} | ${f2(r.medianSeconds)} | ${command !== undefined ? f2(command) : "-"} | ${servers !== undefined ? f2(servers) : "-"} | ${share} |`);
    }
  }
  return lines;
}

/** Each figure's cost per added server between the two largest sizes, with the floor's beside it. */
export function growthMarkdown(sizes: readonly SizeResult[]): string[] {
  const [a, b] = [...sizes].sort((x, y) => x.servers - y.servers).slice(-2) as [SizeResult, SizeResult];
  const added = b.servers - a.servers;
  const per = (x: number, y: number) => ((y - x) / added) * 1000;
  const floor = per(a.ops.floor.medianSeconds, b.ops.floor.medianSeconds);
  const lines = [
    `Growth from ${a.servers} to ${b.servers} servers: each figure's cost per added server (medians), with the floor's beside it:`,
    "",
    "| operation | at " + a.servers + " s | at " + b.servers + " s | ms per added server | floor ms per added server | against the floor |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const op of ["up", "preview", "refresh", "destroy", "floor"] as const) {
    const x = a.ops[op].medianSeconds;
    const y = b.ops[op].medianSeconds;
    lines.push(`| ${op} | ${f2(x)} | ${f2(y)} | ${per(x, y).toFixed(0)} | ${floor.toFixed(0)} | ${op === "floor" ? "1.00x" : ratio(per(x, y), floor)} |`);
  }
  if (a.ansible && b.ansible) {
    lines.push(`| Ansible apply | ${f2(a.ansible.applySeconds)} | ${f2(b.ansible.applySeconds)} | ${per(a.ansible.applySeconds, b.ansible.applySeconds).toFixed(0)} | ${floor.toFixed(0)} | ${ratio(per(a.ansible.applySeconds, b.ansible.applySeconds), floor)} |`);
  }
  return lines;
}

const purposes = (p: Profile["roundTrips"]["byPurpose"]) =>
  Object.entries(p)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
const ms = (x: number | null) => (x === null ? "-" : x.toFixed(0));
const sec = (x: number | null) => (x === null ? "-" : f2(x));

/** The profile of every operation at every size (the median run of each). */
export function profileMarkdown(sizes: readonly SizeResult[]): string[] {
  const lines = [
    "Profile (`--profile`; of each operation the run whose time was the median). Phases in seconds: CLI and engine start (spawn to the program's start, or the provider's for refresh and destroy), the program (its start to its first resource at the provider), the provider process's load, the resources' work (first provider call to the last one's end), the wrap-up (to exit). CPU in seconds. Waits in ms, per resource: from its dependencies' last change to its own first call (program and SDK), from its check to its change (engine), and for its host's queue.",
    "",
    "| servers | operation | wall | CLI start | program | provider load | work | wrap-up | CPU total / provider / program / rest | round trips (per host max; all by purpose) | round trips per resource | median round trip ms | deps to call | check to change | host queue | levels |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const size of sizes) {
    for (const op of ["up", "preview", "refresh", "destroy"] as const) {
      const p = size.ops[op].profile;
      if (!p) continue;
      const per = Object.entries(p.roundTrips.perResource)
        .map(([k, n]) => `${k} ${n.toFixed(1)}`)
        .join(", ");
      lines.push(
        `| ${size.servers} | ${op} | ${f2(p.wallSeconds)} | ${f2(p.phases.cliStart)} | ${sec(p.phases.program)} | ${sec(p.phases.providerLoad)} | ${f2(p.phases.work)} | ${f2(p.phases.wrapUp)} | ` +
          `${f2(p.cpu.total)} / ${f2(p.cpu.provider)} / ${f2(p.cpu.program)} / ${f2(p.cpu.other)} | ${p.roundTrips.perHostMax}; ${purposes(p.roundTrips.byPurpose) || "none"} | ${per || "-"} | ` +
          `${p.roundTrips.total ? p.roundTrips.medianMs.toFixed(0) : "-"} | ${ms(p.waits.dependencyToRegistrationMs)} | ${ms(p.waits.registrationToWorkMs)} | ${ms(p.waits.hostQueueMs)} | ${p.waits.levels} |`,
      );
    }
  }
  return lines;
}
