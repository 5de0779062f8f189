/**
 * Sysctl tuning: a named set of keys and values (TCP buffers, rp_filter, net.mptcp.*), persisted
 * in /etc/sysctl.d, with the values it replaced remembered so `delete` restores them.
 */
import { z } from "zod";
import { hostedSchema, type Connection } from "../connection";
import type { Operation } from "../operations";
import { persistSysctls, sysctlFilePath, sysctlFileText } from "../persist";
import { normalizeSysctlValue } from "../state/probe";
import type { HostState } from "../state/types";
import { PlanError, type ResourceDefinition } from "../resource";
import { sysctlKey, sysctlValue, sysctlValueProblem } from "../validation";

/** Keys and values, values in the kernel's spacing (the stack config composes them too). */
export const sysctlValues = z.record(sysctlKey, sysctlValue.transform((v) => normalizeSysctlValue(v))).superRefine((values, ctx) => {
  for (const [key, value] of Object.entries(values)) {
    const problem = sysctlValueProblem(key, value);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
});

/** Sysctl tuning inputs. */
export const sysctlSchema = z.strictObject({
  ...hostedSchema,
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "name is 1..40 lowercase letters, digits and '-' (it names /etc/sysctl.d/90-mptcp-pulumi-NAME.conf)")
    .refine((n) => n !== "host", "the name host is taken by the MptcpHost resource's own sysctl.d file"),
  values: sysctlValues
    .refine((v) => Object.keys(v).length > 0, "values needs at least one key")
    .refine((v) => Object.keys(v).length <= 200, "at most 200 keys per set"),
  persist: z.boolean().default(true),
});

/** Validated sysctl inputs. */
export type SysctlInputs = z.infer<typeof sysctlSchema>;
/** Outputs: values as seen, plus what they were before we changed them (restored on delete). */
export type SysctlOutputs = SysctlInputs & { previous: Record<string, string>; persisted: boolean };

/** Changes that set `values`, restore keys no longer wanted, and keep the sysctl.d file in step. */
export function planSysctls(
  host: Connection,
  what: string,
  values: Readonly<Record<string, string>>,
  previous: Readonly<Record<string, string>>,
  actual: HostState,
  fileName: string,
  persist: boolean,
): Operation[] {
  const changes: Operation[] = [];
  for (const [key, value] of Object.entries(values)) {
    const current = actual.sysctls[key];
    if (current === undefined) {
      throw new PlanError(host, what, `sysctl ${key} does not exist on the host (kernel ${actual.facts.kernelRelease}); check the name or the kernel version`);
    }
    if (current !== value) changes.push({ type: "sysctl", key, value, note: `(was ${current})` });
  }
  for (const [key, old] of Object.entries(previous)) {
    if (!(key in values) && actual.sysctls[key] !== undefined && actual.sysctls[key] !== old) {
      changes.push({ type: "sysctl", key, value: old, note: "(restore)" });
    }
  }
  changes.push(...persistSysctls(fileName, persist ? values : undefined, actual));
  return changes;
}

/** The values before our first change, for every key we manage (kept across updates). */
export function rememberPrevious(
  values: Readonly<Record<string, string>>,
  before: HostState,
  previous: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const remembered: Record<string, string> = {};
  for (const key of Object.keys(values)) {
    const old = previous?.[key] ?? before.sysctls[key];
    if (old !== undefined) remembered[key] = old;
  }
  return remembered;
}

/** Changes that restore remembered values and remove our sysctl.d file. */
export function restoreSysctls(previous: Readonly<Record<string, string>>, actual: HostState, fileName: string): Operation[] {
  const changes: Operation[] = [];
  for (const [key, old] of Object.entries(previous)) {
    const current = actual.sysctls[key];
    if (current !== undefined && current !== old) changes.push({ type: "sysctl", key, value: old, note: "(restore)" });
  }
  changes.push(...persistSysctls(fileName, undefined, actual));
  return changes;
}

/** The sysctl tuning resource. */
export const sysctlDefinition: ResourceDefinition<SysctlInputs, SysctlOutputs> = {
  kind: "SysctlTuning",
  schema: sysctlSchema,
  inputKeys: ["name", "values", "persist"],
  identity: (s) => `sysctl/${s.name}`,
  replaces: (olds, news) => (olds.name !== news.name ? ["name"] : []),
  plan: (desired, actual, previous) =>
    planSysctls(desired.connection, `sysctl set ${desired.name}`, desired.values, previous?.previous ?? {}, actual, desired.name, desired.persist),
  outputs: (desired, after, before, previous) => ({
    ...desired,
    previous: rememberPrevious(desired.values, before, previous?.previous),
    persisted: !desired.persist || after.files[sysctlFilePath(desired.name)] === sysctlFileText(desired.values),
  }),
  observe(current, actual) {
    const values: Record<string, string> = {};
    for (const key of Object.keys(current.values)) {
      const value = actual.sysctls[key];
      if (value !== undefined) values[key] = value;
    }
    const persisted = !current.persist || actual.files[sysctlFilePath(current.name)] === sysctlFileText(current.values);
    return { ...current, values, persisted };
  },
  remove: (current, actual) => restoreSysctls(current.previous ?? {}, actual, current.name),
  sysctlKeys: (current) => [...Object.keys(current.values ?? {}), ...Object.keys((current as Partial<SysctlOutputs>).previous ?? {})],
};
