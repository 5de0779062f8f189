/**
 * What the stack's objects survive on real servers: for each flavor of the systemd lab tier,
 * `pulumi up` the lab stack, then one event at a time on the client (server2) — a real reboot,
 * `systemctl restart systemd-networkd`, `networkctl reconfigure eno2`, `netplan apply`, `nmcli
 * connection up eno2`, eno2's carrier down and up, the data NICs re-created, a restart of the
 * boot replay — and after each, which of the stack's objects are still on the host
 * (read there, not through the provider) and whether `npm run drift` reports the loss. The
 * stack is re-converged (`up --refresh`) between events.
 *
 * Usage: npm run events -- [--flavors networkd,networkmanager,plain] [--mptcpd] [--settle 3] [--out bench/results]
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
const onServer = (server: string, ...command: string[]) => lab("exec", server, ...command);
const onHost = (...command: string[]) => onServer(HOST, ...command);
const sleep = (seconds: number) => spawnSync("sleep", [String(seconds)]);
const peerNetns = `${TOPOLOGY.tiers.systemd.netnsPrefix}${PEER}`;

const EVENTS: LabEvent[] = [
  { name: "real reboot", flavors: FLAVORS, run: () => void lab("reboot", HOST) },
  { name: "systemctl restart systemd-networkd", flavors: ["networkd"], run: () => void onHost("systemctl", "restart", "systemd-networkd") },
  { name: "networkctl reconfigure eno2", flavors: ["networkd"], run: () => void onHost("networkctl", "reconfigure", "eno2") },
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
  { name: "data NICs re-created (driver reload)", flavors: FLAVORS, run: () => void lab("relink", HOST) },
  { name: "systemctl restart mptcp-pulumi.service", flavors: FLAVORS, run: () => void onHost("systemctl", "restart", "mptcp-pulumi.service") },
];

interface HostConfig {
  interfaces: Array<{ name: string; addresses: string[] }>;
  limits: { subflows: number; addAddrAccepted: number };
  endpoints: Array<{ address: string; dev: string; flags: string[] }>;
  policyRoutes: Array<{ table: number; rules: Array<{ from: string; priority: number }>; routes: Array<{ dst: string; dev: string; scope: string }> }>;
  sysctls: Record<string, string | number>;
}

/** The stack's objects on a server, each with whether the server has it now (read with ip/sysctl there). */
function objectsOn(server: string, config: HostConfig): Record<string, boolean> {
  const on = (...command: string[]) => onServer(server, ...command);
  const addrs = on("ip", "-o", "-4", "addr", "show");
  const rules = on("ip", "rule", "show");
  const endpoints = on("ip", "mptcp", "endpoint", "show");
  const limits = on("ip", "mptcp", "limits", "show").trim();
  const objects: Record<string, boolean> = {};
  for (const i of config.interfaces) for (const a of i.addresses) objects[`address ${a} ${i.name}`] = new RegExp(`\\s${i.name}\\s+inet ${a.replace(/\./g, "\\.")}\\s`).test(addrs);
  for (const p of config.policyRoutes) {
    for (const r of p.rules) objects[`rule ${r.priority} from ${r.from}`] = rules.includes(`${r.priority}:\tfrom ${r.from} lookup ${p.table}`);
    // "FIB table does not exist" once its last route is gone: that is an empty table.
    const table = spawnSync("bash", [LAB, "--tier", "systemd", "exec", server, "ip", "route", "show", "table", String(p.table)], { encoding: "utf8" }).stdout;
    // networkd's and NetworkManager's own routes carry "proto static" between the device and the scope.
    for (const r of p.routes) objects[`route ${r.dst} table ${p.table}`] = new RegExp(`^${r.dst.replace(/\./g, "\\.")} dev ${r.dev} (proto \\S+ )?scope ${r.scope}`, "m").test(table);
  }
  for (const e of config.endpoints) objects[`endpoint ${e.address} ${e.flags.join(",")}`] = new RegExp(`^${e.address.replace(/\./g, "\\.")} id \\d+ ${e.flags.join(" ")} dev ${e.dev}`, "m").test(endpoints);
  objects[`limits ${config.limits.subflows}/${config.limits.addAddrAccepted}`] = limits === `add_addr_accepted ${config.limits.addAddrAccepted} subflows ${config.limits.subflows}`;
  objects["sysctl net.mptcp.enabled=1"] = on("sysctl", "-n", "net.mptcp.enabled").trim() === "1";
  for (const [k, v] of Object.entries(config.sysctls)) objects[`sysctl ${k}`] = on("sysctl", "-n", k).trim().split(/\s+/).join(" ") === String(v);
  return objects;
}

/** One row of the table: what each server kept after one event on one flavor. */
interface Cell {
  /** The flavor, with " + mptcpd" when mptcpd ran. */
  flavor: string;
  event: string;
  /** Per server: the stack's objects it lost, and how many it kept. */
  servers: Record<string, { lost: string[]; kept: number }>;
  /** Resources `npm run drift` reports, with their operation. */
  drift: string[];
  driftExit: number;
}

function drift(project: TempProject): { exit: number; resources: string[] } {
  const r = project.run(["node", join(REPO_ROOT, "dist/scripts/drift.js"), "--stack", project.stack, "--config-file", project.configFile, "--cwd", project.dir, "--json"]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`drift exited ${r.status}: ${r.stderr}`);
  const plan = JSON.parse(r.stdout) as DriftPlan;
  return { exit: r.status, resources: plan.resources.map((x) => `${x.name} ${x.op}`) };
}

function measureFlavor(flavor: Flavor, settle: number, mptcpd: boolean): Cell[] {
  log(`${flavor}: lab up${mptcpd ? " with mptcpd" : ""}`);
  lab("up", "--flavor", flavor, ...(mptcpd ? ["--mptcpd"] : []));
  const hosts = stackHosts(labHosts("systemd"), keyPaths("systemd")) as Array<HostConfig & { name: string }>;
  const observe = () => Object.fromEntries(hosts.map((h) => [h.name, objectsOn(h.name, h)]));
  const project = new TempProject(`events-${flavor}`, { "mptcp-pulumi:hosts": hosts });
  const cells: Cell[] = [];
  try {
    project.ok("up", "--yes", "--skip-preview");
    for (const event of EVENTS.filter((e) => e.flavors.includes(flavor))) {
      const missing = Object.entries(observe()).flatMap(([server, objects]) => Object.entries(objects).filter(([, ok]) => !ok).map(([k]) => [`${server} ${k}`]));
      if (missing.length) throw new Error(`${flavor}: before "${event.name}" the stack is not converged: ${missing.join(", ")}`);
      log(`${flavor}: ${event.name}`);
      event.run();
      sleep(settle);
      const after = observe();
      const d = drift(project);
      const servers = Object.fromEntries(Object.entries(after).map(([server, objects]) => [server, { lost: Object.keys(objects).filter((k) => !objects[k]), kept: Object.values(objects).filter(Boolean).length }]));
      const cell: Cell = { flavor: mptcpd ? `${flavor} + mptcpd` : flavor, event: event.name, servers, drift: d.resources, driftExit: d.exit };
      log(`${flavor}: ${event.name}: ${JSON.stringify(servers)}; drift ${d.exit === 1 ? d.resources.join(", ") : "none"}`);
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
    `Measured ${date}: the lab stack up on the systemd tier (Debian 12 containers); each event happens on ${HOST} (the carrier event: its peer ${PEER} sets its end of eno2 down for 3 s, so ${PEER} sees an admin down/up there); objects are read on both servers after the event settled; the last column is what \`npm run drift\` reports. The stack is re-converged between events.`,
    "",
    `| flavor | event | objects kept on ${HOST} | lost on ${HOST} | lost on ${PEER} (peer) | \`npm run drift\` reports |`,
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const lost = (c: Cell, server: string) => (c.servers[server]!.lost.length ? c.servers[server]!.lost.join("; ") : "none");
  for (const c of cells) {
    const host = c.servers[HOST]!;
    const reported = c.driftExit === 1 ? c.drift.join("; ") : "no drift";
    lines.push(`| ${c.flavor} | ${c.event} | ${host.kept}/${host.kept + host.lost.length} | ${lost(c, HOST)} | ${lost(c, PEER)} | ${reported} |`);
  }
  return `${lines.join("\n")}\n`;
}

function main(): void {
  const { values } = parseArgs({
    options: { flavors: { type: "string", default: FLAVORS.join(",") }, settle: { type: "string", default: "3" }, out: { type: "string", default: "bench/results" }, mptcpd: { type: "boolean", default: false } },
  });
  const flavors = values.flavors.split(",") as Flavor[];
  for (const f of flavors) if (!FLAVORS.includes(f)) throw new Error(`events: --flavors: '${f}' is not one of ${FLAVORS.join(", ")}`);
  const settle = Number(values.settle);
  if (!(settle >= 0 && settle <= 60)) throw new Error("events: --settle is 0..60 seconds");
  if (process.getuid?.() !== 0) throw new Error("events: run as root (the lab needs namespaces and containers)");
  const cells: Cell[] = [];
  try {
    for (const f of flavors) cells.push(...measureFlavor(f, settle, values.mptcpd));
  } finally {
    lab("down");
    // What was measured is kept even when a later flavor fails (its error still ends the run).
    if (cells.length > 0) {
      const date = new Date().toISOString();
      const out = resolve(REPO_ROOT, values.out);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, "events.json"), `${JSON.stringify({ date, cells }, null, 2)}\n`);
      writeFileSync(join(out, "events.md"), eventsMarkdown(cells, date));
      process.stdout.write(eventsMarkdown(cells, date));
    }
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
