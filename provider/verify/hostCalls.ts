/**
 * The verification's programs on a host: one call of a provider/host/verify.sh function, with
 * the host library and the environment every session program gets (its PATH too: a non-root
 * login's lacks /usr/sbin, where sysctl is), values as arguments.
 */
import { sessionProgram } from "../protocol";
import { shellCommand } from "../transport/quote";

/** The functions of verify.sh. */
export type VerifyFunction = "iperf_server_start" | "iperf_server_stop" | "failover_arm" | "failover_disarm" | "sampler" | "sampler_ready" | "sampler_stop" | "buffers";

/**
 * The program that calls `fn` with `args`, then (only if the call succeeded) runs `then`, a
 * command's argument vector: the failure right after its guard is armed, in one round trip.
 */
export function verifyProgram(sudo: boolean, fn: VerifyFunction, args: ReadonlyArray<string | number>, then?: readonly string[]): string {
  const call = shellCommand([fn, ...args.map(String)]);
  return sessionProgram(sudo, ["lib", "verify"], [then ? `${call} && ${shellCommand(then)}` : call]);
}
