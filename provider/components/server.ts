/**
 * `MptcpServer`: every resource of one host (MPTCP settings and limits, interfaces, policy
 * routes, sysctl tuning, endpoints), each waiting for what levels.ts says it needs first.
 */
import * as pulumi from "@pulumi/pulumi";
import { Endpoint, MptcpHost, NetworkInterface, PolicyRoute, Preflight, SysctlTuning } from "../index";
import { projectRoot } from "../connection";
import { endpointSlug, endpointText } from "../model/endpoint";
import type { HostOutputs } from "../resources/host";
import { keeperOf } from "../keepers";
import type { HostFacts } from "../state/types";
import { checkGroupConfig, type HostConfig, type HostConfigInput } from "./config";
import { WAITS_FOR, type HostResourceKind } from "./levels";
import { childOptions, refuse, retainOf, type Child, type Retain } from "./options";

/** Inputs of an MptcpServer: the host as a stack's YAML declares it (its name is the component's). */
export type MptcpServerArgs = Omit<HostConfigInput, "name"> & {
  /** The SSH private key for this host (a secret), when neither a key file nor an agent is used. */
  privateKey?: pulumi.Input<string>;
  /** Where relative key paths are resolved; defaults to the Pulumi project (where Pulumi.yaml is). */
  projectRoot?: string;
};

/** What a host reports once configured: the same shape the YAML stack exports per host. */
export interface MptcpServerOutputs {
  /** server (announces addresses) or client (opens subflows). */
  role: HostConfig["role"];
  /** The address SSH reaches the host on. */
  address: string;
  /** What the host offers: kernel, iproute2, MPTCP availability, path managers, schedulers. */
  facts: pulumi.Output<unknown>;
  /** The path-manager limits in force. */
  limits: pulumi.Output<unknown>;
  /** Each endpoint as the kernel shows it: "id: address flags". */
  endpoints: pulumi.Output<string[]>;
  /** The sysctl values in force (empty when the host declares none). */
  tuning: pulumi.Output<Record<string, string>> | Record<string, string>;
  /** Endpoints the host has beyond the stack's (NetworkManager's, mptcpd's, by hand), as last read. */
  foreignEndpoints: pulumi.Output<string[] | undefined>;
  /** The same endpoints as records, which the group's checks count (undefined until a host was read with this version). */
  foreignSeen: pulumi.Output<HostOutputs["foreignSeen"] | undefined>;
  /** Per interface, which manager keeps its addresses, rules and routes (what `preview` shows changes going through). */
  managers: pulumi.Output<Record<string, string>>;
}

/** One MPTCP host: refuses a bad configuration before any resource is registered. */
export class MptcpServer extends pulumi.ComponentResource {
  /** The validated configuration (defaults applied). */
  readonly config: HostConfig;
  /** Every child resource, for `dependsOn` (an MptcpGroup's verification waits for them). */
  readonly resources: pulumi.CustomResource[];
  /** What the host reports: facts, limits, endpoints as the kernel shows them, tuning. */
  readonly outputs: MptcpServerOutputs;

  /** Declares the host `name`; throws a RunError listing every `{property, reason}` of a bad configuration. */
  constructor(name: string, args: MptcpServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const { privateKey, projectRoot: root, ...host } = args;
    const checked = checkGroupConfig({ hosts: [{ ...host, name }] }, root ?? projectRoot());
    if (!checked.config) refuse(`MptcpServer ${name}`, checked.failures.map((f) => ({ ...f, property: f.property.replace(/^hosts\[0\]\./, "") })));
    const config = checked.config.hosts[0]!;
    // A renamed host keeps its component too: the earlier names are aliases.
    const earlier = (config.options?.aliases ?? []).map((old) => ({ name: old }));
    super("mptcp-pulumi:index:MptcpServer", name, {}, { ...opts, aliases: [...(opts.aliases ?? []), ...earlier] });
    this.config = config;
    const declared = declareHost(this, config, privateKey, retainOf(opts));
    this.resources = declared.resources;
    this.outputs = declared.outputs;
    this.registerOutputs({ endpoints: this.outputs.endpoints });
  }
}

/** Declares the host's resources as children of `parent`. */
function declareHost(parent: MptcpServer, host: HostConfig, privateKey: pulumi.Input<string> | undefined, defaults: Retain) {
  // Relative key paths stay relative in the state; the provider resolves them in the project.
  const connection = host.connection;
  const common = { connection, ...(privateKey ? { privateKey } : {}) };
  const child = (child: Child, extra: pulumi.CustomResourceOptions = {}) => childOptions(parent, host, child, defaults, extra);
  const mptcpArgs = {
    enabled: true,
    limits: host.limits,
    ...(host.pathManager ? { pathManager: host.pathManager } : {}),
    ...(host.scheduler ? { scheduler: host.scheduler } : {}),
    foreignEndpoints: host.foreignEndpoints,
    declaredEndpoints: host.endpoints.map(endpointText),
  };
  const interfaceArgs = host.interfaces.map(({ options, ...iface }) => ({ options, args: iface }));
  const tuningArgs = Object.keys(host.sysctls).length ? { name: "tuning", values: host.sysctls } : undefined;
  const routeArgs = host.policyRoutes.map(({ options, ...p }) => ({ options, args: p }));
  const endpointArgs = host.endpoints.map(({ options, ...e }) => ({
    options,
    suffix: `endpoint-${endpointSlug(e)}`,
    args: { address: e.address, dev: e.dev, flags: e.flags, ...(e.id !== undefined ? { id: e.id } : {}), ...(e.port !== undefined ? { port: e.port } : {}) },
  }));
  // Every other resource waits for it: a refusal stops the up before the host's first change.
  const preflight = new Preflight(
    `${host.name}-preflight`,
    {
      ...common,
      declared: {
        mptcp: mptcpArgs,
        interfaces: interfaceArgs.map((i) => i.args),
        policyRoutes: routeArgs.map((r) => r.args),
        endpoints: endpointArgs.map((e) => e.args),
        tunings: tuningArgs ? [tuningArgs] : [],
      },
    },
    child({ suffix: "preflight" }),
  );
  const made: Partial<Record<HostResourceKind, pulumi.CustomResource[]>> = { Preflight: [preflight] };
  // Each kind's dependencies, from the one table of what waits for what (levels.ts).
  const after = (kind: HostResourceKind) => ({ dependsOn: WAITS_FOR[kind].flatMap((k) => made[k] ?? []) });
  const mptcp = new MptcpHost(`${host.name}-mptcp`, { ...common, ...mptcpArgs }, child({ suffix: "mptcp", kind: "mptcp" }, after("MptcpHost")));
  made.MptcpHost = [mptcp];
  const interfaces = interfaceArgs.map(({ options, args }) => new NetworkInterface(`${host.name}-${args.name}`, { ...common, ...args }, child({ suffix: args.name, kind: "interface", own: options }, after("NetworkInterface"))));
  made.NetworkInterface = interfaces;
  const tuning = tuningArgs ? new SysctlTuning(`${host.name}-tuning`, { ...common, ...tuningArgs }, child({ suffix: "tuning", kind: "tuning" }, after("SysctlTuning"))) : undefined;
  made.SysctlTuning = tuning ? [tuning] : [];
  const routes = routeArgs.map(
    ({ options, args }) => new PolicyRoute(`${host.name}-table-${args.table}`, { ...common, ...args }, child({ suffix: `table-${args.table}`, kind: "policyRoute", own: options }, after("PolicyRoute"))),
  );
  made.PolicyRoute = routes;
  const endpoints = endpointArgs.map(
    ({ options, suffix, args }) => new Endpoint(`${host.name}-${suffix}`, { ...common, ...args }, child({ suffix, kind: "endpoint", own: options }, after("Endpoint"))),
  );
  const outputs: MptcpServerOutputs = {
    role: host.role,
    address: connection.host,
    facts: mptcp.facts,
    limits: mptcp.limits,
    endpoints: pulumi.all(endpoints.map((e) => pulumi.all([e.address, e.endpointId, e.flags]))).apply((rows) => rows.map(([address, id, flags]) => `${id}: ${address} ${flags.join(" ")}`)),
    tuning: tuning ? tuning.values : {},
    foreignEndpoints: mptcp.foreign,
    foreignSeen: mptcp.foreignSeen,
    managers: mptcp.facts.apply((facts: HostFacts | undefined) => Object.fromEntries(host.interfaces.map((iface) => [iface.name, facts?.managers ? keeperOf(iface.name, { facts }).title : "unknown until the host is read"]))),
  };
  return { resources: [preflight, mptcp, ...interfaces, ...(tuning ? [tuning] : []), ...routes, ...endpoints], outputs };
}
