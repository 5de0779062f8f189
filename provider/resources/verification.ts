/**
 * MPTCP verification: a resource whose create and update measure, between a server and a
 * client, single-path TCP against MPTCP (iperf3 through mptcpize), the MP_JOIN counters and the
 * bytes per link, and fail when no second path joined. Its outputs are the proof, kept in the
 * stack. It runs again when its trigger (the pair's configuration) changes; refresh does not
 * measure, so a drift check never sends test traffic.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { connectionSchema, privateKeySchema } from "../connection";
import { canonicalJson, checkInputs, inputsFrom } from "../resource";
import type { ProviderContext } from "../context";
import { interfaceName, ipAddress, parseOrThrow } from "../validation";
import { formatTable, measurePair, type PairResult } from "../verify";

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, "name is lowercase letters, digits and '-'");

/** Verification inputs. */
export const verificationSchema = z.strictObject({
  server: z.strictObject({ name: hostName, connection: connectionSchema }),
  client: z.strictObject({ name: hostName, connection: connectionSchema, devs: z.array(interfaceName).min(1, "list the client's data links") }),
  privateKey: privateKeySchema,
  target: ipAddress,
  seconds: z.number().int().min(1, "seconds is 1..60").max(60, "seconds is 1..60").default(3),
  runs: z.number().int().min(1, "runs is 1..5").max(5, "runs is 1..5").default(1),
  trigger: z.string().default(""),
});

/** Validated verification inputs. */
export type VerificationInputs = z.infer<typeof verificationSchema>;
/** Outputs: the inputs and the measurement. */
export type VerificationOutputs = VerificationInputs & { result: PairResult; measuredAt: string };

async function measure(context: ProviderContext, inputs: VerificationInputs): Promise<VerificationOutputs> {
  const server = context.sessionFor(inputs.server.connection, inputs.privateKey);
  const client = context.sessionFor(inputs.client.connection, inputs.privateKey);
  const result = await measurePair({
    server: { name: inputs.server.name, transport: server.transport },
    client: { name: inputs.client.name, transport: client.transport, devs: inputs.client.devs },
    target: inputs.target,
    seconds: inputs.seconds,
    runs: inputs.runs,
  });
  if (!result.ok) throw new Error(`MPTCP verification failed:\n${formatTable([result])}`);
  return { ...inputs, result, measuredAt: new Date().toISOString() };
}

const INPUT_KEYS = ["server", "client", "privateKey", "target", "seconds", "runs", "trigger"] as const;

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
    const changed = INPUT_KEYS.some((k) => k !== "privateKey" && canonicalJson(olds[k]) !== canonicalJson(news[k]));
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
