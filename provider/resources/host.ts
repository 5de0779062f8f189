/**
 * MPTCP host: the host-wide MPTCP settings (net.mptcp.enabled, path manager, scheduler) and
 * the path-manager limits, plus the facts found on the host (kernel, iproute2, what it offers).
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import type { Operation } from "../operations";
import { REPLAY_TRIGGERS } from "../keepers";
import { BOOT_ORDER, bootPartPath, partIsCurrent, persistPart, type PartRecord } from "../keepers/kernel";
import { sysctlFilePath, sysctlFileText } from "../persist";
import type { ActualEndpoint, HostFacts, HostState, MptcpLimits } from "../state/types";
import { mptcpdRefusals } from "../keepers/mptcpd";
import { PlanError, type ResourceDefinition } from "../resource";
import { describeEndpoint, foreignFields, foreignOn, foreignSettled, planForeign, removedForeign, restoreForeign } from "./foreign";
import { planSysctls, rememberPrevious, restoreSysctls } from "./sysctl";

/** The kernel caps both limits at 8 (MPTCP_PM_ADDR_MAX). */
export const MAX_LIMIT = 8;

const limit = (name: string) =>
  z.number().int(`${name} is an integer`).min(0, `${name} is 0..${MAX_LIMIT}`).max(MAX_LIMIT, `${name} is at most ${MAX_LIMIT} (the kernel's maximum)`);

/** Host inputs. */
export const hostSchema = z.strictObject({
  ...hostedSchema,
  enabled: z.boolean().default(true),
  pathManager: z.enum(["kernel", "userspace"]).optional(),
  scheduler: z.string().regex(/^[a-z0-9_]{1,15}$/, "scheduler is a kernel scheduler name such as 'default'").optional(),
  limits: z
    .strictObject({ subflows: limit("subflows"), addAddrAccepted: limit("addAddrAccepted") })
    .optional(),
  persist: z.boolean().default(true),
  ...foreignFields,
});

/** Validated host inputs. */
export type HostInputs = z.infer<typeof hostSchema>;
/** Host outputs: inputs as seen, facts, and what we replaced (restored on delete). */
export type HostOutputs = HostInputs & {
  facts: HostFacts;
  previous: { sysctls: Record<string, string>; limits?: MptcpLimits | undefined };
  persisted: boolean;
  /** Endpoints the stack does not declare, as the host lists them (NetworkManager's, mptcpd's, by hand). */
  foreign: string[];
  /** The same endpoints as records: what the pair checks count. */
  foreignSeen: ActualEndpoint[];
  /** Foreign endpoints `remove` deleted, as they were: delete puts them back. */
  removedForeign?: ActualEndpoint[];
};

const SYSCTL_FILE = "host";

/** The foreign endpoints for users to read and for the checks to count. */
function foreignReport(actual: HostState, declared: readonly string[]): Pick<HostOutputs, "foreign" | "foreignSeen"> {
  const seen = foreignOn(actual, declared);
  return { foreign: seen.map(describeEndpoint), foreignSeen: seen };
}
const LIMITS_PART = bootPartPath(BOOT_ORDER.limits, "limits");

/** The sysctls that express the host inputs on this kernel (path_manager is 6.15+, pm_type older). */
export function hostSysctls(desired: HostInputs, actual: HostState): Record<string, string> {
  const host = desired.connection;
  const values: Record<string, string> = { "net.mptcp.enabled": desired.enabled ? "1" : "0" };
  if (desired.pathManager !== undefined) {
    if (actual.sysctls["net.mptcp.path_manager"] !== undefined) {
      if (!actual.facts.pathManagers.includes(desired.pathManager)) {
        throw new PlanError(host, "MPTCP host", `path manager ${desired.pathManager} is not offered by the kernel (available: ${actual.facts.pathManagers.join(", ")})`);
      }
      values["net.mptcp.path_manager"] = desired.pathManager;
    } else if (actual.sysctls["net.mptcp.pm_type"] !== undefined) {
      values["net.mptcp.pm_type"] = desired.pathManager === "kernel" ? "0" : "1";
    } else if (desired.pathManager !== "kernel") {
      throw new PlanError(host, "MPTCP host", `kernel ${actual.facts.kernelRelease} has only the in-kernel path manager`);
    }
  }
  if (desired.scheduler !== undefined) {
    if (!actual.facts.schedulers.includes(desired.scheduler)) {
      throw new PlanError(host, "MPTCP host", `scheduler ${desired.scheduler} is not offered by kernel ${actual.facts.kernelRelease} (available: ${actual.facts.schedulers.join(", ") || "none: no net.mptcp.scheduler"})`);
    }
    values["net.mptcp.scheduler"] = desired.scheduler;
  }
  return values;
}

const describeLimits = (limits: MptcpLimits | undefined) => (limits ? `subflows ${limits.subflows} add_addr_accepted ${limits.addAddrAccepted}` : "unknown");

/** The boot part's records: the declared limits, when persisted. */
function limitsPart(inputs: HostInputs): PartRecord[] | undefined {
  return inputs.persist && inputs.limits ? [{ kind: "limits", ...inputs.limits }] : undefined;
}

/** Plans sysctls and limits for the host. */
export function planHost(desired: HostInputs, actual: HostState, previous: HostOutputs | undefined): Operation[] {
  if (!actual.facts.mptcpAvailable) {
    throw new PlanError(desired.connection, "MPTCP host", `kernel ${actual.facts.kernelRelease} has no MPTCP (no net.mptcp sysctls); MPTCP needs Linux >= 5.6 with CONFIG_MPTCP=y`);
  }
  const refused = mptcpdRefusals(actual.facts.managers.mptcpd, { limits: desired.limits !== undefined, endpoints: desired.declaredEndpoints.length });
  if (refused.length > 0) throw new PlanError(desired.connection, "MPTCP host", refused.map((f) => `${f.property}: ${f.reason}`).join("; "));
  const changes = planSysctls(desired.connection, "MPTCP host", hostSysctls(desired, actual), previous?.previous.sysctls ?? {}, actual, SYSCTL_FILE, desired.persist);
  const wanted = desired.limits ?? (previous?.previous.limits ? previous.previous.limits : undefined);
  if (wanted && (actual.limits?.subflows !== wanted.subflows || actual.limits?.addAddrAccepted !== wanted.addAddrAccepted)) {
    changes.push({ type: "limits", limits: { ...wanted }, note: `(was ${describeLimits(actual.limits)})` });
  }
  changes.push(...persistPart(LIMITS_PART, limitsPart(desired), actual, REPLAY_TRIGGERS));
  changes.push(...planForeign(desired, actual));
  return changes;
}

function observedInputs(current: HostInputs, actual: HostState): HostInputs {
  const seen: HostInputs = { ...current, enabled: actual.sysctls["net.mptcp.enabled"] === "1" };
  if (current.pathManager !== undefined) {
    const pm = actual.sysctls["net.mptcp.path_manager"] ?? (actual.sysctls["net.mptcp.pm_type"] === "1" ? "userspace" : "kernel");
    seen.pathManager = pm as HostInputs["pathManager"];
  }
  if (current.scheduler !== undefined) seen.scheduler = actual.sysctls["net.mptcp.scheduler"] ?? "";
  if (current.limits !== undefined && actual.limits) seen.limits = { ...actual.limits };
  return seen;
}

/** Whether the limits part and the host's sysctl.d file say what the inputs say. */
function hostPersisted(current: HostInputs, actual: HostState): boolean {
  if (!partIsCurrent(LIMITS_PART, limitsPart(current), actual, REPLAY_TRIGGERS)) return false;
  if (!current.persist) return true;
  try {
    return actual.files[sysctlFilePath(SYSCTL_FILE)] === sysctlFileText(hostSysctls(current, actual));
  } catch {
    return false; // the kernel no longer offers what the inputs ask: an update will say why
  }
}

/** The host resource. */
export const hostDefinition: ResourceDefinition<HostInputs, HostOutputs> = {
  kind: "MptcpHost",
  schema: hostSchema,
  inputKeys: ["enabled", "pathManager", "scheduler", "limits", "persist", "foreignEndpoints", "declaredEndpoints"],
  identity: () => "host",
  replaces: () => [],
  plan: planHost,
  outputs(desired, after, before, previous) {
    const sysctls = hostSysctls(desired, after);
    return {
      ...desired,
      facts: after.facts,
      previous: {
        sysctls: rememberPrevious(sysctls, before, previous?.previous.sysctls),
        limits: previous?.previous.limits ?? before.limits,
      },
      persisted: hostPersisted(desired, after),
      ...foreignReport(after, desired.declaredEndpoints),
      removedForeign: removedForeign(desired, before, after, previous?.removedForeign),
    };
  },
  observe(current, actual) {
    // Stored states from before the option existed read as its defaults.
    const policy = { foreignEndpoints: current.foreignEndpoints ?? "keep", declaredEndpoints: current.declaredEndpoints ?? [] };
    return {
      ...current,
      ...observedInputs(current, actual),
      facts: actual.facts,
      // With `remove`, a foreign endpoint that came back (mptcpd re-adds on address events) is drift.
      persisted: hostPersisted(current, actual) && foreignSettled(policy, actual),
      ...foreignReport(actual, policy.declaredEndpoints),
    };
  },
  remove(current, actual) {
    const changes = restoreSysctls(current.previous?.sysctls ?? {}, actual, SYSCTL_FILE);
    const old = current.previous?.limits;
    if (current.limits && old && (actual.limits?.subflows !== old.subflows || actual.limits?.addAddrAccepted !== old.addAddrAccepted)) {
      changes.push({ type: "limits", limits: { ...old }, note: "(restore)" });
    }
    changes.push(...persistPart(LIMITS_PART, undefined, actual, REPLAY_TRIGGERS));
    changes.push(...restoreForeign(current.removedForeign ?? [], actual));
    return changes;
  },
};
