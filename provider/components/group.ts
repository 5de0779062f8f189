/**
 * `MptcpGroup`: the hosts of one or more MPTCP pairs, checked against each other before any
 * resource is registered, each an MptcpServer, and optionally each client's proof against its
 * server (MptcpVerification).
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { machineOf, projectRoot } from "../connection";
import { MptcpVerification } from "../index";
import { verifyConfigSchema, type VerifyConfig } from "../resources/verification";
import { propertyPath, type CheckFailure } from "../validation";
import { checkGroupConfig, pairUp, withoutOptions, type GroupConfig, type HostConfig, type HostConfigInput } from "./config";
import { foreignChecks } from "./foreign";
import { childOptions, refuse, retainOf, type Retain } from "./options";
import { verificationPaths } from "./paths";
import { MptcpServer, type MptcpServerOutputs } from "./server";

/** Inputs of an MptcpGroup. */
export interface MptcpGroupArgs {
  /** The hosts, as a YAML stack's `mptcp-pulumi:hosts` declares them. */
  hosts: HostConfigInput[];
  /** Measure each client against its server at up (`{seconds, runs, failover}`); leave out for no test traffic. */
  verify?: z.input<typeof verifyConfigSchema>;
  /** The SSH private key for every host (a secret), when neither key files nor an agent are used. */
  privateKey?: pulumi.Input<string>;
  /** Where relative key paths are resolved; defaults to the Pulumi project (where Pulumi.yaml is). */
  projectRoot?: string;
}

/** A group's arguments checked once: every failure, and the parsed hosts and verification when sound. */
function checkedGroup(args: Pick<MptcpGroupArgs, "hosts" | "verify">, root: string) {
  const hosts = checkGroupConfig({ hosts: args.hosts }, root);
  const verify = verifyConfigSchema.safeParse(args.verify);
  const failures = [...hosts.failures];
  if (!verify.success) {
    for (const issue of verify.error.issues) failures.push({ property: `verify${issue.path.length ? `.${propertyPath(issue.path)}` : ""}`, reason: issue.message });
  }
  return { failures, hosts: hosts.config?.hosts ?? [], verify: verify.data };
}

/** Every problem in a group's arguments as `{property, reason}`; empty when they are sound. Pure: touches no host. */
export function checkGroup(args: Pick<MptcpGroupArgs, "hosts" | "verify" | "projectRoot">): CheckFailure[] {
  return checkedGroup(args, args.projectRoot ?? projectRoot()).failures;
}

/** The verification a client's outputs carry, rounded for reading. */
function summary(server: string, measured: MptcpVerification) {
  return measured.result.apply((r) => ({
    server,
    tcpMbps: Math.round(r.tcpMbps * 10) / 10,
    mptcpMbps: Math.round(r.mptcpMbps * 10) / 10,
    ratio: Math.round(r.ratio * 100) / 100,
    joins: r.joins,
    paths: r.paths.map((p) => ({ dev: p.dev, role: p.role, sharePercent: Math.round(p.share * 1000) / 10, subflows: p.subflows })),
    failover: r.failover.map(({ timeline: _samples, ...f }) => f),
    // A proof recorded before the window analysis existed has none.
    ...(r.window ? { window: r.window.verdict } : {}),
    ok: r.ok,
  }));
}

/** Hosts that belong together (servers and the clients that reach them), checked across hosts. */
export class MptcpGroup extends pulumi.ComponentResource {
  /** Each host's component, by host name. */
  readonly servers: Record<string, MptcpServer>;
  /** Per host: facts, limits, endpoints, tuning, and for clients the verification result. */
  readonly hosts: Record<string, MptcpServerOutputs & { verification?: pulumi.Output<unknown> }>;

  /** Declares the group; throws a RunError listing every `{property, reason}` of a bad configuration. */
  constructor(name: string, args: MptcpGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    const root = args.projectRoot ?? projectRoot();
    const { failures, hosts, verify } = checkedGroup(args, root);
    if (failures.length) refuse(`MptcpGroup ${name}`, failures);
    super("mptcp-pulumi:index:MptcpGroup", name, {}, opts);
    const key = args.privateKey ? { privateKey: args.privateKey } : {};
    const retain = retainOf(opts);

    this.servers = Object.fromEntries(
      args.hosts.map((host) => {
        const { name: hostName, ...rest } = host;
        return [hostName, new MptcpServer(hostName, { ...rest, ...key, projectRoot: root }, { parent: this, ...retain })];
      }),
    );
    this.hosts = Object.fromEntries(Object.entries(this.servers).map(([hostName, server]) => [hostName, { ...server.outputs }]));
    this.checkForeign({ hosts });
    if (verify) for (const pair of pairUp(hosts)) this.verifyPair(pair, verify, key, retain);
    this.registerOutputs({});
  }

  /**
   * The pair checks again once the hosts were read (`--refresh`), counting the endpoints they have
   * beyond the stack's (NetworkManager's, mptcpd's) where the stack keeps them.
   */
  private checkForeign(config: GroupConfig) {
    const reported = Object.fromEntries(Object.entries(this.servers).map(([hostName, server]) => [hostName, pulumi.all([server.outputs.foreignSeen, server.outputs.foreignEndpoints])]));
    pulumi.all(reported).apply((foreign) => {
      for (const [hostName, [seen, listed]] of Object.entries(foreign)) {
        // A state written before foreignSeen existed lists them for people only.
        if (seen === undefined && listed?.length) pulumi.log.warn(`${hostName}: its foreign MPTCP endpoints were read by an older mptcp-pulumi; run with --refresh so the limits checks count them`);
      }
      const failures = foreignChecks(config, Object.fromEntries(Object.entries(foreign).map(([hostName, [seen]]) => [hostName, seen ?? []])));
      if (failures.length) {
        throw new pulumi.RunError(`the hosts' foreign MPTCP endpoints break the stack's limits:\n${failures.map((f) => `  mptcp-pulumi:${f.property}: ${f.reason}`).join("\n")}`);
      }
    });
  }

  /** The client's proof against its server, measured once both are configured and again whenever either changes. */
  private verifyPair({ server, client, target }: { server: HostConfig; client: HostConfig; target: string }, verify: VerifyConfig, key: { privateKey?: pulumi.Input<string> }, defaults: Retain) {
    const measured = new MptcpVerification(
      `${client.name}-verify`,
      {
        server: { name: server.name, connection: server.connection },
        client: { name: client.name, connection: client.connection, paths: verificationPaths(server, client) },
        ...key,
        target,
        seconds: verify.seconds,
        runs: verify.runs,
        ...(verify.failover ? { failover: verify.failover } : {}),
        // Options change no object on a host and credentials are not what is measured, so neither
        // calls for a new measurement (a rotated key must not send test traffic).
        trigger: createHash("sha256")
          .update(JSON.stringify([server, client].map((h) => ({ ...withoutOptions(h), connection: machineOf(h.connection) }))))
          .digest("hex")
          .slice(0, 16),
      },
      childOptions(this, client, { suffix: "verify" }, defaults, { dependsOn: [...this.servers[server.name]!.resources, ...this.servers[client.name]!.resources] }),
    );
    this.hosts[client.name]!.verification = summary(server.name, measured);
  }
}
