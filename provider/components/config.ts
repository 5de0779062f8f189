/**
 * A group of hosts' configuration (an MptcpGroup's hosts, the YAML stack's `mptcp-pulumi:hosts`):
 * its schema and the checks across hosts that no single resource can make. Pure: everything here
 * runs at preview, before any host is touched.
 */
import { isIP } from "node:net";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { connectionFileProblems, connectionSchema, hostedSchema } from "../connection";
import { endpointText } from "../model/endpoint";
import { groupRules } from "./groupRules";
import { endpointFields, endpointRules, MAX_ENDPOINTS } from "../resources/endpoint";
import { hostSchema } from "../resources/host";
import { addressList, interfaceFields } from "../resources/interface";
import { policyRouteFields, policyRouteRules } from "../resources/policyRoute";
import { sysctlSchema, sysctlValues } from "../resources/sysctl";
import { canonicalCidr, inSubnet, issueReason, propertyPath, splitCidr, type CheckFailure } from "../validation";

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, "name is lowercase letters, digits and '-' (it names the host's resources)");

/** The input properties of each resource kind a host declares: what `ignoreChanges` may name. */
export const RESOURCE_PROPERTIES = {
  mptcp: Object.keys(hostSchema.shape),
  tuning: Object.keys(sysctlSchema.shape),
  interface: [...Object.keys(hostedSchema), ...Object.keys(interfaceFields)],
  endpoint: [...Object.keys(hostedSchema), ...Object.keys(endpointFields)],
  policyRoute: [...Object.keys(hostedSchema), ...Object.keys(policyRouteFields)],
};

/** The top-level property a Pulumi property path starts with ("routes[0].dst" -> "routes"). */
export const topProperty = (path: string) => path.split(/[.[]/)[0]!;

/** Pulumi resource options for one entry's resource; `ignoreChanges` may name only `properties`. */
function entryOptions(properties: readonly string[]) {
  return z.strictObject({
    protect: z.boolean().optional(),
    retainOnDelete: z.boolean().optional(),
    ignoreChanges: z.array(z.string().refine((p) => properties.includes(topProperty(p)), `is not a property of this resource (${properties.join(", ")})`)).optional(),
    aliases: z.array(z.string().min(1, "an alias is an earlier name of this resource")).optional(),
  });
}

/** Options for every resource of a host; `aliases` are earlier names of the host (a rename keeps its resources). */
const hostOptions = z.strictObject({
  protect: z.boolean().optional(),
  retainOnDelete: z.boolean().optional(),
  // Applied to each of the host's resources that has the property.
  ignoreChanges: z
    .array(z.string().refine((p) => Object.values(RESOURCE_PROPERTIES).some((keys) => keys.includes(topProperty(p))), "is not a property of any of the host's resources"))
    .optional(),
  aliases: z.array(hostName).optional(),
});

/** Resource options as a host config writes them (`options:` on a host or an entry). */
export type ResourceOptionsConfig = z.infer<ReturnType<typeof entryOptions>>;

// Each part is the resource's own schema; a host config adds only what a host needs on top (an
// endpoint names its interface and a flag, a host its limits, any entry its resource options).
const endpointConfig = z.strictObject({
  ...endpointFields,
  dev: endpointFields.dev.unwrap(),
  flags: endpointFields.flags.refine((flags) => flags.length > 0, "give at least one flag: signal (announce) or subflow (open subflows)"),
  options: entryOptions(RESOURCE_PROPERTIES.endpoint).optional(),
});

const policyRouteConfig = z.strictObject({ ...policyRouteFields, options: entryOptions(RESOURCE_PROPERTIES.policyRoute).optional() });

// Addresses stay in the order written, so a failure's path points at the user's own entry.
const interfaceConfig = z.strictObject({ ...interfaceFields, addresses: addressList, options: entryOptions(RESOURCE_PROPERTIES.interface).optional() });

/** A host's config; `withRules` adds the resources' own rules across their fields. */
function hostConfig(withRules: boolean) {
  return z.strictObject({
    name: hostName,
    role: z.enum(["server", "client"], { error: "role is server (announces addresses with signal) or client (opens subflows)" }),
    connection: connectionSchema,
    interfaces: z.array(interfaceConfig).min(1, "declare at least one interface"),
    limits: hostSchema.shape.limits.unwrap(),
    pathManager: hostSchema.shape.pathManager,
    scheduler: hostSchema.shape.scheduler,
    endpoints: z
      .array(withRules ? endpointConfig.superRefine(endpointRules) : endpointConfig)
      .max(MAX_ENDPOINTS, `at most ${MAX_ENDPOINTS} endpoints per host (the kernel's limit)`)
      .default([]),
    policyRoutes: z.array(withRules ? policyRouteConfig.superRefine(policyRouteRules) : policyRouteConfig).default([]),
    sysctls: sysctlValues.default({}),
    foreignEndpoints: hostSchema.shape.foreignEndpoints,
    options: hostOptions.optional(),
  });
}

/** One host: its connection, interfaces, limits, endpoints, policy routes and sysctls. */
export const hostConfigSchema = hostConfig(true);

/** The hosts of a group (`mptcp-pulumi:hosts` in a YAML stack). */
export const groupConfigSchema = z.strictObject({
  hosts: z.array(hostConfigSchema).min(1, "declare at least one host"),
});

/** The same without the resources' cross-field rules: what the cross-host checks can still read. */
const fieldsOnlySchema = z.strictObject({ hosts: z.array(hostConfig(false)).min(1) });

/** A validated group of hosts. */
export type GroupConfig = z.infer<typeof groupConfigSchema>;
/** One validated host. */
export type HostConfig = z.infer<typeof hostConfigSchema>;
/** One host as written (defaults not yet applied). */
export type HostConfigInput = z.input<typeof hostConfigSchema>;

/** Every problem in the configuration, each naming its field; empty when it is sound. */
export function checkGroupConfig(raw: unknown, projectRoot: string): { config?: GroupConfig; failures: CheckFailure[] } {
  const parsed = groupConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const failures = parsed.error.issues.map((i) => ({ property: propertyPath(i.path), reason: issueReason(i) }));
    // Only a resource's own cross-field rule failed: every field is sound, so the checks across
    // hosts can run too, and one preview reports everything.
    const fields = fieldsOnlySchema.safeParse(raw);
    if (fields.success) failures.push(...crossChecks(fields.data, projectRoot));
    return { failures };
  }
  const failures = crossChecks(parsed.data, projectRoot);
  return failures.length ? { failures } : { config: parsed.data, failures };
}

/** Checks within a host and across the hosts of the group. */
export function crossChecks(config: GroupConfig, projectRoot: string): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const fail = (path: (string | number)[], reason: string) => failures.push({ property: propertyPath(path), reason });
  const names = new Set<string>();
  config.hosts.forEach((host, h) => {
    const at = (...rest: (string | number)[]) => ["hosts", h, ...rest];
    if (names.has(host.name)) fail(at("name"), `host name ${host.name} is used twice`);
    names.add(host.name);
    for (const problem of connectionFileProblems(host.connection, projectRoot)) fail(at("connection", problem.property), problem.reason);

    const ifaceNames = new Set<string>();
    const allAddresses = new Map<string, string>();
    host.interfaces.forEach((iface, i) => {
      if (ifaceNames.has(iface.name)) fail(at("interfaces", i, "name"), `interface ${iface.name} is declared twice`);
      ifaceNames.add(iface.name);
      iface.addresses.forEach((cidr, a) => {
        const address = splitCidr(cidr)!.address;
        const other = allAddresses.get(address);
        if (other) fail(at("interfaces", i, "addresses", a), `${address} is already on ${other}`);
        allAddresses.set(address, iface.name);
      });
    });

    const ids = new Map<number, number>();
    const endpointKeys = new Map<string, number>();
    host.endpoints.forEach((e, i) => {
      const key = endpointText(e);
      if (endpointKeys.has(key)) fail(at("endpoints", i, "address"), `endpoint ${key} is declared twice (also endpoints[${endpointKeys.get(key)}])`);
      endpointKeys.set(key, i);
      if (e.id !== undefined) {
        if (ids.has(e.id)) fail(at("endpoints", i, "id"), `endpoint id ${e.id} is also used by endpoints[${ids.get(e.id)}]`);
        ids.set(e.id, i);
      }
      if (!ifaceNames.has(e.dev)) fail(at("endpoints", i, "dev"), `interface ${e.dev} is not declared in interfaces`);
      const iface = host.interfaces.find((x) => x.name === e.dev);
      if (iface && !iface.addresses.some((c) => splitCidr(c)!.address === e.address)) {
        fail(at("endpoints", i, "address"), `${e.address} is not one of ${e.dev}'s addresses (${iface.addresses.join(", ") || "none"})`);
      }
    });

    const tables = new Set<number | string>();
    host.policyRoutes.forEach((p, i) => {
      if (tables.has(p.table)) fail(at("policyRoutes", i, "table"), `table ${p.table} is declared twice`);
      tables.add(p.table);
      p.routes.forEach((r, j) => {
        if (r.dev !== undefined && !ifaceNames.has(r.dev)) fail(at("policyRoutes", i, "routes", j, "dev"), `interface ${r.dev} is not declared in interfaces`);
        if (r.via !== undefined && r.dev !== undefined) {
          const iface = host.interfaces.find((x) => x.name === r.dev);
          const sameFamily = iface?.addresses.filter((c) => splitCidr(c)?.family === isIP(r.via!)) ?? [];
          // An IPv6 gateway is usually link-local (fe80::/10) and outside every configured subnet.
          if (!r.via.startsWith("fe80:") && sameFamily.length && !sameFamily.some((c) => inSubnet(r.via!, c))) {
            fail(at("policyRoutes", i, "routes", j, "via"), `gateway ${r.via} is outside ${r.dev}'s subnets (${sameFamily.join(", ")})`);
          }
        }
      });
      p.rules.forEach((rule, j) => {
        const source = rule.from;
        if (source !== "all" && !splitCidr(source) && !allAddresses.has(source)) {
          fail(at("policyRoutes", i, "rules", j, "from"), `${source} is not an address of this host's interfaces`);
        }
      });
    });
  });

  config.hosts.forEach((host, h) =>
    host.options?.aliases?.forEach((alias, a) => {
      if (names.has(alias)) fail(["hosts", h, "options", "aliases", a], `${alias} is the name of a host here: an alias is an earlier name of this host`);
    }),
  );

  failures.push(...groupRules(config), ...pairChecks(config));
  return failures;
}

/** The checks between clients and servers: limits against the paths declared, subflow reachability. */
export function pairChecks(config: GroupConfig): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const fail = (path: (string | number)[], reason: string) => failures.push({ property: propertyPath(path), reason });
  // Pair checks: every client against every server of the group.
  const servers = config.hosts.map((host, h) => ({ host, h })).filter(({ host }) => host.role === "server");
  const clients = config.hosts.map((host, h) => ({ host, h })).filter(({ host }) => host.role === "client");
  for (const { host: client, h } of clients) {
    for (const { host: server } of servers) {
      const signals = server.endpoints.filter((e) => e.flags.includes("signal")).length;
      if (client.limits.addAddrAccepted < signals) {
        fail(["hosts", h, "limits", "addAddrAccepted"], `is ${client.limits.addAddrAccepted} but server ${server.name} announces ${signals} address(es) with signal: the client would ignore them (raise it to at least ${signals})`);
      }
      const extraPaths = Math.max(signals, client.endpoints.filter((e) => e.flags.includes("subflow")).length);
      if (client.limits.subflows < extraPaths) {
        fail(["hosts", h, "limits", "subflows"], `is ${client.limits.subflows} but ${extraPaths} extra path(s) are declared towards ${server.name}: raise it to at least ${extraPaths}`);
      }
    }
    client.endpoints.forEach((e, i) => {
      if (!e.flags.includes("subflow")) return;
      const iface = client.interfaces.find((x) => x.name === e.dev);
      const own = iface?.addresses.find((c) => splitCidr(c)!.address === e.address);
      if (!own) return;
      const reachable = servers.some(({ host: server }) => server.interfaces.some((x) => x.addresses.some((c) => inSubnet(splitCidr(c)!.address, canonicalCidr(own)))));
      if (servers.length && !reachable) {
        fail(["hosts", h, "endpoints", i, "address"], `subflow address ${e.address} has no server address in its subnet ${own}: the subflow would have no path`);
      }
    });
  }
  for (const { host: server, h } of servers) {
    const joins = clients.reduce((n, { host: c }) => Math.max(n, c.endpoints.filter((e) => e.flags.includes("subflow")).length, server.endpoints.filter((e) => e.flags.includes("signal")).length), 0);
    if (server.limits.subflows < joins) {
      fail(["hosts", h, "limits", "subflows"], `is ${server.limits.subflows} but clients will open ${joins} extra subflow(s): raise it to at least ${joins}`);
    }
  }
  return failures;
}

/** The host without its resource options: what its resources are made of (options change no object on it). */
export function withoutOptions(host: HostConfig): HostConfig {
  const { options: _host, ...rest } = host;
  const strip = <T extends { options?: unknown }>({ options: _entry, ...entry }: T) => entry;
  return { ...rest, interfaces: host.interfaces.map(strip), endpoints: host.endpoints.map(strip), policyRoutes: host.policyRoutes.map(strip) } as HostConfig;
}

/** A client and the server it measures against: the server address in its first subnet. */
export interface Pair {
  server: HostConfig;
  client: HostConfig;
  target: string;
}

/** Pairs each client with the first server that has an address in the client's first subnet. */
export function pairUp(hosts: readonly HostConfig[]): Pair[] {
  const pairs: Pair[] = [];
  for (const client of hosts.filter((h) => h.role === "client")) {
    const primary = client.interfaces[0]?.addresses[0];
    if (!primary) continue;
    for (const server of hosts.filter((h) => h.role === "server")) {
      const target = server.interfaces.flatMap((i) => i.addresses).map((c) => splitCidr(c)!.address).find((a) => inSubnet(a, canonicalCidr(primary)));
      if (target) {
        pairs.push({ server, client, target });
        break;
      }
    }
  }
  return pairs;
}

/** Makes relative key and known_hosts paths absolute against the project directory. */
export function resolvePaths<T extends { privateKeyPath?: string | undefined; knownHostsPath?: string | undefined; sshConfigPath?: string | undefined }>(
  connection: T,
  base: string,
): T {
  const out = { ...connection };
  for (const key of ["privateKeyPath", "knownHostsPath", "sshConfigPath"] as const) {
    const value = out[key];
    if (value !== undefined && !isAbsolute(value)) out[key] = resolve(base, value) as T[typeof key];
  }
  return out;
}
