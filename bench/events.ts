/**
 * What the stack's objects survive on real servers: for each flavor of the systemd lab tier,
 * `pulumi up` the lab stack, then one event at a time on the client (server2) — a real reboot,
 * `systemctl restart systemd-networkd`, `netplan apply`, `nmcli connection up eno2`, eno2's
 * carrier down and up — and after each, which of the stack's objects are still on the host
 * (read there, not through the provider) and whether `npm run drift` reports the loss. The
 * stack is re-converged (`up --refresh`) between events.
 *
 * Usage: npm run events -- [--flavors networkd,networkmanager,plain] [--settle 3] [--out bench/results]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DriftPlan } from "../scripts/drift";
import { REPO_ROOT, TempProject } from "../scripts/tempProject";
import { keyPaths, labHosts, stackHosts, TOPOLOGY } from "../test/lab/topology";

const LAB = join(REPO_ROOT, "test/lab/lab.sh");
const HOST = "server2";
const PEER = "server1";
const FLAVORS = ["networkd", "networkmanager", "plain"] as const;
type Flavor = (typeof FLAVORS)[number];

/** One event: how to cause it, and on which flavors it means something. */
interface LabEvent {
  name: string;
  flavors: readonly Flavor[];
  run(): void;
}

function log(message: string): void {
  process.stderr.write(`events: ${message}\n`);
}

function sh(command: string[], what = command.join(" ")): string {
  const r = spawnSync(command[0]!, command.slice(1), { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const lab = (...args: string[]) => sh(["bash", LAB, "--tier", "systemd", ...args], `lab ${args.join(" ")}`);
const onHost = (...command: string[]) => lab("exec", HOST, ...command);
const sleep = (seconds: number) => spawnSync("sleep", [String(seconds)]);
const peerNetns = `${TOPOLOGY.tiers.systemd.netnsPrefix}${PEER}`;

const EVENTS: LabEvent[] = [
  { name: "real reboot", flavors: FLAVORS, run: () => void lab("reboot", HOST) },
  { name: "systemctl restart systemd-networkd", flavors: ["networkd"], run: () => void onHost("systemctl", "restart", "systemd-networkd") },
  { name: "netplan apply", flavors: ["networkd"], run: () => void onHost("netplan", "apply") },
  { name: "nmcli connection up eno2", flavors: ["networkmanager"], run: () => void onHost("nmcli", "connection", "up", "eno2") },
  {
    name: "eno2 carrier down and up",
    flavors: FLAVORS,
    run: () => {
      // The peer's end goes down: this host sees its carrier drop, as when a cable is pulled.
      sh(["ip", "-n", peerNetns, "link", "set", "dev", "eno2", "down"]);
      sleep(3);
      sh(["ip", "-n", peerNetns, "link", "set", "dev", "eno2", "up"]);
    },
  },
];

interface HostConfig {
  interfaces: Array<{ name: string; addresses: string[] }>;
  limits: { subflows: number; addAddrAccepted: number };
  endpoints: Array<{ address: string; dev: string; flags: string[] }>;
  policyRoutes: Array<{ table: number; rules: Array<{ from: string; priority: number }>; routes: Array<{ dst: string; dev: string; scope: string }> }>;
  sysctls: Record<string, string | number>;
}

/** The stack's objects on the host, each with whether the host has it now (read with ip/sysctl there). */
function objectsOnHost(config: HostConfig): Record<string, boolean> {
  const addrs = onHost("ip", "-o", "-4", "addr", "show");
  const rules = onHost("ip", "rule", "show");
  const endpoints = onHost("ip", "mptcp", "endpoint", "show");
  const limits = onHost("ip", "mptcp", "limits", "show").trim();
  const objects: Record<string, boolean> = {};
  for (const i of config.interfaces) for (const a of i.addresses) objects[`address ${a} ${i.name}`] = new RegExp(`\\s${i.name}\\s+inet ${a.replace(/\./g, "\\.")}\\s`).test(addrs);
  for (const p of config.policyRoutes) {
    for (const r of p.rules) objects[`rule ${r.priority} from ${r.from}`] = rules.includes(`${r.priority}:\tfrom ${r.from} lookup ${p.table}`);
    const table = spawnSync("bash", [LAB, "--tier", "systemd", "exec", HOST, "ip", "route", "show", "table", String(p.table)], { encoding: "utf8" }).stdout;
    for (const r of p.routes) objects[`route ${r.dst} table ${p.table}`] = table.includes(`${r.dst} dev ${r.dev} scope ${r.scope}`);
  }
  for (const e of config.endpoints) objects[`endpoint ${e.address} ${e.flags.join(",")}`] = new RegExp(`^${e.address.replace(/\./g, "\\.")} id \\d+ ${e.flags.join(" ")} dev ${e.dev}`, "m").test(endpoints);
  objects[`limits ${config.limits.subflows}/${config.limits.addAddrAccepted}`] = limits === `add_addr_accepted ${config.limits.addAddrAccepted} subflows ${config.limits.subflows}`;
  objects["sysctl net.mptcp.enabled=1"] = onHost("sysctl", "-n", "net.mptcp.enabled").trim() === "1";
  for (const [k, v] of Object.entries(config.sysctls)) objects[`sysctl ${k}`] = onHost("sysctl", "-n", k).trim().split(/\s+/).join(" ") === String(v);
  return objects;
}

/** One cell of the table. */
interface Cell {
  flavor: Flavor;
  event: string;
  lost: string[];
  kept: number;
  /** Resources of this host `npm run drift` reports, with its reasons. */
  drift: string[];
  driftExit: number;
}

function drift(project: TempProject): { exit: number; resources: string[] } {
  const r = project.run(["node", join(REPO_ROOT, "dist/scripts/drift.js"), "--stack", project.stack, "--config-file", project.configFile, "--cwd", project.dir, "--json"]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`drift exited ${r.status}: ${r.stderr}`);
  const plan = JSON.parse(r.stdout) as DriftPlan;
  return { exit: r.status, resources: plan.resources.filter((x) => x.name.startsWith(`${HOST}-`)).map((x) => `${x.name} ${x.op}`) };
}

function measureFlavor(flavor: Flavor, settle: number): Cell[] {
  log(`${flavor}: lab up`);
  lab("up", "--flavor", flavor);
  const hosts = stackHosts(labHosts("systemd"), keyPaths("systemd")) as Array<HostConfig & { name: string }>;
  const config = hosts.find((h) => h.name === HOST)!;
  const project = new TempProject(`events-${flavor}`, { "mptcp-pulumi:hosts": hosts });
  const cells: Cell[] = [];
  try {
    project.ok("up", "--yes", "--skip-preview");
    for (const event of EVENTS.filter((e) => e.flavors.includes(flavor))) {
      const before = objectsOnHost(config);
      const missing = Object.entries(before).filter(([, ok]) => !ok);
      if (missing.length) throw new Error(`${flavor}: before "${event.name}" the stack is not converged: ${missing.map(([k]) => k).join(", ")}`);
      log(`${flavor}: ${event.name}`);
      event.run();
      sleep(settle);
      const after = objectsOnHost(config);
      const d = drift(project);
      const cell: Cell = { flavor, event: event.name, lost: Object.keys(after).filter((k) => !after[k]), kept: Object.values(after).filter(Boolean).length, drift: d.resources, driftExit: d.exit };
      log(`${flavor}: ${event.name}: lost ${cell.lost.length ? cell.lost.join(", ") : "nothing"}; drift ${d.exit === 1 ? d.resources.join(", ") : "none"}`);
      cells.push(cell);
      project.ok("up", "--yes", "--refresh", "--skip-preview");
    }
    project.ok("destroy", "--yes", "--skip-preview");
  } finally {
    project.remove();
  }
  return cells;
}

/** The markdown table: one row per flavor and event. */
export function eventsMarkdown(cells: Cell[], date: string): string {
  const lines = [
    `Measured ${date}: lab stack up on the systemd tier (Debian 12 containers), event on ${HOST}, objects read on ${HOST} after the event settled; drift is \`npm run drift\` (resources of ${HOST} it reports).`,
    "",
    "| flavor | event | stack objects still on the host | lost | `npm run drift` reports |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const c of cells) {
    const total = c.kept + c.lost.length;
    const reported = c.driftExit === 1 ? c.drift.join("; ") : "no drift";
    lines.push(`| ${c.flavor} | ${c.event} | ${c.kept}/${total} | ${c.lost.length ? c.lost.join("; ") : "none"} | ${reported} |`);
  }
  return `${lines.join("\n")}\n`;
}

function main(): void {
  const { values } = parseArgs({ options: { flavors: { type: "string", default: FLAVORS.join(",") }, settle: { type: "string", default: "3" }, out: { type: "string", default: "bench/results" } } });
  const flavors = values.flavors.split(",") as Flavor[];
  for (const f of flavors) if (!FLAVORS.includes(f)) throw new Error(`events: --flavors: '${f}' is not one of ${FLAVORS.join(", ")}`);
  const settle = Number(values.settle);
  if (!(settle >= 0 && settle <= 60)) throw new Error("events: --settle is 0..60 seconds");
  if (process.getuid?.() !== 0) throw new Error("events: run as root (the lab needs namespaces and containers)");
  const cells: Cell[] = [];
  try {
    for (const f of flavors) cells.push(...measureFlavor(f, settle));
  } finally {
    lab("down");
  }
  const date = new Date().toISOString();
  const out = resolve(REPO_ROOT, values.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "events.json"), `${JSON.stringify({ date, cells }, null, 2)}\n`);
  writeFileSync(join(out, "events.md"), eventsMarkdown(cells, date));
  process.stdout.write(eventsMarkdown(cells, date));
}

if (require.main === module) {
  try {
    main();
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
