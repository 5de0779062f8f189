/**
 * The variation matrix (issue 17): the lab stack plus what real servers add to it (addresses
 * beyond the manager's own in both families, tables named in rt_tables.d and by number, rules with
 * and without a priority, an IPv6 table) on each flavor of the systemd tier, then the network
 * manager's own events one at a time. Every cell ends one of two ways: kept (the objects are on
 * the host, read there with `ip`, and `preview --refresh --expect-no-changes` passes without an
 * `up`), or refused at the first `up` before any change, naming the manager and the fix. The
 * provider logs in as a non-root user with exactly the README's sudoers lines.
 * test/e2e/matrix.test.ts asserts the cells; `npm run events` prints them.
 */
import { spawnSync } from "node:child_process";
import { TempProject } from "../../scripts/tempProject";
import { snapshot, type TierHarness } from "../lab/harness";
import { keyPaths, labHosts, stackHosts, TOPOLOGY } from "../lab/topology";
import { addDeployLogin, DEPLOY } from "../lab/users";

/** A network stack of the systemd tier (test/lab/tier-systemd.sh). */
export type Flavor = "plain" | "ifupdown" | "netplan" | "networkd" | "networkmanager";
/** The Debian releases of the lab's images. */
export type Release = "bookworm" | "trixie";

/** One lab of the matrix: a flavor, with or without mptcpd, on a release. */
export interface MatrixLab {
  flavor: Flavor;
  mptcpd: boolean;
  release: Release;
}

/** The lab's name in the matrix, e.g. "netplan + mptcpd (trixie)". */
export const labName = (l: MatrixLab): string => `${l.flavor}${l.mptcpd ? " + mptcpd" : ""} (${l.release})`;

const FLAVORS: readonly Flavor[] = ["plain", "ifupdown", "netplan", "networkd", "networkmanager"];
/** mptcpd runs beside a network manager, never alone (Debian's mptcpize recommends it). */
const WITH_MPTCPD: readonly Flavor[] = ["netplan", "networkd", "networkmanager"];

/** Every lab of the matrix: each flavor, the managers also with mptcpd, on both releases. */
export const MATRIX_LABS: readonly MatrixLab[] = (["bookworm", "trixie"] as const).flatMap((release) => [
  ...FLAVORS.map((flavor) => ({ flavor, mptcpd: false, release })),
  ...WITH_MPTCPD.map((flavor) => ({ flavor, mptcpd: true, release })),
]);

/**
 * Labs by name: "all", or a comma-separated list of flavor[+mptcpd][@release] ("netplan",
 * "networkd+mptcpd@trixie"); the release defaults to bookworm.
 */
export function pickLabs(spec: string): MatrixLab[] {
  if (spec === "all") return [...MATRIX_LABS];
  return spec.split(",").map((s) => {
    const [flavorPart = "", release = "bookworm"] = s.trim().split("@");
    const [flavor, extra] = flavorPart.split("+");
    const l = MATRIX_LABS.find((x) => x.flavor === flavor && x.mptcpd === (extra === "mptcpd") && x.release === release);
    if (!l || (extra !== undefined && extra !== "mptcpd")) {
      throw new Error(`no lab '${s}' in the matrix: flavor[+mptcpd][@release], flavor one of ${FLAVORS.join(", ")} (+mptcpd with ${WITH_MPTCPD.join(", ")}), release bookworm or trixie`);
    }
    return l;
  });
}

/** The server the events happen on (the client) and its peer. */
export const HOST = "server2";
const PEER = "server1";
const SERVERS = [PEER, HOST] as const;

/** Names an admin gives the policy tables (rt_tables.d): the stack declares one of them by name. */
const RT_TABLES = `${TOPOLOGY.tableBase + 1} isp1\n${TOPOLOGY.tableBase + 2} isp2\n`;
const RT_TABLES_FILE = "/etc/iproute2/rt_tables.d/mptcp-matrix.conf";
/** The IPv6 table the variation adds. */
const V6_TABLE = 202;

/** Something that happens to a configured server. */
export interface MatrixEvent {
  name: string;
  /** The flavors it means something on (undefined: all). */
  flavors?: readonly Flavor[];
  /**
   * The servers whose objects the cell judges (default both). The carrier event sets the peer's
   * end administratively down, which is the peer's admin acting, not a carrier loss.
   */
  judges?: readonly string[];
  run(h: TierHarness): void;
}

const carrierLoss = (h: TierHarness) => {
  // The peer's end goes down for 3 s: the host sees its carrier drop, as when a cable is pulled.
  h.onHost(PEER, "ip", "link", "set", "dev", "eno2", "down");
  spawnSync("sleep", ["3"]);
  h.onHost(PEER, "ip", "link", "set", "dev", "eno2", "up");
};

/** The events, in the order they run on each lab. */
export const MATRIX_EVENTS: readonly MatrixEvent[] = [
  { name: "networkctl reload", flavors: ["netplan", "networkd"], run: (h) => void h.onHost(HOST, "networkctl", "reload") },
  { name: "networkctl reconfigure eno2", flavors: ["netplan", "networkd"], run: (h) => void h.onHost(HOST, "networkctl", "reconfigure", "eno2") },
  { name: "systemctl restart systemd-networkd", flavors: ["netplan", "networkd"], run: (h) => void h.onHost(HOST, "systemctl", "restart", "systemd-networkd") },
  { name: "netplan apply", flavors: ["netplan"], run: (h) => void h.onHost(HOST, "netplan", "apply") },
  { name: "nmcli device reapply eno2", flavors: ["networkmanager"], run: (h) => void h.onHost(HOST, "nmcli", "device", "reapply", "eno2") },
  { name: "nmcli connection up eno2", flavors: ["networkmanager"], run: (h) => void h.onHost(HOST, "nmcli", "connection", "up", "eno2") },
  { name: "systemctl restart NetworkManager", flavors: ["networkmanager"], run: (h) => void h.onHost(HOST, "systemctl", "restart", "NetworkManager") },
  { name: "ifdown eno2 && ifup eno2", flavors: ["ifupdown"], run: (h) => void h.onHost(HOST, "sh", "-c", "ifdown eno2 && ifup eno2") },
  { name: "systemctl restart networking", flavors: ["ifupdown"], run: (h) => void h.onHost(HOST, "systemctl", "restart", "networking") },
  { name: "eno2 carrier down and up", judges: [HOST], run: carrierLoss },
  // Elsewhere a re-created NIC is udev's event (the device unit replays the stack), and the
  // containers run no udev: the VM tier proves those flavors (vm.test.ts). NetworkManager sees
  // the new link itself.
  { name: "data NICs re-created (driver reload)", flavors: ["networkmanager"], run: (h) => void h.lab("relink", HOST) },
  { name: "real reboot", run: (h) => void h.lab("reboot", HOST) },
];

/** The events of one lab. */
export function eventsOf(l: MatrixLab): MatrixEvent[] {
  return MATRIX_EVENTS.filter((e) => !e.flavors || e.flavors.includes(l.flavor));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type HostConfig = Record<string, any>;

/**
 * The variation stack: the lab stack, with a second IPv4 address on eno1 and an IPv6 address on
 * eno2 that no manager's configuration holds, table 101 declared by its rt_tables name, an IPv6
 * table (202) whose rule has no priority, and limits for the extra endpoint.
 */
export function variationHosts(): HostConfig[] {
  const hosts = stackHosts(labHosts("systemd"), keyPaths("systemd")) as HostConfig[];
  return hosts.map((h, i) => {
    const n = i + 1;
    // A non-root login with exactly the README's sudoers lines, on every flavor.
    h["connection"].user = DEPLOY;
    const v6 = `fd00:2::${n}`;
    h["interfaces"][0].addresses.push(`10.0.1.${n}/24`);
    h["interfaces"][1].addresses.push(`${v6}/64`);
    h["policyRoutes"][0].table = "isp1";
    h["policyRoutes"].push({ table: V6_TABLE, rules: [{ from: v6 }], routes: [{ dst: "fd00:2::/64", dev: "eno2" }] });
    h["endpoints"].push({ address: v6, dev: "eno2", flags: [h["role"] === "server" ? "signal" : "subflow"] });
    h["limits"] = { subflows: 4, addAddrAccepted: 4 };
    return h;
  });
}

/** A change to the variation stack that a flavor cannot keep, and the refusal it must get. */
export interface RefusalCase {
  name: string;
  flavors: readonly Flavor[];
  /** Only where mptcpd runs. */
  mptcpd?: boolean;
  edit(hosts: HostConfig[]): void;
  /** What the refusal must say: the manager and the fix. */
  says: RegExp[];
  /** The fix the refusal names, done on the servers (by an admin) before the variation goes up. */
  fix?(h: TierHarness): void;
}

/** What each flavor refuses, checked before the variation goes up. */
export const REFUSALS: readonly RefusalCase[] = [
  {
    // Measured before this refusal: the stack's limits 4/4 were mptcpd's 3/0 right after up, and
    // again after `systemctl restart mptcp`; nothing runs after mptcpd to put them back.
    name: "mptcpd with its addr_adv plugin beside the stack's limits and endpoints",
    flavors: WITH_MPTCPD,
    mptcpd: true,
    edit: () => undefined,
    says: [/mptcpd runs \(mptcp\.service\) with its addr_adv plugin/, /Fix: systemctl disable --now mptcp\.service/],
    fix: (h) => {
      // The endpoints mptcpd added stay after it stops; the admin clears them (none is the stack's yet).
      for (const s of SERVERS) h.onHost(s, "sh", "-c", "systemctl disable --now mptcp.service && ip mptcp endpoint flush");
    },
  },
  {
    name: "an IPv6 address on a connection with ipv6.method disabled",
    flavors: ["networkmanager"],
    edit: (hosts) => {
      for (const h of hosts) h["policyRoutes"][2].rules[0].priority = 2002;
    },
    says: [/NetworkManager \(connection eno2\), whose ipv6\.method is disabled/, /Fix: nmcli connection modify eno2 ipv6\.method/],
    fix: (h) => {
      for (const s of SERVERS) h.onHost(s, "nmcli", "connection", "modify", "eno2", "ipv6.method", "auto");
    },
  },
  {
    name: "a rule without a priority",
    flavors: ["networkmanager"],
    edit: () => undefined,
    says: [/NetworkManager.*requires a priority on every routing rule/, /Fix: give rules\[0\]\.priority/],
  },
  {
    name: "addresses with persist: false",
    flavors: ["netplan", "networkd"],
    edit: (hosts) => {
      for (const h of hosts) h["interfaces"][1].persist = false;
    },
    says: [/(netplan apply and networkd|networkd) remove addresses their configuration lacks/, /Fix: leave persist at true/],
  },
];

/** The refusal cases of one lab. */
export function refusalsOf(l: MatrixLab): RefusalCase[] {
  return REFUSALS.filter((r) => r.flavors.includes(l.flavor) && (!r.mptcpd || l.mptcpd));
}

/** The variation as a flavor keeps it: NetworkManager's rules get the priority it requires. */
export function keptVariation(l: MatrixLab): HostConfig[] {
  const hosts = variationHosts();
  if (l.flavor === "networkmanager") for (const h of hosts) h["policyRoutes"][2].rules[0].priority = 2002;
  return hosts;
}

/** How a cell ended. */
export type Outcome =
  | { kind: "kept"; seconds: number }
  | { kind: "refused"; message: string }
  | { kind: "lost"; objects: string[]; preview: string }
  | { kind: "failed"; message: string };

/** One cell: a lab, an event (or a refusal case), how it ended. */
export interface Cell {
  lab: string;
  event: string;
  outcome: Outcome;
}

/** The stack's objects on a server, as `ip` there prints them (numbers, JSON); each true when present. */
export function objectsOn(h: TierHarness, server: string, host: HostConfig): Record<string, boolean> {
  const json = <T>(...args: string[]) => JSON.parse(h.onHost(server, "ip", "-j", "-N", ...args) || "[]") as T;
  type Addr = { ifname: string; addr_info: Array<{ local: string; prefixlen: number }> };
  const addrs = new Set(json<Addr[]>("addr", "show").flatMap((a) => a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`)));
  type Rule = { priority: number; src?: string; table: string };
  const rules = [...json<Rule[]>("-4", "rule", "show"), ...json<Rule[]>("-6", "rule", "show")];
  type Route = { dst: string; dev?: string; table?: string };
  const routes = [...json<Route[]>("-4", "route", "show", "table", "all"), ...json<Route[]>("-6", "route", "show", "table", "all")];
  const endpoints = h.onHost(server, "ip", "mptcp", "endpoint", "show");
  const limits = h.onHost(server, "ip", "mptcp", "limits", "show").trim();
  const numbers: Record<string, number> = { isp1: TOPOLOGY.tableBase + 1, isp2: TOPOLOGY.tableBase + 2 };
  const objects: Record<string, boolean> = {};
  for (const i of host["interfaces"]) for (const a of i.addresses) objects[`address ${a} on ${i.name}`] = addrs.has(`${i.name} ${a}`);
  for (const p of host["policyRoutes"]) {
    const table = String(numbers[p.table] ?? p.table);
    for (const r of p.rules) {
      const key = `rule from ${r.from}${r.priority ? ` priority ${r.priority}` : ""} table ${table}`;
      objects[key] = rules.some((x) => x.src === r.from && String(x.table) === table && (r.priority === undefined || x.priority === r.priority));
    }
    for (const r of p.routes) objects[`route ${r.dst} dev ${r.dev} table ${table}`] = routes.some((x) => x.dst === r.dst && x.dev === r.dev && String(x.table) === table);
  }
  for (const e of host["endpoints"]) {
    objects[`endpoint ${e.address} ${e.flags.join(",")} dev ${e.dev}`] = new RegExp(`^${e.address.replace(/[.:]/g, "\\$&")} id \\d+ ${e.flags.join(" ")} dev ${e.dev}\\s*$`, "m").test(endpoints);
  }
  objects[`limits ${host["limits"].subflows}/${host["limits"].addAddrAccepted}`] = limits === `add_addr_accepted ${host["limits"].addAddrAccepted} subflows ${host["limits"].subflows}`;
  for (const [k, v] of Object.entries(host["sysctls"] as Record<string, string | number>)) {
    objects[`sysctl ${k}`] = h.onHost(server, "sysctl", "-n", k).trim().split(/\s+/).join(" ") === String(v);
  }
  return objects;
}

/** The stack's objects missing on either server, as "server: object". */
export function missingObjects(h: TierHarness, hosts: HostConfig[]): string[] {
  return hosts.flatMap((host) => {
    const objects = objectsOn(h, host["name"], host);
    return Object.keys(objects).filter((k) => !objects[k]).map((k) => `${host["name"]}: ${k}`);
  });
}

/** Everything a refused `up` must leave as it was: the kernel's state and the managers' files. */
export function untouched(h: TierHarness, server: string): string {
  // NetworkManager's settings, not its keyfiles' text: NM rewrites a keyfile at every modify (uuid=, timestamp=).
  const nm = "if systemctl -q is-active NetworkManager; then for c in $(nmcli -g NAME connection show | sort); do nmcli -g connection.mptcp-flags,ipv4.method,ipv4.addresses,ipv4.routes,ipv4.routing-rules,ipv6.method,ipv6.addresses,ipv6.routes,ipv6.routing-rules connection show \"$c\"; done; fi";
  const managers = h.onHost(server, "sh", "-c", `ls -aR /etc/network /etc/NetworkManager/dispatcher.d 2>&1; ${nm}; true`);
  // A reboot or a re-created NIC renumbers the links and gives them new link-local addresses.
  const kernel = snapshot(server, h.onHost).replace(/@if\d+/g, "").replace(/ fe80::[0-9a-f:]+\/64/g, "").replace(/[ \t]+/g, " ");
  return `${kernel}---\n${managers}`;
}

/** The lines of `after` that `before` lacks (+) and the reverse (-): what changed on the servers. */
export function lineChanges(before: readonly string[], after: readonly string[]): string[] {
  const lines = (t: readonly string[]) => t.flatMap((x, i) => x.split("\n").map((l) => `${SERVERS[i]}: ${l}`));
  const b = lines(before);
  const a = lines(after);
  const changed = [...a.filter((l) => !b.includes(l)).map((l) => `+ ${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `- ${l}`)];
  if (changed.length > 0) return changed;
  return [a.length === b.length ? "(the same lines, in another order)" : `(the same lines, ${b.length} before and ${a.length} after: some repeated)`];
}

/** Resource names a `preview --json` would change (the stack's own outputs aside). */
export function changedResources(json: string): string[] {
  let steps: Array<{ op: string; urn: string }> = [];
  try {
    steps = (JSON.parse(json) as { steps?: typeof steps }).steps ?? [];
  } catch {
    return ["(preview printed no JSON)"];
  }
  return steps.filter((x) => x.op !== "same" && x.op !== "refresh" && !x.urn.includes("pulumi:pulumi:Stack")).map((x) => x.urn.split("::").pop()!);
}

/** The error diagnostics of a `preview --json` (what failed, when nothing was changed). */
function diagnostics(json: string): string {
  try {
    const d = (JSON.parse(json) as { diagnostics?: Array<{ severity: string; message: string }> }).diagnostics ?? [];
    return d.filter((x) => x.severity === "error").map((x) => x.message.trim()).join(" | ").slice(-3000);
  } catch {
    return json.slice(-2000);
  }
}

/** Polls `check` every half second for at most `seconds`; true once it passes. */
function within(seconds: number, check: () => boolean): boolean {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    spawnSync("sleep", ["0.5"]);
  }
}

/** Options of a matrix run. */
export interface MatrixOptions {
  /** How long the managers get to put things back after an event, in seconds. */
  settle: number;
  log(message: string): void;
}

/**
 * Runs one lab's column: lab up, the refusal cases (each must fail before any change), the
 * variation up, each event, destroy (the servers as they were). Returns the cells; the lab stays
 * up for the caller to take down.
 */
export function runMatrixLab(h: TierHarness, l: MatrixLab, o: MatrixOptions): Cell[] {
  const name = labName(l);
  const cells: Cell[] = [];
  const cell = (event: string, outcome: Outcome) => {
    o.log(`${name}: ${event}: ${outcome.kind}${outcome.kind === "kept" ? ` (${outcome.seconds.toFixed(1)} s)` : `: ${outcome.kind === "lost" ? outcome.objects.join("; ") || outcome.preview : outcome.message}`}`);
    cells.push({ lab: name, event, outcome });
  };
  o.log(`${name}: lab up`);
  h.lab("up", "--flavor", l.flavor, "--release", l.release, ...(l.mptcpd ? ["--mptcpd"] : []));
  for (const s of SERVERS) {
    h.onHost(s, "sh", "-c", 'mkdir -p "${1%/*}" && printf "%s" "$2" > "$1"', "sh", RT_TABLES_FILE, RT_TABLES);
    addDeployLogin(h, s);
  }
  const project = new TempProject(`matrix-${l.flavor}${l.mptcpd ? "-mptcpd" : ""}-${l.release}`, { "mptcp-pulumi:hosts": variationHosts() });
  try {
    for (const r of refusalsOf(l)) {
      const hosts = variationHosts();
      r.edit(hosts);
      project.configure({ "mptcp-pulumi:hosts": hosts });
      const before = SERVERS.map((s) => untouched(h, s));
      const up = project.pulumi("up", "--yes", "--skip-preview");
      const after = SERVERS.map((s) => untouched(h, s));
      const text = `${up.stdout}\n${up.stderr}`;
      const unsaid = r.says.filter((re) => !re.test(text));
      if (up.status === 0) cell(r.name, { kind: "failed", message: "up succeeded" });
      else if (unsaid.length > 0) cell(r.name, { kind: "failed", message: `the refusal does not say ${unsaid.join(", ")}: ${text.slice(-3000)}` });
      else if (after.join() !== before.join()) cell(r.name, { kind: "failed", message: `the refused up changed the servers:\n${lineChanges(before, after).join("\n")}` });
      else cell(r.name, { kind: "refused", message: r.says.map((re) => re.exec(text)![0]).join(" ... ") });
      r.fix?.(h);
    }
    const hosts = keptVariation(l);
    project.configure({ "mptcp-pulumi:hosts": hosts });
    const baseline = SERVERS.map((s) => untouched(h, s));
    const judge = (event: string, started: number, judges: readonly string[] = SERVERS) => {
      const judged = hosts.filter((x) => judges.includes(x["name"]));
      const kept = within(o.settle, () => missingObjects(h, judged).length === 0);
      const seconds = (Date.now() - started) / 1000;
      const preview = project.pulumi("preview", "--refresh", "--expect-no-changes", "--json");
      const changed = changedResources(preview.stdout);
      const mine = changed.filter((name) => judges.some((s) => name.startsWith(`${s}-`)));
      if (kept && mine.length === 0 && (preview.status === 0 || changed.length > 0)) cell(event, { kind: "kept", seconds });
      else cell(event, { kind: "lost", objects: missingObjects(h, judged), preview: mine.length ? `refresh finds changed: ${mine.join(", ")}` : `preview --refresh failed: ${diagnostics(preview.stdout) || preview.stderr.slice(-2000)}` });
      // The next event starts from a converged stack (after the peer's own loss, too).
      if (preview.status !== 0) project.ok("up", "--yes", "--refresh", "--skip-preview");
    };
    const started = Date.now();
    const up = project.pulumi("up", "--yes", "--skip-preview");
    if (up.status !== 0) {
      cell("pulumi up", { kind: "failed", message: `${up.stdout.slice(-3000)}\n${up.stderr.slice(-3000)}` });
      return cells;
    }
    judge("pulumi up", started);
    for (const e of eventsOf(l)) {
      const t = Date.now();
      try {
        e.run(h);
      } catch (error) {
        cell(e.name, { kind: "failed", message: `the event itself failed: ${error instanceof Error ? error.message : String(error)}` });
        project.ok("up", "--yes", "--refresh", "--skip-preview");
        continue;
      }
      judge(e.name, t, e.judges);
    }
    project.ok("destroy", "--yes", "--skip-preview");
    const gone = SERVERS.map((s) => untouched(h, s));
    cell("pulumi destroy", gone.join() === baseline.join() ? { kind: "kept", seconds: 0 } : { kind: "failed", message: `destroy did not leave the servers as they were before up:\n${lineChanges(baseline, gone).join("\n")}` });
  } finally {
    project.remove();
  }
  return cells;
}

/** The matrix as markdown: one row per cell. */
export function matrixMarkdown(cells: readonly Cell[]): string {
  const rows = cells.map((c) => {
    const o = c.outcome;
    const what = o.kind === "kept" ? (c.event === "pulumi destroy" ? "servers as before `up`" : `kept (objects back within ${o.seconds.toFixed(1)} s)`) : o.kind === "refused" ? `refused at the first \`up\`, nothing changed: ${o.message}` : o.kind === "lost" ? `LOST: ${o.objects.join("; ") || o.preview}` : `FAILED: ${o.message.split("\n")[0]}`;
    return `| ${c.lab} | ${c.event} | ${what} |`;
  });
  return ["| lab | event | outcome |", "| --- | --- | --- |", ...rows].join("\n") + "\n";
}
