/**
 * Every change the provider makes on a host, as typed operations. Each family (one module)
 * says in one place how its operations render, whether they may cut the management session,
 * and what undoes them; nothing else reads their rendered words back.
 */
import type { HostState } from "../state/types";
import { addressFamily, type AddressOp } from "./address";
import { bootUnitFamily, type BootUnitOp } from "./bootUnit";
import { endpointFamily, type EndpointOp } from "./endpoint";
import { fileFamily, type FileOp } from "./file";
import { limitsFamily, type LimitsOp } from "./limits";
import { linkFamily, type LinkOp } from "./link";
import { managerConfigFamily, type ManagerConfigOp } from "./managerConfig";
import { nmFamily, type NmOp } from "./nm";
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
export type { ConfigManager, ManagerConfigOp } from "./managerConfig";
export type { NmOp } from "./nm";
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

/** Whether an operation could cut the management session (then its change set is armed). */
export function mayCutSession(op: Operation): boolean {
  return familyOf(op).mayCut(op);
}

/** The operations that undo one operation, given the host's state before it. */
export function inverseOf(op: Operation, before: HostState): Operation[] {
  return familyOf(op).inverse(op, before);
}

/** The undo of a whole operation list: each one's inverse, last operation first. */
export function inverseAll(ops: readonly Operation[], before: HostState): Operation[] {
  return [...ops].reverse().flatMap((op) => inverseOf(op, before));
}

/** What users read about an operation: the command it runs (or its own wording), then its note. */
export function describe(op: Operation): string {
  const own = familyOf(op).describe?.(op);
  const r = render(op);
  const text = own ?? (r.kind === "ip" ? `ip ${r.family === 6 ? "-6 " : ""}${r.args.join(" ")}` : r.kind === "exec" ? r.argv.join(" ") : `${r.kind === "writeFile" ? "write" : "remove"} ${r.path}`);
  return op.note ? `${text} ${op.note}` : text;
}
