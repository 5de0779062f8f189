/**
 * The resources a stack program declares. Each is a Pulumi dynamic resource whose provider is a
 * small shim (shim.ts) forwarding to the compiled provider runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { ConnectionInput } from "./connection";
import type { EndpointOutputs, endpointSchema } from "./resources/endpoint";
import type { HostOutputs, hostSchema } from "./resources/host";
import type { InterfaceOutputs, interfaceSchema } from "./resources/interface";
import type { PolicyRouteOutputs, policyRouteSchema } from "./resources/policyRoute";
import type { preflightSchema } from "./resources/preflight";
import type { SysctlOutputs, sysctlSchema } from "./resources/sysctl";
import type { verificationSchema } from "./resources/verification";
import type { PairResult } from "./verify";
import { providerModule } from "./shim";
import type { ResourceKind } from "./runtime";

export type { ConnectionInput } from "./connection";
export type { HostFacts, MptcpLimits } from "./state/types";

/** Every top-level property may be a Pulumi Input; the private key should be a secret. */
type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Inputs of an MPTCP host. */
export type MptcpHostArgs = Args<Omit<z.input<typeof hostSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };
/** Inputs of a network interface. */
export type NetworkInterfaceArgs = Args<Omit<z.input<typeof interfaceSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };
/** Inputs of a policy route. */
export type PolicyRouteArgs = Args<Omit<z.input<typeof policyRouteSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };
/** Inputs of an MPTCP endpoint. */
export type EndpointArgs = Args<Omit<z.input<typeof endpointSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };
/** Inputs of a host's preflight. */
export type PreflightArgs = Args<Omit<z.input<typeof preflightSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };
/** Inputs of a sysctl tuning set. */
export type SysctlTuningArgs = Args<Omit<z.input<typeof sysctlSchema>, "connection">> & { connection: pulumi.Input<ConnectionInput> };

/** Declares the output properties (undefined inputs) so Pulumi reports them after create. */
function withOutputs<T extends object>(args: T, outputs: readonly string[]): Record<string, unknown> {
  return { ...Object.fromEntries(outputs.map((o) => [o, undefined])), ...args };
}

/** Keeps the private key secret in state even when the caller passed it in plain text. */
function secretKeyOptions(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey"] };
}

/**
 * A dynamic resource whose `__provider` is our own small module (shim.ts) rather than a
 * serialized closure; to the engine it is exactly what `pulumi.dynamic.Resource` registers.
 */
abstract class MptcpResource extends pulumi.CustomResource {
  protected constructor(kind: ResourceKind, name: string, args: object, outputs: readonly string[], opts: pulumi.CustomResourceOptions | undefined) {
    super(`pulumi-nodejs:dynamic/mptcp:${kind}`, name, { ...withOutputs(args, outputs), __provider: providerModule(kind) }, secretKeyOptions(opts));
  }
}

/**
 * Every object a host declares, planned against the host before anything changes on it; a
 * refusal stops the `up` there. The host's other resources depend on it. Holds nothing on the host.
 */
export class Preflight extends MptcpResource {
  /** Declares the preflight of one host. */
  constructor(name: string, args: PreflightArgs, opts?: pulumi.CustomResourceOptions) {
    super("Preflight", name, args, [], opts);
  }
}

/** Host-wide MPTCP settings (enabled, path manager, scheduler, limits) and the host's facts. */
export class MptcpHost extends MptcpResource {
  /** What the host offers: kernel, iproute2, MPTCP availability, path managers, schedulers. */
  declare readonly facts: pulumi.Output<HostOutputs["facts"]>;
  /** The path-manager limits in force. */
  declare readonly limits: pulumi.Output<HostOutputs["limits"]>;
  /** Whether net.mptcp.enabled is 1. */
  declare readonly enabled: pulumi.Output<boolean>;
  /** MPTCP endpoints on the host that the stack does not declare (NetworkManager's, mptcpd's, by hand). */
  declare readonly foreign: pulumi.Output<string[]>;
  /** The same endpoints as records (address, port, id, dev, flags). */
  declare readonly foreignSeen: pulumi.Output<HostOutputs["foreignSeen"]>;

  /** Declares the MPTCP settings of one host. */
  constructor(name: string, args: MptcpHostArgs, opts?: pulumi.CustomResourceOptions) {
    super("MptcpHost", name, args, ["facts", "previous", "persisted", "limits", "enabled", "foreign", "foreignSeen"], opts);
  }
}

/** An existing interface that must be up, with addresses and an optional MTU. */
export class NetworkInterface extends MptcpResource {
  /** Addresses present on the link (of those declared). */
  declare readonly addresses: pulumi.Output<InterfaceOutputs["addresses"]>;
  /** Addresses this resource added and will remove on delete. */
  declare readonly addedAddresses: pulumi.Output<string[]>;
  /** The kernel's operational state (UP, DOWN, LOWERLAYERDOWN...). */
  declare readonly operState: pulumi.Output<string>;
  /** Which keeper keeps its addresses: kernel (the boot replay), ifupdown, netplan, networkd or networkmanager. */
  declare readonly through: pulumi.Output<InterfaceOutputs["through"]>;

  /** Declares an interface's state. */
  constructor(name: string, args: NetworkInterfaceArgs, opts?: pulumi.CustomResourceOptions) {
    super("NetworkInterface", name, args, ["addresses", "addedAddresses", "operState", "persisted", "through", "kept"], opts);
  }
}

/** A routing table with its `from` rules and routes (routing per source address). */
export class PolicyRoute extends MptcpResource {
  /** Rules that look up the table. */
  declare readonly rules: pulumi.Output<PolicyRouteOutputs["rules"]>;
  /** Routes in the table. */
  declare readonly routes: pulumi.Output<PolicyRouteOutputs["routes"]>;
  /** Per interface, which keeper keeps the table's items there. */
  declare readonly through: pulumi.Output<PolicyRouteOutputs["through"]>;
  /** The table's number on the host (a table declared by name is looked up in its rt_tables). */
  declare readonly tableId: pulumi.Output<number>;

  /** Declares one policy routing table. */
  constructor(name: string, args: PolicyRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super("PolicyRoute", name, args, ["rules", "routes", "persisted", "through", "tableId", "kept"], opts);
  }
}

/** An MPTCP endpoint (ip mptcp endpoint) with its flags. */
export class Endpoint extends MptcpResource {
  /** The endpoint id the kernel uses. */
  declare readonly endpointId: pulumi.Output<number>;
  /** The flags the kernel reports. */
  declare readonly flags: pulumi.Output<EndpointOutputs["flags"]>;
  /** The address. */
  declare readonly address: pulumi.Output<string>;

  /** Declares one MPTCP endpoint. */
  constructor(name: string, args: EndpointArgs, opts?: pulumi.CustomResourceOptions) {
    super("Endpoint", name, args, ["endpointId", "persisted"], opts);
  }
}

/** Inputs of an MPTCP verification between a server and a client. */
export type MptcpVerificationArgs = Args<Omit<z.input<typeof verificationSchema>, "server" | "client">> & {
  server: pulumi.Input<{ name: string; connection: ConnectionInput }>;
  client: pulumi.Input<{ name: string; connection: ConnectionInput; paths: Array<{ dev: string; role?: "active" | "backup"; peerDev?: string }> }>;
};

/** Measures TCP against MPTCP between two hosts at up and fails when a path does not work in its role. */
export class MptcpVerification extends MptcpResource {
  /** Throughputs, ratio, MP_JOIN counters, paths by role, timelines and failovers of the last measurement. */
  declare readonly result: pulumi.Output<PairResult>;
  /** When it was measured. */
  declare readonly measuredAt: pulumi.Output<string>;

  /** Declares a measurement; it runs at create and whenever its inputs change. */
  constructor(name: string, args: MptcpVerificationArgs, opts?: pulumi.CustomResourceOptions) {
    super("MptcpVerification", name, args, ["result", "measuredAt"], opts);
  }
}

/** A named set of sysctl values, persisted in /etc/sysctl.d and restored on delete. */
export class SysctlTuning extends MptcpResource {
  /** The values in force. */
  declare readonly values: pulumi.Output<SysctlOutputs["values"]>;
  /** The values before this resource changed them. */
  declare readonly previous: pulumi.Output<Record<string, string>>;

  /** Declares a sysctl set. */
  constructor(name: string, args: SysctlTuningArgs, opts?: pulumi.CustomResourceOptions) {
    super("SysctlTuning", name, args, ["previous", "persisted"], opts);
  }
}
