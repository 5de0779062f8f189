/**
 * MPTCP verification: a resource whose create and update measure, between a server and a
 * client, single-path TCP against MPTCP (iperf3 through mptcpize), the MP_JOIN counters, each
 * path's subflows on both ends and a timeline of the bytes per link, and judge every path by its
 * role (active paths carry traffic, backup paths joined and stand by). Optionally a failover:
 * a path fails mid-transfer and comes back. Its outputs are the proof, kept in the stack. It
 * runs again when its trigger (the pair's configuration) changes; refresh does not measure, so
 * a drift check never sends test traffic.
 *
 * This module also owns the stack's `mptcp-pulumi:verify` schema: the stack config imports it.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { connectionSchema, machineOf, privateKeySchema, usesSudo } from "../connection";
import { canonicalJson, checkInputs, inputsFrom } from "../resource";
import type { ProviderContext } from "../context";
import { interfaceName, ipAddress, parseOrThrow } from "../validation";
import { FAILURE_KINDS, formatTable, measurePair, netnsInjector, sshInjector, type FailoverSpec, type Injector, type MeasuredHost, type PairResult } from "../verify";

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, "name is lowercase letters, digits and '-'");
const seconds = (what: string, min: number, max: number, fallback: number) =>
  z.number().min(min, `${what} is ${min}..${max} seconds`).max(max, `${what} is ${min}..${max} seconds`).default(fallback);
const argv = z.array(z.string().min(1)).min(1, "give the command as a list of words, e.g. [ip, link, set, eno1, down]");
const commandPair = z.strictObject({ fail: argv, restore: argv });

/** How the failover fails a path: from this machine's netns lab, or with commands on a host. */
export const injectSchema = z.discriminatedUnion("via", [
  z.strictObject({
    via: z.literal("netns"),
    /** The network namespace holding the server's end of the path (default: the server's name). */
    netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a network namespace name").optional(),
  }),
  z.strictObject({
    via: z.literal("ssh"),
    /** Which host of the pair runs the commands. */
    host: z.enum(["server", "client"]),
    carrier: commandPair.optional(),
    drop: commandPair.optional(),
    /** The host runs the restore by itself after this long, even if the failure cut the session. */
    guardSeconds: z.number().int().min(5, "guardSeconds is 5..600").max(600, "guardSeconds is 5..600").default(60),
  }),
]);

/** Failover options, shared by the stack config and the resource. */
export const failoverSchema = z
  .strictObject({
    /** The client link whose path fails (default: the client's first link, the initial subflow's). */
    path: interfaceName.optional(),
    kinds: z.array(z.enum(FAILURE_KINDS)).min(1, "kinds lists carrier and/or drop").default([...FAILURE_KINDS]),
    before: seconds("before", 1, 30, 3),
    during: seconds("during", 1, 60, 4),
    // A path silently dropped for a while comes back only when TCP's backed-off retransmission
    // timer fires again: give it a few seconds.
    after: seconds("after", 1, 60, 6),
    inject: injectSchema,
  })
  .superRefine((f, ctx) => {
    if (f.inject.via !== "ssh") return;
    for (const kind of f.kinds) {
      if (!f.inject[kind]) ctx.addIssue({ code: "custom", path: ["inject", kind], message: `give the fail and restore commands for ${kind} (or leave ${kind} out of kinds)` });
    }
  });

/** `mptcp-pulumi:verify`: measure each pair at up, optionally with a failover (absent: no measurement). */
export const verifyConfigSchema = z
  .strictObject({
    seconds: z.number().int().min(1, "seconds is 1..60").max(60, "seconds is 1..60").default(3),
    runs: z.number().int().min(1, "runs is 1..5").max(5, "runs is 1..5").default(1),
    failover: failoverSchema.optional(),
  })
  .optional();

/** Validated `mptcp-pulumi:verify`. */
export type VerifyConfig = NonNullable<z.infer<typeof verifyConfigSchema>>;

const pathSchema = z.strictObject({ dev: interfaceName, role: z.enum(["active", "backup"]).default("active"), peerDev: interfaceName.optional() });

/** Verification inputs. */
export const verificationSchema = z
  .strictObject({
    server: z.strictObject({ name: hostName, connection: connectionSchema }),
    client: z.strictObject({ name: hostName, connection: connectionSchema, paths: z.array(pathSchema).min(1, "list the client's data links") }),
    privateKey: privateKeySchema,
    target: ipAddress,
    seconds: z.number().int().min(1, "seconds is 1..60").max(60, "seconds is 1..60").default(3),
    runs: z.number().int().min(1, "runs is 1..5").max(5, "runs is 1..5").default(1),
    failover: failoverSchema.optional(),
    trigger: z.string().default(""),
  })
  .superRefine((v, ctx) => {
    const devs = v.client.paths.map((p) => p.dev);
    const path = v.failover?.path;
    if (path !== undefined && !devs.includes(path)) ctx.addIssue({ code: "custom", path: ["failover", "path"], message: `${path} is not one of the client's paths (${devs.join(", ")})` });
    if (v.failover && v.client.paths.length < 2) ctx.addIssue({ code: "custom", path: ["failover"], message: "a failover needs at least two paths" });
    const failed = v.client.paths.find((p) => p.dev === (path ?? devs[0]));
    if (v.failover?.inject.via === "netns" && failed && !failed.peerDev) {
      ctx.addIssue({ code: "custom", path: ["client", "paths"], message: `path ${failed.dev} has no peerDev: the netns failover fails the path at the server's end` });
    }
  });

/** Validated verification inputs. */
export type VerificationInputs = z.infer<typeof verificationSchema>;
/** Outputs: the inputs and the measurement. */
export type VerificationOutputs = VerificationInputs & { result: PairResult; measuredAt: string };

/** What failoverOf reads: the pair's names and paths, and the failover options. */
export type FailoverInputs = Pick<VerificationInputs, "failover"> & { server: { name: string }; client: { name: string; paths: VerificationInputs["client"]["paths"] } };

/** The failover of a measurement, with its injector built from the inputs. */
export function failoverOf(inputs: FailoverInputs, hosts: { server: Pick<MeasuredHost, "transport" | "sudo">; client: Pick<MeasuredHost, "transport" | "sudo"> }): FailoverSpec | undefined {
  const f = inputs.failover;
  if (!f) return undefined;
  const path = f.path ?? inputs.client.paths[0]!.dev;
  const failed = inputs.client.paths.find((p) => p.dev === path)!;
  let injector: Injector;
  if (f.inject.via === "netns") {
    injector = netnsInjector(f.inject.netns ?? inputs.server.name, failed.peerDev!);
  } else {
    const host = f.inject.host === "server" ? inputs.server.name : inputs.client.name;
    injector = sshInjector(host, hosts[f.inject.host].transport, hosts[f.inject.host].sudo, { ...(f.inject.carrier ? { carrier: f.inject.carrier } : {}), ...(f.inject.drop ? { drop: f.inject.drop } : {}) }, f.inject.guardSeconds);
  }
  return { path, kinds: f.kinds, windows: { before: f.before, during: f.during, after: f.after }, injector };
}

async function measure(context: ProviderContext, inputs: VerificationInputs): Promise<VerificationOutputs> {
  const server = context.sessionFor(inputs.server.connection, inputs.privateKey);
  const client = context.sessionFor(inputs.client.connection, inputs.privateKey);
  const hosts = {
    server: { name: inputs.server.name, transport: server.transport, sudo: usesSudo(inputs.server.connection) },
    client: { name: inputs.client.name, transport: client.transport, sudo: usesSudo(inputs.client.connection) },
  };
  const result = await measurePair({
    ...hosts,
    paths: inputs.client.paths,
    target: inputs.target,
    seconds: inputs.seconds,
    runs: inputs.runs,
    failover: failoverOf(inputs, hosts),
  });
  if (!result.ok) throw new Error(`MPTCP verification failed:\n${formatTable([result])}`);
  return { ...inputs, result, measuredAt: new Date().toISOString() };
}

const INPUT_KEYS = ["server", "client", "privateKey", "target", "seconds", "runs", "failover", "trigger"] as const;

function parse(raw: unknown): VerificationInputs {
  return parseOrThrow("MptcpVerification", verificationSchema, inputsFrom(raw, INPUT_KEYS));
}

/** The dynamic provider for MptcpVerification, on the process's sessions. */
export const verificationProviderFor = (context: ProviderContext): pulumi.dynamic.ResourceProvider => ({
  async check(_olds: unknown, rawNews: unknown) {
    return checkInputs(verificationSchema, rawNews, (inputs) => [
      ["server.connection", inputs.server.connection],
      ["client.connection", inputs.client.connection],
    ], context.projectRoot);
  },
  async diff(_id: string, olds: VerificationOutputs, rawNews: unknown) {
    const news = parse(rawNews);
    // Credentials are how we log in, not what is measured: of each connection only the machine counts.
    const measured = (v: VerificationInputs) => ({ ...v, privateKey: undefined, server: { ...v.server, connection: machineOf(v.server.connection) }, client: { ...v.client, connection: machineOf(v.client.connection) } });
    const changed = INPUT_KEYS.some((k) => canonicalJson(measured(olds)[k]) !== canonicalJson(measured(news)[k]));
    return { changes: changed, replaces: [] };
  },
  async create(raw: unknown) {
    const inputs = parse(raw);
    return { id: `verify/${inputs.client.name}->${inputs.server.name}`, outs: await measure(context, inputs) };
  },
  async update(_id: string, _olds: VerificationOutputs, raw: unknown) {
    return { outs: await measure(context, parse(raw)) };
  },
  async read(id: string, props?: VerificationOutputs) {
    // Refresh keeps the last proof: measuring sends traffic, which a drift check must not.
    return { id, props: props ?? {} };
  },
  async delete() {
    // Nothing on the hosts belongs to a measurement.
  },
});
