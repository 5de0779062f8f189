/**
 * MPTCP endpoint: an address the in-kernel path manager announces (signal) or opens subflows
 * from (subflow), with the kernel's validation rules enforced before any host is touched.
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import { REPLAY_TRIGGERS } from "../keepers";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../keepers/kernel";
import { endpointSlug, endpointText, sameEndpoint, type EndpointKey } from "../model/endpoint";
import type { EndpointOp, Operation } from "../operations";
import { endpointAddArgs, type ChangeableFlag } from "../operations/endpoint";
import { versionAtLeast } from "../state/probe";
import type { ActualEndpoint, HostState } from "../state/types";
import { PlanError, type ResourceDefinition } from "../resource";
import { interfaceName, splitCidr, unicastAddress } from "../validation";

/** Flags a user may set; "implicit" is the kernel's own marker and is never created. */
export const ENDPOINT_FLAGS = ["signal", "subflow", "backup", "fullmesh", "laminar"] as const;
/** At most this many endpoints per network namespace (MPTCP_PM_MAX_ADDR in the kernel). */
export const MAX_ENDPOINTS = 8;
/** Flags `ip mptcp endpoint change` can flip; any other flag change means delete and add. */
const CHANGEABLE_FLAGS = ["backup", "fullmesh"] as const;

/** An endpoint's own fields (the stack config composes them too). */
export const endpointFields = {
  address: unicastAddress,
  dev: interfaceName.optional(),
  id: z.number().int("id is an integer").min(1, "id is 1..255 (0 is the initial subflow)").max(255, "id is 1..255").optional(),
  port: z.number().int("port is an integer").min(1, "port is 1..65535").max(65535, "port is 1..65535").optional(),
  flags: z
    .array(z.enum(ENDPOINT_FLAGS, { error: (issue) => `${JSON.stringify(issue.input)} is not a flag: use signal, subflow, backup, fullmesh or laminar ("implicit" is set by the kernel, never created)` }))
    .default([])
    .transform((flags) => [...new Set(flags)].sort()),
};

/** The kernel's rules across an endpoint's fields. */
export function endpointRules(e: { flags: readonly string[]; port?: number | undefined }, ctx: z.RefinementCtx): void {
  if (e.flags.includes("signal") && e.flags.includes("fullmesh")) {
    ctx.addIssue({ code: "custom", path: ["flags"], message: "signal and fullmesh cannot be combined (the kernel refuses it)" });
  }
  if (e.port !== undefined && !e.flags.includes("signal")) {
    ctx.addIssue({ code: "custom", path: ["port"], message: "port is only valid with the signal flag" });
  }
  if (e.port !== undefined && e.flags.includes("subflow")) {
    ctx.addIssue({ code: "custom", path: ["port"], message: "port cannot be used with the subflow flag" });
  }
}

/** Endpoint inputs with the kernel's rules. */
export const endpointSchema = z.strictObject({ ...hostedSchema, ...endpointFields }).superRefine(endpointRules);

/** Validated endpoint inputs. */
export type EndpointInputs = z.infer<typeof endpointSchema>;
/**
 * Endpoint outputs: the inputs plus the id the kernel uses, whether boot replay is current, and
 * the host's own endpoint at this address that create replaced (mptcpd's, say): delete puts it back.
 */
export type EndpointOutputs = EndpointInputs & { endpointId: number; persisted: boolean; replaced?: ActualEndpoint };

/** The host's endpoint with this key (address and port), if any. */
export function findEndpoint(endpoints: readonly ActualEndpoint[], key: EndpointKey): ActualEndpoint | undefined {
  return endpoints.find((e) => sameEndpoint(e, key));
}

/** `ip mptcp endpoint add ...` arguments for the desired endpoint. */
export const addArgs = endpointAddArgs;

/** The operation that adds the desired endpoint. */
function addOp(e: EndpointInputs): EndpointOp {
  const { address, port, id, dev, flags } = e;
  return { type: "endpoint", action: "add", endpoint: { address, port, id, dev, flags } };
}

const userFlags = (flags: readonly string[]) => flags.filter((f) => f !== "implicit").sort();

function bootPath(e: EndpointKey): string {
  return bootPartPath(BOOT_ORDER.endpoint, `endpoint-${endpointSlug(e)}`);
}

function bootLines(e: EndpointInputs): PartRecord[] {
  const { address, port, id, dev, flags } = e;
  return [{ kind: "endpoint", address, port, id, dev, flags }];
}

function describe(e: EndpointKey): string {
  return `endpoint ${endpointText(e)}`;
}

/** Whether `actual` already is the desired endpoint (unset id and dev match anything). */
function matches(desired: EndpointInputs, actual: ActualEndpoint): boolean {
  return (
    (desired.id === undefined || desired.id === actual.id) &&
    (desired.dev === undefined || desired.dev === actual.dev) &&
    userFlags(actual.flags).join(",") === desired.flags.join(",")
  );
}

/** Plans the endpoint: adopt an identical one, flip backup/fullmesh in place, else delete and add. */
export function planEndpoint(desired: EndpointInputs, actual: HostState): Operation[] {
  const host = desired.connection;
  const what = describe(desired);
  if (!actual.facts.mptcpAvailable) throw new PlanError(host, what, `kernel ${actual.facts.kernelRelease} has no MPTCP (net.mptcp is missing); MPTCP needs Linux >= 5.6 built with CONFIG_MPTCP`);
  const iproute = actual.facts.iproute2Version;
  if (desired.flags.includes("fullmesh") && !versionAtLeast(iproute, "5.17")) {
    throw new PlanError(host, what, `iproute2 ${iproute} does not know the fullmesh flag (needs iproute2 >= 5.17)`);
  }
  if (desired.flags.includes("laminar") && !versionAtLeast(iproute, "6.19")) {
    throw new PlanError(host, what, `iproute2 ${iproute} does not know the laminar flag (needs iproute2 >= 6.19 and kernel >= 6.18)`);
  }
  if (desired.flags.includes("laminar") && !versionAtLeast(actual.facts.kernelRelease.replace(/[^0-9.].*$/, ""), "6.18")) {
    throw new PlanError(host, what, `kernel ${actual.facts.kernelRelease} does not know the laminar flag (needs kernel >= 6.18): it would drop it`);
  }
  const link = desired.dev !== undefined ? actual.links.find((l) => l.name === desired.dev) : undefined;
  if (desired.dev !== undefined && !link) {
    throw new PlanError(host, what, `interface ${desired.dev} does not exist on the host`);
  }
  if (link && desired.port !== undefined && !actual.links.some((l) => l.addresses.some((c) => splitCidr(c)?.address === desired.address))) {
    // A signal endpoint with a port listens on it: the kernel refuses an address that is not local ("create listen socket error: -99").
    throw new PlanError(host, what, `${desired.address} is not an address of the host, and an endpoint with a port listens on it. Fix: declare the address on ${desired.dev} first`);
  }
  const changes: Operation[] = [];
  const existing = findEndpoint(actual.endpoints, desired);
  if (existing && matches(desired, existing)) {
    // adopted as is
  } else if (existing && onlyChangeableDiffer(desired, existing) && versionAtLeast(iproute, existing.flags.includes("fullmesh") !== desired.flags.includes("fullmesh") ? "5.18" : "5.17")) {
    // iproute2 5.17 can change only backup in place; fullmesh/nofullmesh came with 5.18.
    const flags: Partial<Record<ChangeableFlag, boolean>> = {};
    for (const flag of CHANGEABLE_FLAGS) {
      const want = desired.flags.includes(flag);
      if (want !== existing.flags.includes(flag)) flags[flag] = want;
    }
    changes.push({ type: "endpoint", action: "change", id: existing.id, flags });
  } else {
    const others = actual.endpoints.filter((e) => e !== existing);
    if (desired.id !== undefined) {
      const clash = others.find((e) => e.id === desired.id);
      if (clash) throw new PlanError(host, what, `id ${desired.id} is already used by endpoint ${clash.address} on the host`);
    }
    if (!existing && others.length >= MAX_ENDPOINTS) {
      throw new PlanError(host, what, `the host already has ${others.length} endpoints, the kernel's maximum is ${MAX_ENDPOINTS}`);
    }
    if (existing) changes.push({ type: "endpoint", action: "delete", id: existing.id, note: `(was ${userFlags(existing.flags).join(" ") || "no flags"})` });
    changes.push(addOp(desired));
  }
  changes.push(...persistPart(bootPath(desired), bootLines(desired), actual, REPLAY_TRIGGERS));
  return changes;
}

function onlyChangeableDiffer(desired: EndpointInputs, actual: ActualEndpoint): boolean {
  const fixed = (flags: readonly string[]) => userFlags(flags).filter((f) => !(CHANGEABLE_FLAGS as readonly string[]).includes(f)).join(",");
  return (
    (desired.id === undefined || desired.id === actual.id) &&
    (desired.dev === undefined || desired.dev === actual.dev) &&
    fixed(desired.flags) === fixed(actual.flags)
  );
}

/** Whether the boot part is current, with the replay and the managers' hooks that run it. */
function endpointPersisted(e: EndpointInputs, actual: HostState): boolean {
  return partIsCurrent(bootPath(e), bootLines(e), actual, REPLAY_TRIGGERS);
}

/** The endpoint resource. */
export const endpointDefinition: ResourceDefinition<EndpointInputs, EndpointOutputs> = {
  kind: "Endpoint",
  schema: endpointSchema,
  inputKeys: ["address", "dev", "id", "port", "flags"],
  identity: (e) => `endpoint/${endpointText(e)}`,
  replaces(olds, news) {
    const replaced: string[] = [];
    for (const key of ["address", "port", "dev"] as const) if (olds[key] !== news[key]) replaced.push(key);
    // Declaring the id the kernel already chose is not a change.
    if (news.id !== undefined ? news.id !== (olds.endpointId ?? olds.id) : olds.id !== undefined) replaced.push("id");
    const fixed = (flags: readonly string[] = []) => flags.filter((f) => !(CHANGEABLE_FLAGS as readonly string[]).includes(f)).join(",");
    if (fixed(olds.flags) !== fixed(news.flags)) replaced.push("flags");
    return replaced;
  },
  plan: (desired, actual) => planEndpoint(desired, actual),
  outputs(desired, after, before, previous) {
    const seen = findEndpoint(after.endpoints, desired);
    const was = findEndpoint(before.endpoints, desired);
    const replaced = previous ? previous.replaced : was && !matches(desired, was) ? was : undefined;
    return { ...desired, endpointId: seen?.id ?? 0, persisted: endpointPersisted(desired, after), ...(replaced ? { replaced } : {}) };
  },
  observe(current, actual) {
    const seen = findEndpoint(actual.endpoints, current);
    if (!seen) return undefined;
    const observed: EndpointOutputs = {
      ...current,
      flags: userFlags(seen.flags) as EndpointOutputs["flags"],
      endpointId: seen.id,
      persisted: endpointPersisted(current, actual),
    };
    if (current.id !== undefined) observed.id = seen.id;
    if (current.dev !== undefined) {
      if (seen.dev !== undefined) observed.dev = seen.dev;
      else delete observed.dev;
    }
    return observed;
  },
  remove(current, actual) {
    const changes: Operation[] = [];
    const seen = findEndpoint(actual.endpoints, current);
    if (seen) changes.push({ type: "endpoint", action: "delete", id: seen.id });
    const old = current.replaced;
    if (old) changes.push({ type: "endpoint", action: "add", endpoint: { address: old.address, port: old.port, id: old.id, dev: old.dev, flags: userFlags(old.flags) }, note: "(restore)" });
    changes.push(...persistPart(bootPath(current), undefined, actual, REPLAY_TRIGGERS));
    return changes;
  },
};
