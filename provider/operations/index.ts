/**
 * Every change the provider makes on a host, as typed operations. Each family (one module)
 * says in one place how its operations render, whether they may cut the management session,
 * and what undoes them; nothing else reads their rendered words back.
 */
import type { SessionPath } from "../model/session";
import type { StatePart } from "../state/fingerprints";
import type { HostState } from "../state/types";
import { addressFamily, type AddressOp } from "./address";
import { bootUnitFamily, type BootUnitOp } from "./bootUnit";
import { endpointFamily, type EndpointOp } from "./endpoint";
import { fileFamily, type FileOp } from "./file";
import { limitsFamily, type LimitsOp } from "./limits";
import { linkFamily, type LinkOp } from "./link";
import { managerConfigFamily, type ManagerConfigOp } from "../keepers/networkd/operation";
import { nmFamily, type NmOp } from "../keepers/networkmanager/operation";
import { routeFamily, type RouteOp } from "./route";
import { ruleFamily, type RuleOp } from "./rule";
import { sysctlFamily, type SysctlOp } from "./sysctl";
import type { OperationFamily, Rendered } from "./types";

export type { AddressOp } from "./address";
export type { BootUnitOp } from "./bootUnit";
export type { EndpointOp, EndpointSpec } from "./endpoint";
export type { FileOp } from "./file";
export type { LimitsOp } from "./limits";
export type { LinkOp } from "./link";
export type { ConfigManager, ManagerConfigOp } from "../keepers/networkd/operation";
export type { NmOp } from "../keepers/networkmanager/operation";
export type { RouteOp, RouteSpec } from "./route";
export type { RuleOp } from "./rule";
export type { SysctlOp } from "./sysctl";
export type { Family, Rendered } from "./types";

/** One change on a host. */
export type Operation = LinkOp | AddressOp | RuleOp | RouteOp | EndpointOp | LimitsOp | SysctlOp | FileOp | BootUnitOp | ManagerConfigOp | NmOp;

type Families = { [K in Operation["type"]]: OperationFamily<Extract<Operation, { type: K }>, Operation> };

const FAMILIES: Families = {
  link: linkFamily,
  address: addressFamily,
  rule: ruleFamily,
  route: routeFamily,
  endpoint: endpointFamily,
  limits: limitsFamily,
  sysctl: sysctlFamily,
  file: fileFamily,
  bootUnit: bootUnitFamily,
  managerConfig: managerConfigFamily,
  nm: nmFamily,
};

function familyOf<T extends Operation>(op: T): OperationFamily<T, Operation> {
  return FAMILIES[op.type] as unknown as OperationFamily<T, Operation>;
}

/** How an operation runs on the host. */
export function render(op: Operation): Rendered {
  return familyOf(op).render(op);
}

/**
 * Whether an operation could cut the management session (then its change set is armed); with
 * the session's path on the host, only one that touches it may.
 */
export function mayCutSession(op: Operation, path?: SessionPath): boolean {
  return familyOf(op).mayCut(op, path);
}

/** The operations that undo one operation, given the host's state before it. */
export function inverseOf(op: Operation, before: HostState): Operation[] {
  return familyOf(op).inverse(op, before);
}

/** The undo of a whole operation list: each one's inverse, last operation first. */
export function inverseAll(ops: readonly Operation[], before: HostState): Operation[] {
  return [...ops].reverse().flatMap((op) => inverseOf(op, before));
}

/** One ip line as a standalone command. */
export function ipCommand(r: Extract<Rendered, { kind: "ip" }>): string[] {
  return ["ip", ...(r.family === 6 ? ["-6"] : []), ...r.args];
}

/** The command an operation runs on the host, as argv (a host function by its name; a file by what is done to it). */
export function argvOf(op: Operation): string[] {
  const r = render(op);
  switch (r.kind) {
    case "ip":
      return ipCommand(r);
    case "exec":
      return r.argv;
    case "call":
      return [r.fn, ...r.args];
    case "writeFile":
      return ["write_file", r.path, r.mode];
    case "removeFile":
      return ["rm", "-f", r.path];
  }
}

/** What users read about an operation: the command it runs (or its own wording), then its note. */
export function describe(op: Operation): string {
  const r = render(op);
  const text = familyOf(op).describe?.(op) ?? (r.kind === "writeFile" ? `write ${r.path}` : r.kind === "removeFile" ? `remove ${r.path}` : argvOf(op).join(" "));
  return op.note ? `${text} ${op.note}` : text;
}

/** The parts of the host's state a change set was planned on (each operation's, once). */
export function dependenciesOf(ops: readonly Operation[]): StatePart[] {
  return [...new Set(ops.flatMap((op) => familyOf(op).dependsOn(op)))];
}
