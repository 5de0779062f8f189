/**
 * Foreign MPTCP endpoints: endpoints on a host that the stack does not declare (NetworkManager's
 * from `connection.mptcp-flags`, mptcpd's, someone's by hand). The host reports them; the stack
 * decides whether the provider leaves them (`keep`) or removes them (`remove`). Pure.
 */
import { z } from "zod";
import { addressProblem } from "../model/address";
import { endpointText, sameEndpoint } from "../model/endpoint";
import type { EndpointOp } from "../operations";
import type { ActualEndpoint, HostState } from "../state/types";

/** What the provider does with endpoints the stack does not declare. */
const foreignPolicy = z.enum(["keep", "remove"], { error: "foreignEndpoints is keep (report them) or remove (delete them at every up)" });

/** The host resource's fields about foreign endpoints (the stack composes `foreignEndpoints`). */
export const foreignFields = {
  foreignEndpoints: foreignPolicy.default("keep"),
  /** The stack's endpoints on this host, as `address` or `address port N` (model/endpoint.ts): everything else is foreign. */
  declaredEndpoints: z
    .array(
      z.string().transform((text, ctx) => {
        const match = /^(\S+)(?: port ([1-9][0-9]{0,4}))?$/.exec(text);
        const problem = match ? addressProblem(match[1]!) : `${JSON.stringify(text)} is not "ADDRESS" or "ADDRESS port N"`;
        const port = match?.[2] !== undefined ? Number(match[2]) : undefined;
        if (problem || (port !== undefined && port > 65535)) {
          ctx.addIssue({ code: "custom", message: problem ?? `${JSON.stringify(text)}: port is 1..65535` });
          return z.NEVER;
        }
        return endpointText({ address: match![1]!, port });
      }),
    )
    .default([]),
};

/** An endpoint as users read it, like `ip mptcp endpoint show`: "10.0.0.2 id 1 subflow dev eno1". */
export function describeEndpoint(e: ActualEndpoint): string {
  return [e.address, e.port !== undefined ? `port ${e.port}` : "", `id ${e.id}`, ...e.flags, e.dev !== undefined ? `dev ${e.dev}` : ""].filter(Boolean).join(" ");
}

/** The host's endpoints that the stack does not declare. */
export function foreignOn(actual: HostState, declared: readonly string[]): ActualEndpoint[] {
  const keys = new Set(declared);
  return actual.endpoints.filter((e) => !keys.has(endpointText(e)));
}

/** With `remove`, the deletes of the foreign endpoints; with `keep`, nothing. */
export function planForeign(p: { foreignEndpoints: "keep" | "remove"; declaredEndpoints: string[] }, actual: HostState): EndpointOp[] {
  if (p.foreignEndpoints !== "remove") return [];
  return foreignOn(actual, p.declaredEndpoints).map((e) => ({ type: "endpoint", action: "delete", id: e.id, note: `(foreign: ${describeEndpoint(e)})` }));
}

/** Whether the host is as the policy wants: with `remove`, no foreign endpoint left. */
export function foreignSettled(p: { foreignEndpoints: "keep" | "remove"; declaredEndpoints: string[] }, actual: HostState): boolean {
  return p.foreignEndpoints !== "remove" || foreignOn(actual, p.declaredEndpoints).length === 0;
}

/** Every foreign endpoint `remove` has deleted so far (by address and port), as it was first seen. */
export function removedForeign(p: { declaredEndpoints: string[] }, before: HostState, after: HostState, earlier: readonly ActualEndpoint[] = []): ActualEndpoint[] {
  const gone = foreignOn(before, p.declaredEndpoints).filter((e) => !after.endpoints.some((a) => sameEndpoint(a, e)));
  return [...earlier, ...gone.filter((e) => !earlier.some((x) => sameEndpoint(x, e)))];
}

/** The adds that put back removed foreign endpoints the host does not have again (their ids if free). */
export function restoreForeign(removed: readonly ActualEndpoint[], actual: HostState): EndpointOp[] {
  return removed
    .filter((e) => !actual.endpoints.some((a) => sameEndpoint(a, e)))
    .map((e) => ({
      type: "endpoint",
      action: "add",
      endpoint: { address: e.address, port: e.port, id: actual.endpoints.some((a) => a.id === e.id) ? undefined : e.id, dev: e.dev, flags: e.flags.filter((f) => f !== "implicit") },
      note: "(restore foreign)",
    }));
}
