/**
 * The kernel alone: objects applied with `ip`, kept across reboots by our boot replay (one part
 * of records per resource under /etc/mptcp-pulumi/parts, provider/host/replay.sh), which also
 * runs when a network device appears (a udev rule and a template unit) and from the hooks of
 * the managers that flush links on their own events (NetworkManager's dispatcher, ifupdown's
 * if-up.d). Nothing on the distributions we support persists MPTCP limits or endpoints natively,
 * so every keeper leaves those to this one.
 */
import { posix } from "node:path";
import { program } from "../../host";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, PERSIST_DIR, REPLAY_LOCK_WAIT_SECONDS, RUN_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../../hostpaths";
import type { FileOp, Operation } from "../../operations";
import { addressOp } from "../../operations/address";
import type { Family } from "../../model/address";
import { familyOfRoute, routeMatches, type TableRoute } from "../../model/route";
import { familyOfRule, ruleMatches, type PolicyRule } from "../../model/rule";
import type { TableId } from "../../model/table";
import type { HostState } from "../../state/types";
import { batchWordProblem, shellCommand } from "../../transport/quote";
import type { AddressRequest, Keeper, ManagerEvent, TableRequest } from "../types";

/** Replay order: limits before addresses before routes before endpoints that use them. */
export const BOOT_ORDER = { limits: 10, interface: 20, route: 30, endpoint: 40 } as const;

/** One object the boot replay puts back; every field a word without blanks. */
export type PartRecord =
  | { kind: "limits"; subflows: number; addAddrAccepted: number }
  | { kind: "link"; dev: string; mtu: number }
  | { kind: "link"; dev: string; state: "up" | "down" }
  | { kind: "address"; dev: string; cidr: string }
  | { kind: "route"; family: Family; table: number; dst: string; type?: string | undefined; via?: string | undefined; dev?: string | undefined; scope?: string | undefined; src?: string | undefined; metric?: number | undefined }
  | { kind: "rule"; family: Family; table: number; priority?: number | undefined; from?: string | undefined; to?: string | undefined; iif?: string | undefined; oif?: string | undefined; fwmark?: string | undefined }
  | { kind: "endpoint"; address: string; port?: number | undefined; id?: number | undefined; dev?: string | undefined; flags: readonly string[] };

/** The replay's field names, where they differ from ours. */
const FIELD_NAMES: Readonly<Record<string, string>> = { addAddrAccepted: "add_addr_accepted" };

/** One record as its line: `KIND key=value ...` (unset fields left out, lists comma-joined). */
export function recordLine(record: PartRecord): string {
  const words: string[] = [record.kind];
  for (const [key, value] of Object.entries(record)) {
    if (key === "kind" || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    const word = `${FIELD_NAMES[key] ?? key}=${Array.isArray(value) ? value.join(",") : String(value)}`;
    const problem = batchWordProblem(word);
    if (problem) throw new Error(`refusing boot record field ${JSON.stringify(word)}: it ${problem}`);
    words.push(word);
  }
  return words.join(" ");
}

/** A declared route as its record. */
export function routeRecord(table: TableId, r: TableRoute): PartRecord {
  const { dst, via, dev, scope, src, metric } = r;
  return { kind: "route", family: familyOfRoute(r), table, dst, via, dev, scope, src, metric };
}

/** A declared rule as its record. */
export function ruleRecord(table: TableId, r: PolicyRule): PartRecord {
  const { priority, from, to, iif, oif, fwmark } = r;
  return { kind: "rule", family: familyOfRule(r), table, priority, from, to, iif, oif, fwmark };
}

/** The installed boot replay: the library and the replay; its arguments come from the units and hooks. */
export const APPLY_SCRIPT = program({}, ["lib", "ops", "replay"], ['replay_main "$@"']);

/** The replay's command line: the program, the run folder, the parts, how long it waits for the lock. */
export const REPLAY_COMMAND: readonly string[] = ["/bin/sh", APPLY_SCRIPT_PATH, RUN_DIR, PARTS_DIR, String(REPLAY_LOCK_WAIT_SECONDS)];

/**
 * The oneshot unit. It runs once the network manager has configured the interfaces (addresses
 * must exist before endpoints bind to them): after network-online.target, which networkd's and
 * NetworkManager's wait-online services hold back, and after the managers themselves for hosts
 * where no wait-online is enabled.
 */
export const UNIT_FILE = `[Unit]
Description=Replay MPTCP limits, endpoints and policy routes (mptcp-pulumi)
Wants=network-online.target
After=network-online.target systemd-networkd.service systemd-networkd-wait-online.service NetworkManager.service NetworkManager-wait-online.service networking.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${shellCommand(REPLAY_COMMAND)}

[Install]
WantedBy=multi-user.target
`;

/**
 * The unit the udev rule starts when a network device appears. After boot that is a NIC
 * re-created (a driver reload, a hot-plug): networkd and NetworkManager configure it again, but
 * an endpoint keeps the old device's index, and without a manager its addresses and routes are
 * gone. Devices no part names are skipped. Not RemainAfterExit, so each appearance runs it again.
 * `%i`, not `%I`: the instance is the name as udev gives it, and unescaping reads `br-lan` as `br/lan`.
 */
export const DEVICE_UNIT_FILE = `[Unit]
Description=Replay MPTCP configuration when %i appears (mptcp-pulumi)
After=${posix.basename(UNIT_PATH)}

[Service]
Type=oneshot
ExecCondition=/bin/grep -rqswF -e dev=%i ${PARTS_DIR}
ExecStart=${shellCommand(REPLAY_COMMAND)}
`;

/** The udev rule: every network device that appears wants the device unit, with its name as instance. */
export const UDEV_RULE = `# Generated by mptcp-pulumi: replay the stack's MPTCP configuration when a network device appears.
SUBSYSTEM=="net", ENV{SYSTEMD_WANTS}+="${posix.basename(DEVICE_UNIT_PATH).replace("@.", "@$name.")}"
`;

/** A file a manager runs after its own events, which runs the replay (its hook). */
export interface ReplayTrigger {
  path: string;
  content: string;
  mode: string;
  /** Whether the host needs it (the manager runs there). */
  needed(actual: HostState): boolean;
}

/** The replay's own files and what each must hold, besides the enablement link and the managers' hooks. */
const REPLAY_FILES: ReadonlyArray<readonly [string, string, string]> = [
  [APPLY_SCRIPT_PATH, APPLY_SCRIPT, "0755"],
  [UNIT_PATH, UNIT_FILE, "0644"],
  [DEVICE_UNIT_PATH, DEVICE_UNIT_FILE, "0644"],
  [UDEV_RULE_PATH, UDEV_RULE, "0644"],
];

/** The replay and every trigger this host needs, with their text and mode. */
function replayFiles(actual: HostState, triggers: readonly ReplayTrigger[]): Array<readonly [string, string, string]> {
  return [...REPLAY_FILES, ...triggers.filter((t) => t.needed(actual)).map((t) => [t.path, t.content, t.mode] as const)];
}

/** Path of one resource's part, e.g. /etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part. */
export function bootPartPath(order: number, slug: string): string {
  return `${PARTS_DIR}/${order}-${slug.replace(/[^A-Za-z0-9_.:-]/g, "_")}.part`;
}

/** Parts of earlier versions (ip -batch lines, IPv6 ones beside): removed when the resource's part is written. */
function legacyPartPaths(path: string): string[] {
  const base = path.replace(/\.part$/, "");
  return [`${base}.batch`, `${base}.v6.batch`];
}

/** Text of a part. */
export function bootPartText(records: readonly PartRecord[]): string {
  return `${records.map(recordLine).join("\n")}\n`;
}

/** Whether the replay, its units, the udev rule, the hooks and the enablement are all in place and current. */
export function replayInstalled(actual: HostState, triggers: readonly ReplayTrigger[]): boolean {
  return replayFiles(actual, triggers).every(([path, content]) => actual.files[path] === content) && actual.files[UNIT_LINK] === `${UNIT_PATH}\n`;
}

const write = (path: string, content: string, note?: string, mode?: string): FileOp => ({ type: "file", action: "write", path, content, mode, note });
const remove = (path: string, note?: string): FileOp => ({ type: "file", action: "remove", path, note });

/** Operations that make the replay machinery present (script, units, udev rule, hooks, enablement) if it is not. */
function ensureReplayInstalled(actual: HostState, triggers: readonly ReplayTrigger[]): Operation[] {
  const stale = replayFiles(actual, triggers).filter(([path, content]) => actual.files[path] !== content);
  const ops: Operation[] = stale.map(([path, content, mode]) => write(path, content, undefined, mode));
  // Enabling also reloads systemd and udev, which must see new units and rules.
  const units = [UNIT_PATH, DEVICE_UNIT_PATH, UDEV_RULE_PATH];
  if (stale.some(([path]) => units.includes(path)) || actual.files[UNIT_LINK] !== `${UNIT_PATH}\n`) ops.push({ type: "bootUnit", action: "enable" });
  return ops;
}

/** Operations that make a resource's part hold `records`, or remove it when they are undefined or empty. */
export function persistPart(path: string, records: readonly PartRecord[] | undefined, actual: HostState, triggers: readonly ReplayTrigger[]): Operation[] {
  const content = records?.length ? bootPartText(records) : undefined;
  const changes: Operation[] = legacyPartPaths(path).filter((p) => actual.files[p] !== undefined).map((p) => remove(p, "(an earlier version's part)"));
  if (content === undefined && actual.files[path] !== undefined) changes.push(remove(path, "(boot replay)"));
  if (content !== undefined && actual.files[path] !== content) changes.push(write(path, content, "(boot replay)"));
  if (content === undefined) {
    const leaving = new Set([path, ...legacyPartPaths(path)]);
    const othersLeft = Object.keys(actual.files).some((f) => f.startsWith(`${PARTS_DIR}/`) && !leaving.has(f));
    // Every removal asks the host whether it was the last: resources whose removals share a
    // round trip were planned on the same read, where each saw the others' parts.
    if (changes.length > 0 || (!othersLeft && actual.files[APPLY_SCRIPT_PATH] !== undefined)) {
      // The hooks go with the replay they run.
      const hooks = triggers.filter((t) => actual.files[t.path] !== undefined).map((t) => t.path);
      changes.push({ type: "bootUnit", action: "removeIfUnused", ...(hooks.length > 0 ? { hooks } : {}) });
    }
    return changes;
  }
  return [...ensureReplayInstalled(actual, triggers), ...changes];
}

/** Whether the host's part matches what the resource wants (and the replay runs it). */
export function partIsCurrent(path: string, records: readonly PartRecord[] | undefined, actual: HostState, triggers: readonly ReplayTrigger[]): boolean {
  const content = records?.length ? bootPartText(records) : undefined;
  if (legacyPartPaths(path).some((p) => actual.files[p] !== undefined)) return false;
  return actual.files[path] === content && (content === undefined || replayInstalled(actual, triggers));
}

/** The paths of the replay machinery, for the boot unit's removal. */
export const REPLAY_PATHS = { unit: UNIT_PATH, link: UNIT_LINK, dir: PERSIST_DIR, parts: PARTS_DIR, deviceUnit: DEVICE_UNIT_PATH, udevRule: UDEV_RULE_PATH } as const;

/** What the kernel does on its own: nothing survives a reboot or a re-created NIC without the replay. */
const EVENTS: readonly ManagerEvent[] = [
  { event: "reboot", effect: "restores", kinds: ["address", "rule", "route", "endpoint", "limits"], measured: "mptcp-pulumi.service replays the parts (systemd 252, 257)" },
  { event: "NIC re-created", effect: "restores", kinds: ["address", "route", "endpoint"], measured: "udev starts mptcp-pulumi-device@DEV (VM tier, kernels 6.1, 6.12)" },
  { event: "carrier loss", effect: "removes", kinds: ["route"], measured: "the kernel deletes routes of a link set down; they come back only by the replay or an up" },
];

/**
 * The adds that put back addresses a link had. A replace: a manager may put one back between our
 * read and this change. A link-local IPv6 address is the kernel's, per NIC (a re-created NIC has
 * another), so it is never put back.
 */
export function restoreAddresses(iface: string, addresses: readonly string[]): Operation[] {
  return addresses.filter((cidr) => !/^fe[89ab][0-9a-f]:/i.test(cidr)).map((cidr) => addressOp("replace", cidr, iface, "(restore)"));
}

/**
 * Kernel ops and records for declared addresses: an address the link has with another prefix is
 * deleted first (the kernel keeps one per address), one this resource no longer declares goes.
 */
export function kernelAddresses(req: AddressRequest, actual: HostState): { ops: Operation[]; records: PartRecord[] } {
  const link = actual.links.find((l) => l.name === req.iface);
  const ops: Operation[] = [];
  for (const cidr of req.declared) {
    if (link?.addresses.includes(cidr)) continue;
    const address = cidr.slice(0, cidr.indexOf("/"));
    const other = link?.addresses.find((have) => have.slice(0, have.indexOf("/")) === address);
    if (other !== undefined) ops.push(addressOp("del", other, req.iface, "(prefix changes)"));
    ops.push(addressOp("add", cidr, req.iface));
  }
  for (const cidr of req.released) if (link?.addresses.includes(cidr)) ops.push(addressOp("del", cidr, req.iface, "(no longer declared)"));
  return { ops, records: req.declared.map((cidr) => ({ kind: "address", dev: req.iface, cidr })) };
}

/** Kernel ops for a table's declared items the host lacks: routes replaced in their slot, rules added. */
export function kernelTable(req: TableRequest): { ops: Operation[]; records: PartRecord[] } {
  const ops: Operation[] = [];
  for (const { route } of req.routes) {
    if (!req.have.routes.some((h) => routeMatches(route, req.table, h))) {
      const { dst, via, dev, scope, src, metric } = route;
      ops.push({ type: "route", action: "replace", family: familyOfRoute(route), table: req.table, route: { dst, via, dev, scope, src, metric } });
    }
  }
  for (const { rule } of req.rules) {
    if (!req.have.rules.some((h) => ruleMatches(rule, req.table, h))) ops.push({ type: "rule", action: "add", family: familyOfRule(rule), table: req.table, rule });
  }
  return { ops, records: [...req.routes.map(({ route }) => routeRecord(req.table, route)), ...req.rules.map(({ rule }) => ruleRecord(req.table, rule))] };
}

/**
 * The kernel keeper. Its `kept` is the part's (one per resource, written by the planner with the
 * records every keeper returns): nothing else of its own to check.
 */
export const kernelKeeper: Keeper = {
  id: "kernel",
  title: "the kernel (mptcp-pulumi's boot replay)",
  events: EVENTS,
  addresses: (req, actual) => ({ ...kernelAddresses(req, actual), refusals: [], kept: true }),
  releaseAddresses(iface, owned, original, actual) {
    const link = actual.links.find((l) => l.name === iface);
    const gone = original.filter((cidr) => !link?.addresses.includes(cidr));
    return [...owned.filter((cidr) => link?.addresses.includes(cidr)).map((cidr) => addressOp("del", cidr, iface)), ...restoreAddresses(iface, gone)];
  },
  table: (req) => ({ ...kernelTable(req), refusals: [], kept: true }),
  tableElsewhere: () => [],
};
