/**
 * The stack program: both servers of an MPTCP pair (or several pairs) in one stack.
 *
 * Reads `mptcp-pulumi:hosts` from Pulumi.<stack>.yaml, refuses bad configuration before any host
 * is touched, then declares per host: the MPTCP settings and limits, the interfaces, the policy
 * routing tables, the sysctl tuning, and the endpoints, in the order they depend on each other.
 */
import * as pulumi from "@pulumi/pulumi";
import { Endpoint, MptcpHost, NetworkInterface, PolicyRoute, SysctlTuning } from "../provider";
import { checkStackConfig, type HostConfig } from "./config";

const config = new pulumi.Config();
const checked = checkStackConfig({ hosts: config.requireObject<unknown>("hosts") });
if (!checked.config) {
  const lines = checked.failures.map((f) => `  mptcp-pulumi:${f.property}: ${f.reason}`);
  throw new pulumi.RunError(`invalid stack configuration (nothing was changed on any host):\n${lines.join("\n")}`);
}
// Optional: the private key as a secret (`pulumi config set --secret privateKey < key`), for all hosts.
const privateKey = config.getSecret("privateKey");

/** Declares every resource of one host; returns what the stack exports for it. */
function declareHost(host: HostConfig) {
  // Relative key paths stay relative in the state; the provider resolves them in the project.
  const connection = host.connection;
  const common = { connection, ...(privateKey ? { privateKey } : {}) };
  const mptcp = new MptcpHost(`${host.name}-mptcp`, {
    ...common,
    enabled: true,
    limits: host.limits,
    ...(host.pathManager ? { pathManager: host.pathManager } : {}),
    ...(host.scheduler ? { scheduler: host.scheduler } : {}),
  });
  const interfaces = host.interfaces.map(
    (iface) =>
      new NetworkInterface(`${host.name}-${iface.name}`, {
        ...common,
        name: iface.name,
        addresses: iface.addresses,
        ...(iface.mtu !== undefined ? { mtu: iface.mtu } : {}),
      }),
  );
  const tuning = Object.keys(host.sysctls).length
    ? new SysctlTuning(`${host.name}-tuning`, { ...common, name: "tuning", values: host.sysctls })
    : undefined;
  const routes = host.policyRoutes.map(
    (p) => new PolicyRoute(`${host.name}-table-${p.table}`, { ...common, table: p.table, rules: p.rules, routes: p.routes }, { dependsOn: interfaces }),
  );
  const endpoints = host.endpoints.map(
    (e) =>
      new Endpoint(
        `${host.name}-endpoint-${e.address}${e.port !== undefined ? `-${e.port}` : ""}`,
        { ...common, address: e.address, dev: e.dev, flags: e.flags, ...(e.id !== undefined ? { id: e.id } : {}), ...(e.port !== undefined ? { port: e.port } : {}) },
        { dependsOn: [mptcp, ...interfaces, ...routes] },
      ),
  );
  return {
    role: host.role,
    address: connection.host,
    facts: mptcp.facts,
    limits: mptcp.limits,
    endpoints: pulumi.all(endpoints.map((e) => pulumi.all([e.address, e.endpointId, e.flags]))).apply((rows) =>
      rows.map(([address, id, flags]) => `${id}: ${address} ${flags.join(" ")}`),
    ),
    tuning: tuning ? tuning.values : {},
  };
}

/** Per host: facts, limits, endpoints and tuning. */
export const hosts = Object.fromEntries(checked.config.hosts.map((host) => [host.name, declareHost(host)]));
