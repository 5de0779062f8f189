/** MPTCP endpoint operations. Endpoints are family-free: the address says which family. */
import type { ActualEndpoint, EndpointFlag } from "../state/types";
import type { Noted, OperationFamily } from "./types";

/** An endpoint as `ip mptcp endpoint add` takes it. */
export interface EndpointSpec {
  address: string;
  port?: number | undefined;
  id?: number | undefined;
  dev?: string | undefined;
  flags: readonly string[];
}

/** Flags `ip mptcp endpoint change` can flip. */
export type ChangeableFlag = "backup" | "fullmesh";

/**
 * Adds an endpoint, deletes one by id, flips its changeable flags, or deletes the one with an
 * address (and port) whatever id the kernel chose: the undo of an add that named no id.
 */
export type EndpointOp = Noted & { type: "endpoint" } & (
    | { action: "add"; endpoint: EndpointSpec }
    | { action: "delete"; id: number }
    | { action: "change"; id: number; flags: Partial<Record<ChangeableFlag, boolean>> }
    | { action: "deleteByAddress"; address: string; port?: number | undefined }
  );

/** `ip mptcp endpoint add ...` arguments. */
export function endpointAddArgs(e: EndpointSpec): string[] {
  const args = ["mptcp", "endpoint", "add", e.address];
  if (e.port !== undefined) args.push("port", String(e.port));
  if (e.id !== undefined) args.push("id", String(e.id));
  if (e.dev !== undefined) args.push("dev", e.dev);
  args.push(...e.flags);
  return args;
}

/** The add that recreates an endpoint the host had, with its id. */
function restoreEndpoint(old: ActualEndpoint): EndpointOp {
  const flags = old.flags.filter((f: EndpointFlag) => f !== "implicit");
  return { type: "endpoint", action: "add", endpoint: { address: old.address, port: old.port, id: old.id, dev: old.dev, flags }, note: "(restore)" };
}

/** Endpoint operations never cut the session; each is undone from the endpoints the host had. */
export const endpointFamily: OperationFamily<EndpointOp> = {
  render(op) {
    switch (op.action) {
      case "add":
        return { kind: "ip", args: endpointAddArgs(op.endpoint) };
      case "delete":
        return { kind: "ip", args: ["mptcp", "endpoint", "delete", "id", String(op.id)] };
      case "change": {
        const words = (Object.entries(op.flags) as Array<[ChangeableFlag, boolean]>).map(([flag, on]) => (on ? flag : `no${flag}`));
        return { kind: "ip", args: ["mptcp", "endpoint", "change", "id", String(op.id), ...words] };
      }
      case "deleteByAddress":
        // The kernel may have chosen the id: the host finds it by address and port.
        return { kind: "call", fn: "endpoint_delete_at", args: [op.address, op.port === undefined ? "" : String(op.port)] };
    }
  },
  mayCut: () => false,
  dependsOn: () => ["mptcp"],
  describe: (op) => (op.action === "deleteByAddress" ? `remove endpoint ${op.address}${op.port !== undefined ? ` port ${op.port}` : ""}` : undefined),
  inverse(op, before): EndpointOp[] {
    switch (op.action) {
      case "add":
        return [{ type: "endpoint", action: "deleteByAddress", address: op.endpoint.address, port: op.endpoint.port, note: "(undo)" }];
      case "deleteByAddress": {
        const old = before.endpoints.find((e) => e.address === op.address && e.port === op.port);
        return old ? [restoreEndpoint(old)] : [];
      }
      case "delete": {
        const old = before.endpoints.find((e) => e.id === op.id);
        return old ? [restoreEndpoint(old)] : [];
      }
      case "change": {
        const old = before.endpoints.find((e) => e.id === op.id);
        if (!old) return [];
        const flags = Object.fromEntries(Object.keys(op.flags).map((flag) => [flag, old.flags.includes(flag as ChangeableFlag)]));
        return [{ type: "endpoint", action: "change", id: op.id, flags, note: "(restore)" }];
      }
    }
  },
};
