/**
 * The YAML-driven stack program: one consumer of the package's MptcpGroup.
 *
 * Reads `mptcp-pulumi:hosts` and `mptcp-pulumi:verify` from Pulumi.<stack>.yaml, refuses bad
 * configuration (naming each field) before any host is touched, then declares the group.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkGroup, MptcpGroup, reportErrorsPlainly, type HostConfigInput } from "../provider/package";
import { traceProcess, tracerFromEnv } from "../provider/trace";

// The benchmark's profile (bench/profile.ts): when this program started and the CPU it used.
traceProcess(tracerFromEnv(), "program");
reportErrorsPlainly();
const config = new pulumi.Config();
const args = { hosts: config.requireObject<HostConfigInput[]>("hosts"), verify: config.getObject<{ seconds?: number }>("verify") };
const failures = checkGroup(args);
if (failures.length) {
  const lines = failures.map((f) => `  mptcp-pulumi:${f.property}: ${f.reason}`);
  throw new pulumi.RunError(`invalid stack configuration (nothing was changed on any host):\n${lines.join("\n")}`);
}
// Optional: the private key as a secret (`pulumi config set --secret privateKey < key`), for all hosts.
const privateKey = config.getSecret("privateKey");
const group = new MptcpGroup("mptcp", { ...args, ...(privateKey ? { privateKey } : {}) });

/** Per host: facts, limits, endpoints, tuning, and for clients the verification result. */
export const hosts = group.hosts;
