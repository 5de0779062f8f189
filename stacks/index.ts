/**
 * The stack program: both servers of an MPTCP pair (or several pairs) in one stack.
 *
 * Reads `mptcp-pulumi:hosts` from Pulumi.<stack>.yaml, refuses bad configuration before any host
 * is touched, then declares per host: the MPTCP settings and limits, the interfaces, the policy
 * routing tables, the sysctl tuning, and the endpoints, in the order they depend on each other.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { Endpoint, MptcpHost, MptcpVerification, NetworkInterface, PolicyRoute, SysctlTuning } from "../provider";
import { machineOf, projectRoot } from "../provider/connection";
import { endpointKey } from "../provider/resources/foreign";
import { reportErrorsPlainly } from "../provider/plainErrors";
import { propertyPath } from "../provider/validation";
import { checkStackConfig, pairUp, verifyConfigSchema, type HostConfig } from "./config";
import { foreignChecks } from "./foreign";
import type { InterfaceManager } from "../provider/state/types";
import { verificationPaths } from "./verification";

reportErrorsPlainly();
const config = new pulumi.Config();
const checked = checkStackConfig({ hosts: config.requireObject<unknown>("hosts") }, projectRoot());
const verify = verifyConfigSchema.safeParse(config.getObject<unknown>("verify"));
if (!verify.success) {
  for (const issue of verify.error.issues) checked.failures.push({ property: `verify${issue.path.length ? `.${propertyPath(issue.path)}` : ""}`, reason: issue.message });
}
if (!checked.config || !verify.success) {
  const lines = checked.failures.map((f) => `  mptcp-pulumi:${f.property}: ${f.reason}`);
  throw new pulumi.RunError(`invalid stack configuration (nothing was changed on any host):\n${lines.join("\n")}`);
}
// Optional: the private key as a secret (`pulumi config set --secret privateKey < key`), for all hosts.
const privateKey = config.getSecret("privateKey");

/** Who keeps an interface's addresses, rules and routes, as the stack outputs name it. */
function keeperOf(m: InterfaceManager | undefined): string {
  if (m?.kind === "NetworkManager") return m.connection ? `NetworkManager (connection ${m.connection.id})` : "NetworkManager (no active connection)";
  if (m?.kind === "networkd") return m.netplan ? "netplan (systemd-networkd)" : "systemd-networkd";
  if (m?.kind === "ifupdown") return "ifupdown (not written through: mptcp-pulumi.service)";
  return "mptcp-pulumi.service (boot replay)";
}

/** Declares every resource of one host; returns them and what the stack exports for it. */
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
    foreignEndpoints: host.foreignEndpoints,
    declaredEndpoints: host.endpoints.map(endpointKey),
  });
  const interfaces = host.interfaces.map(
    (iface) =>
      new NetworkInterface(`${host.name}-${iface.name}`, { ...common, ...iface }),
  );
  const tuning = Object.keys(host.sysctls).length
    ? new SysctlTuning(`${host.name}-tuning`, { ...common, name: "tuning", values: host.sysctls })
    : undefined;
  const routes = host.policyRoutes.map(
    (p) => new PolicyRoute(`${host.name}-table-${p.table}`, { ...common, ...p }, { dependsOn: interfaces }),
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
    resources: [mptcp, ...interfaces, ...(tuning ? [tuning] : []), ...routes, ...endpoints],
    outputs: {
      role: host.role,
      address: connection.host,
      facts: mptcp.facts,
      limits: mptcp.limits,
      endpoints: pulumi.all(endpoints.map((e) => pulumi.all([e.address, e.endpointId, e.flags]))).apply((rows) =>
        rows.map(([address, id, flags]) => `${id}: ${address} ${flags.join(" ")}`),
      ),
      tuning: tuning ? tuning.values : {},
      foreignEndpoints: mptcp.foreign,
      // Which manager keeps each interface's configuration (what `preview` shows changes going through).
      managers: mptcp.facts.apply((facts) => Object.fromEntries(host.interfaces.map((iface) => [iface.name, keeperOf(facts?.managers?.interfaces[iface.name])]))),
    } as Record<string, unknown>,
  };
}

const declared = new Map(checked.config.hosts.map((host) => [host.name, declareHost(host)]));

// Endpoints the hosts have beyond the stack's (NetworkManager's, mptcpd's), as last read, count
// in the pair checks where the stack keeps them; known once the hosts were read (`--refresh`).
const stackConfig = checked.config;
pulumi.all(Object.fromEntries([...declared].map(([name, host]) => [name, host.outputs["foreignEndpoints"] as pulumi.Output<string[] | undefined>]))).apply((foreign) => {
  const failures = foreignChecks(stackConfig, Object.fromEntries(Object.entries(foreign).map(([name, list]) => [name, list ?? []])));
  if (failures.length) {
    throw new pulumi.RunError(`the hosts' foreign MPTCP endpoints break the stack's limits:\n${failures.map((f) => `  mptcp-pulumi:${f.property}: ${f.reason}`).join("\n")}`);
  }
});

// The proof, kept in the stack: each client measured against its server once both are
// configured, and again whenever either's configuration changes.
if (verify.data) {
  for (const { server, client, target } of pairUp(checked.config.hosts)) {
    const measured = new MptcpVerification(
      `${client.name}-verify`,
      {
        server: { name: server.name, connection: server.connection },
        client: { name: client.name, connection: client.connection, paths: verificationPaths(server, client) },
        ...(privateKey ? { privateKey } : {}),
        target,
        seconds: verify.data.seconds,
        runs: verify.data.runs,
        ...(verify.data.failover ? { failover: verify.data.failover } : {}),
        // Credentials are not what is measured: a rotated key must not send test traffic.
        trigger: createHash("sha256").update(JSON.stringify([server, client].map((h) => ({ ...h, connection: machineOf(h.connection) })))).digest("hex").slice(0, 16),
      },
      { dependsOn: [...declared.get(server.name)!.resources, ...declared.get(client.name)!.resources] },
    );
    declared.get(client.name)!.outputs["verification"] = measured.result.apply((r) => ({
      server: server.name,
      tcpMbps: Math.round(r.tcpMbps * 10) / 10,
      mptcpMbps: Math.round(r.mptcpMbps * 10) / 10,
      ratio: Math.round(r.ratio * 100) / 100,
      joins: r.joins,
      paths: r.paths.map((p) => ({ dev: p.dev, role: p.role, sharePercent: Math.round(p.share * 1000) / 10, subflows: p.subflows })),
      failover: r.failover.map(({ timeline: _samples, ...f }) => f),
      ok: r.ok,
    }));
  }
}

/** Per host: facts, limits, endpoints, tuning, and for clients the verification result. */
export const hosts = Object.fromEntries([...declared].map(([name, host]) => [name, host.outputs]));
