/**
 * Persistence across reboots. Sysctls go to /etc/sysctl.d (applied at boot by systemd-sysctl);
 * limits, addresses, rules, routes and endpoints that no network manager keeps go to one part per
 * resource under /etc/mptcp-pulumi/parts: typed records, one per line, that the boot replay
 * (provider/host/replay.sh) puts back at boot, whenever a network device appears (a udev rule and
 * a template unit) and from the network managers' hooks. Nothing on the distributions we support
 * persists MPTCP limits or endpoints natively.
 */
import { posix } from "node:path";
import { program } from "./host";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, REPLAY_LOCK_WAIT_SECONDS, RUN_DIR, SYSCTL_FILE_PREFIX, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "./hostpaths";
import type { FileOp, Operation } from "./operations";
import type { Family } from "./operations/types";
import type { HostState } from "./state/types";
import { batchWordProblem, shellCommand } from "./transport/quote";

export { APPLY_SCRIPT_PATH, UNIT_LINK, UNIT_PATH } from "./hostpaths";

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
    if (key === "kind" || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(",") : String(value);
    if (Array.isArray(value) && value.length === 0) continue;
    const word = `${FIELD_NAMES[key] ?? key}=${text}`;
    const problem = batchWordProblem(word);
    if (problem) throw new Error(`refusing boot record field ${JSON.stringify(word)}: it ${problem}`);
    words.push(word);
  }
  return words.join(" ");
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

/** The replay's files and what each must hold, besides the enablement link. */
const REPLAY_FILES: ReadonlyArray<readonly [string, string]> = [
  [APPLY_SCRIPT_PATH, APPLY_SCRIPT],
  [UNIT_PATH, UNIT_FILE],
  [DEVICE_UNIT_PATH, DEVICE_UNIT_FILE],
  [UDEV_RULE_PATH, UDEV_RULE],
];

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

/** Whether the replay script, the units, the udev rule and the enablement are all in place and current. */
export function replayInstalled(actual: HostState): boolean {
  return REPLAY_FILES.every(([path, content]) => actual.files[path] === content) && actual.files[UNIT_LINK] === `${UNIT_PATH}\n`;
}

const write = (path: string, content: string, note?: string, mode?: string): FileOp => ({ type: "file", action: "write", path, content, mode, note });
const remove = (path: string, note?: string): FileOp => ({ type: "file", action: "remove", path, note });

/** Operations that make the replay machinery present (script, units, udev rule, enablement) if it is not. */
function ensureReplayInstalled(actual: HostState): Operation[] {
  const stale = REPLAY_FILES.filter(([path, content]) => actual.files[path] !== content);
  const ops: Operation[] = stale.map(([path, content]) => write(path, content, undefined, path === APPLY_SCRIPT_PATH ? "0755" : "0644"));
  // Enabling also reloads systemd and udev, which must see new units and rules.
  if (stale.some(([path]) => path !== APPLY_SCRIPT_PATH) || actual.files[UNIT_LINK] !== `${UNIT_PATH}\n`) ops.push({ type: "bootUnit", action: "enable" });
  return ops;
}

/** Operations that make a resource's part hold `records`, or remove it when they are undefined or empty. */
export function persistPart(path: string, records: readonly PartRecord[] | undefined, actual: HostState): Operation[] {
  const content = records?.length ? bootPartText(records) : undefined;
  const changes: Operation[] = legacyPartPaths(path).filter((p) => actual.files[p] !== undefined).map((p) => remove(p, "(an earlier version's part)"));
  if (content === undefined && actual.files[path] !== undefined) changes.push(remove(path, "(boot replay)"));
  if (content !== undefined && actual.files[path] !== content) changes.push(write(path, content, "(boot replay)"));
  if (content === undefined) {
    const leaving = new Set([path, ...legacyPartPaths(path)]);
    const othersLeft = Object.keys(actual.files).some((f) => f.startsWith(`${PARTS_DIR}/`) && !leaving.has(f));
    if (!othersLeft && (actual.files[APPLY_SCRIPT_PATH] !== undefined || changes.length > 0)) changes.push({ type: "bootUnit", action: "removeIfUnused" });
    return changes;
  }
  return [...ensureReplayInstalled(actual), ...changes];
}

/** Whether the host's part matches what the resource wants (and the replay runs it). */
export function partIsCurrent(path: string, records: readonly PartRecord[] | undefined, actual: HostState): boolean {
  const content = records?.length ? bootPartText(records) : undefined;
  if (legacyPartPaths(path).some((p) => actual.files[p] !== undefined)) return false;
  return actual.files[path] === content && (content === undefined || replayInstalled(actual));
}

/** Path of a sysctl.d file we own. */
export function sysctlFilePath(name: string): string {
  return `${SYSCTL_FILE_PREFIX}${name}.conf`;
}

/** Text of a sysctl.d file. */
export function sysctlFileText(values: Readonly<Record<string, string>>): string {
  const lines = Object.keys(values)
    .sort()
    .map((key) => `${key} = ${values[key]}`);
  return `# Generated by mptcp-pulumi; edit the stack, not this file.\n${lines.join("\n")}\n`;
}

/** Operations that make a sysctl.d file hold `values`, or remove it when undefined/empty. */
export function persistSysctls(name: string, values: Readonly<Record<string, string>> | undefined, actual: HostState): Operation[] {
  const path = sysctlFilePath(name);
  if (!values || Object.keys(values).length === 0) return actual.files[path] !== undefined ? [remove(path)] : [];
  const content = sysctlFileText(values);
  return actual.files[path] === content ? [] : [write(path, content)];
}
