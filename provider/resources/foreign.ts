/**
 * Foreign MPTCP endpoints: endpoints on a host that the stack does not declare (NetworkManager's
 * from `connection.mptcp-flags`, mptcpd's, someone's by hand). The host reports them; the stack
 * decides whether the provider leaves them (`keep`) or removes them (`remove`). Pure.
 */
import { z } from "zod";
import type { EndpointOp } from "../operations";
import type { ActualEndpoint, HostState } from "../state/types";
import { canonicalAddress } from "../validation";

/** What the provider does with endpoints the stack does not declare. */
const foreignPolicy = z.enum(["keep", "remove"], { error: "foreignEndpoints is keep (report them) or remove (delete them at every up)" });

/** The host resource's fields about foreign endpoints (the stack composes `foreignEndpoints`). */
export const foreignFields = {
  foreignEndpoints: foreignPolicy.default("keep"),
  /** The stack's endpoints on this host, as `address` or `address port N`: everything else is foreign. */
  declaredEndpoints: z.array(z.string()).default([]),
};

/** How a declared or host endpoint is named in `declaredEndpoints`. */
export function endpointKey(e: { address: string; port?: number | undefined }): string {
  return `${canonicalAddress(e.address)}${e.port !== undefined ? ` port ${e.port}` : ""}`;
}

/** An endpoint as users read it, like `ip mptcp endpoint show`: "10.0.0.2 id 1 subflow dev eno1". */
export function describeEndpoint(e: ActualEndpoint): string {
  return [e.address, e.port !== undefined ? `port ${e.port}` : "", `id ${e.id}`, ...e.flags, e.dev !== undefined ? `dev ${e.dev}` : ""].filter(Boolean).join(" ");
}

/** The host's endpoints that the stack does not declare. */
export function foreignOn(actual: HostState, declared: readonly string[]): ActualEndpoint[] {
  const keys = new Set(declared);
  return actual.endpoints.filter((e) => !keys.has(endpointKey(e)));
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
  const gone = foreignOn(before, p.declaredEndpoints).filter((e) => !after.endpoints.some((a) => endpointKey(a) === endpointKey(e)));
  return [...earlier, ...gone.filter((e) => !earlier.some((x) => endpointKey(x) === endpointKey(e)))];
}

/** The adds that put back removed foreign endpoints the host does not have again (their ids if free). */
export function restoreForeign(removed: readonly ActualEndpoint[], actual: HostState): EndpointOp[] {
  return removed
    .filter((e) => !actual.endpoints.some((a) => endpointKey(a) === endpointKey(e)))
    .map((e) => ({
      type: "endpoint",
      action: "add",
      endpoint: { address: e.address, port: e.port, id: actual.endpoints.some((a) => a.id === e.id) ? undefined : e.id, dev: e.dev, flags: e.flags.filter((f) => f !== "implicit") },
      note: "(restore foreign)",
    }));
}
