/**
 * Preflight: before anything changes on a host, every object the stack declares for it is
 * planned against the host as it is (its network managers, kernel and tools), with the declared
 * addresses in place as the interfaces will put them. A refusal anywhere (a manager that cannot
 * keep an object, a kernel that lacks a feature) stops the `up` before its first change on the
 * host: every other resource of the host depends on this one. It holds nothing on the host.
 */
import { z } from "zod";
import { hostedSchema } from "../connection";
import { canonicalCidr } from "../model/address";
import type { Operation } from "../operations";
import { PlanError, type Hosted, type ResourceDefinition } from "../resource";
import type { HostState } from "../state/types";
import { validate } from "../validation";
import { endpointDefinition } from "./endpoint";
import { hostDefinition } from "./host";
import { interfaceDefinition } from "./interface";
import { policyRouteDefinition } from "./policyRoute";
import { sysctlDefinition } from "./sysctl";

/** One declared object: a child resource's inputs without the connection (the preflight's own). */
const item = z.record(z.string(), z.unknown());

/** The host's declared objects, one list per resource kind. */
export const declaredSchema = z.strictObject({
  mptcp: item,
  interfaces: z.array(item),
  policyRoutes: z.array(item),
  endpoints: z.array(item),
  tunings: z.array(item),
});

/** Preflight inputs. */
export const preflightSchema = z.strictObject({ ...hostedSchema, declared: declaredSchema });

/** Validated preflight inputs. */
export type PreflightInputs = z.infer<typeof preflightSchema>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDefinition = ResourceDefinition<any, any>;

/** The kinds in the order they apply, each with where its list lives and whether it plans on the projected host. */
const KINDS: ReadonlyArray<{ key: Exclude<keyof PreflightInputs["declared"], "mptcp">; def: AnyDefinition; projected: boolean }> = [
  { key: "interfaces", def: interfaceDefinition, projected: false },
  { key: "tunings", def: sysctlDefinition, projected: false },
  { key: "policyRoutes", def: policyRouteDefinition, projected: true },
  { key: "endpoints", def: endpointDefinition, projected: true },
];

/** The host once the declared interfaces have their addresses: what routes and endpoints plan against. */
export function withDeclaredAddresses(actual: HostState, interfaces: ReadonlyArray<Record<string, unknown>>): HostState {
  const links = actual.links.map((l) => {
    const declared = interfaces.find((i) => i["name"] === l.name)?.["addresses"];
    if (!Array.isArray(declared)) return l;
    const more = declared.map((c) => canonicalCidr(String(c)) ?? String(c)).filter((c) => !l.addresses.includes(c));
    return more.length > 0 ? { ...l, addresses: [...l.addresses, ...more] } : l;
  });
  return { ...actual, links };
}

/** Every refusal of the declared objects on this host, as "Kind identity: reason" lines. */
export function preflightRefusals(p: PreflightInputs, actual: HostState): string[] {
  const projected = withDeclaredAddresses(actual, p.declared.interfaces);
  const refusals: string[] = [];
  const ask = (def: AnyDefinition, raw: Record<string, unknown>, state: HostState) => {
    const parsed = validate(def.schema, { ...raw, connection: p.connection });
    if (!parsed.ok) return void refusals.push(`${def.kind}: ${parsed.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    try {
      def.plan(parsed.value as Hosted, state, undefined);
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      refusals.push(`${error.resource}: ${error.reason}`);
    }
  };
  ask(hostDefinition, p.declared.mptcp, actual);
  for (const k of KINDS) for (const raw of p.declared[k.key]) ask(k.def, raw, k.projected ? projected : actual);
  return refusals;
}

/** Sysctl keys every declared object reads. */
function keysOf(p: PreflightInputs): string[] {
  const of = (def: AnyDefinition, raw: Record<string, unknown>) => def.sysctlKeys?.(raw as never) ?? [];
  return [...of(hostDefinition, p.declared.mptcp), ...KINDS.flatMap((k) => p.declared[k.key].flatMap((raw) => of(k.def, raw)))];
}

/** The preflight resource: plans, changes nothing, refuses everything that would be refused later. */
export const preflightDefinition: ResourceDefinition<PreflightInputs, PreflightInputs> = {
  kind: "Preflight",
  schema: preflightSchema,
  inputKeys: ["declared"],
  identity: () => "preflight",
  replaces: () => [],
  plan(desired, actual): Operation[] {
    const refusals = preflightRefusals(desired, actual);
    if (refusals.length > 0) {
      throw new PlanError(desired.connection, "preflight", `nothing was changed on the host, because ${refusals.length === 1 ? "this" : `these ${refusals.length}`} would be refused:\n  - ${refusals.join("\n  - ")}`);
    }
    return [];
  },
  outputs: (desired) => desired,
  observe: (current) => current,
  remove: () => [],
  sysctlKeys: keysOf,
};
