/**
 * Input validation shared by every resource: zod schemas for the kernel's rules, and the
 * conversion of zod issues into Pulumi's `{property, reason}` check failures.
 */
import { z } from "zod";
import { addressProblem, canonicalAddress, hostBitsProblem, interfaceAddressProblem, splitCidr, unicastProblem } from "./model/address";

export { canonicalAddress, canonicalCidr, inSubnet, splitCidr } from "./model/address";

/** A check failure as Pulumi's dynamic providers return it. */
export interface CheckFailure {
  property: string;
  reason: string;
}

/** "routes[0].dst" from a zod issue path. */
export function propertyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Turns a zod error into check failures, one per issue, each naming its field. */
export function toFailures(error: z.ZodError): CheckFailure[] {
  return error.issues.map((issue) => ({ property: propertyPath(issue.path), reason: issueReason(issue) }));
}

/** zod reports a bad record key as "Invalid key in record"; the key schema's own message says why. */
export function issueReason(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key" && issue.issues[0]) return `${JSON.stringify(issue.path.at(-1) ?? "")}: ${issue.issues[0].message}`;
  return issue.message;
}

/** Parses `value`; returns the typed value or the failures, never throws. */
export function validate<T>(schema: z.ZodType<T>, value: unknown): { ok: true; value: T } | { ok: false; failures: CheckFailure[] } {
  const result = schema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : { ok: false, failures: toFailures(result.error) };
}

/** Thrown by `create`/`update`/`delete` when inputs bypassed `check`; lists every failure. */
export class InvalidInputError extends Error {
  constructor(
    readonly resource: string,
    readonly failures: CheckFailure[],
  ) {
    super(`invalid ${resource}: ${failures.map((f) => `${f.property || "(input)"}: ${f.reason}`).join("; ")}`);
    this.name = "InvalidInputError";
  }
}

/** Parses or throws InvalidInputError. */
export function parseOrThrow<T>(resource: string, schema: z.ZodType<T>, value: unknown): T {
  const result = validate(schema, value);
  if (!result.ok) throw new InvalidInputError(resource, result.failures);
  return result.value;
}

const SHELL_META = /[\s;&|<>()$`\\"'*?[\]{}#~!]/;

/** A Linux interface name: 1..15 bytes, no '/', ':' or whitespace, no shell metacharacters. */
export const interfaceName = z
  .string()
  .min(1, "interface name is empty")
  .max(15, "interface names are at most 15 characters (IFNAMSIZ)")
  .refine((n) => !n.includes("/") && !n.includes(":") && n !== "." && n !== "..", "interface names cannot contain '/' or ':' or be '.' or '..'")
  .refine((n) => !SHELL_META.test(n), "interface names cannot contain whitespace or shell metacharacters")
  .refine((n) => /^[A-Za-z0-9_.@-]+$/.test(n) && !n.startsWith("-"), "interface names use letters, digits, '_', '-', '.' and '@' and do not start with '-'");

/** An IPv4 or IPv6 address without a prefix, in the kernel's spelling. */
export const ipAddress = z
  .string()
  .superRefine((a, ctx) => {
    const problem = addressProblem(a);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform(canonicalAddress);

/** A host's own unicast address (an endpoint's, a route's source): no unspecified, loopback, multicast or broadcast address. */
export const unicastAddress = ipAddress.superRefine((a, ctx) => {
  const problem = unicastProblem(a);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** Why text is not an address with its prefix, or undefined. */
function cidrProblem(c: string): string | undefined {
  const slash = c.indexOf("/");
  const address = slash > 0 ? c.slice(0, slash) : c;
  const problem = addressProblem(address);
  if (problem) return problem;
  if (!splitCidr(c)) return `${JSON.stringify(c)} is not an address with prefix (e.g. 10.0.0.1/24; IPv4 prefix 0..32, IPv6 0..128, no leading zeros)`;
  return undefined;
}

/** An interface address in CIDR form with a prefix that fits its family, and an address a host may carry. */
export const cidrAddress = z.string().superRefine((c, ctx) => {
  const problem = cidrProblem(c) ?? interfaceAddressProblem(c);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A route destination: "default", a network in CIDR form without host bits, or one address (a host route). */
export const routeDestination = z.string().superRefine((d, ctx) => {
  if (d === "default") return;
  const problem = d.includes("/") ? (cidrProblem(d) ?? hostBitsProblem(d)) : addressProblem(d);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A rule's source selector: an address, or a network in CIDR form without host bits. */
export const ruleSource = z.string().superRefine((s, ctx) => {
  const problem = s.includes("/") ? (cidrProblem(s) ?? hostBitsProblem(s)) : addressProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A routing table id the user may own: 1..2^32-1, except local (255), main (254) and default (253). */
export const tableId = z
  .number()
  .int("table ids are integers")
  .min(1, "table ids start at 1 (0 is unspecified)")
  .max(4294967295, "table ids are 32-bit (at most 4294967295)")
  .refine((t) => t < 253 || t > 255, "tables 253 (default), 254 (main) and 255 (local) are reserved by the kernel");

/** A sysctl key in dotted form under a namespace we know (net, vm, kernel, fs). */
export const sysctlKey = z
  .string()
  // A '/' stands for a '.' inside an interface name (VLAN eth0.100: net.ipv4.conf.eth0/100.rp_filter), as sysctl -a prints it.
  .regex(/^[a-z]+(\.[A-Za-z0-9_/-]+){1,6}$/, "sysctl keys are dotted names (letters, digits, '_', '-', and '/' for a '.' in an interface name)")
  // kernel.*, vm.* and fs.* hold root-equivalent keys (kernel.modprobe, kernel.core_pattern, fs.protected_symlinks) and are not networking.
  .refine((k) => k.startsWith("net."), "only net.* keys are tuned here (kernel.*, vm.* and fs.* are outside MPTCP networking, and some of them hand out root)");

/** Vector sysctls and how many numbers each takes: a short write keeps the old tail (the kernel fills nothing in). */
const SYSCTL_VECTORS: Readonly<Record<string, number>> = {
  "net.ipv4.tcp_rmem": 3,
  "net.ipv4.tcp_wmem": 3,
  "net.ipv4.tcp_mem": 3,
  "net.ipv4.udp_mem": 3,
  "net.ipv4.ip_local_port_range": 2,
};

/** Why a sysctl value would not mean what it says on the host, if it would not: octal or hex numbers, short vectors. */
export function sysctlValueProblem(key: string, value: string): string | undefined {
  const words = value.trim().split(/\s+/);
  // The kernel parses integers in base 0: 010 is 8 and 0x20 is 32, and reads back in decimal.
  const odd = words.find((w) => /^-?0\d+$/.test(w) || /^-?0x/i.test(w));
  if (odd !== undefined) return `${odd} is read by the kernel as ${/x/i.test(odd) ? "hexadecimal" : "octal"}; write the number in decimal (${Number.parseInt(odd, /x/i.test(odd) ? 16 : 8)})`;
  const want = SYSCTL_VECTORS[key];
  if (want !== undefined && words.length !== want) return `${key} takes ${want} numbers (got ${words.length}); a shorter value keeps the old tail`;
  return undefined;
}

/** A sysctl value: one line of words (numbers, names, addresses), tabs or spaces between them. */
export const sysctlValue = z
  .union([z.number().int("numeric sysctl values are integers"), z.string()])
  .transform((v) => String(v))
  .refine((v) => !/[\r\n]/.test(v), "sysctl values are a single line (no newlines)")
  .refine((v) => v.trim() !== "", "sysctl values cannot be empty")
  .refine((v) => /^[A-Za-z0-9_.:,\/ \t+-]+$/.test(v), "sysctl values may only contain letters, digits, blanks and . : , / _ + -");



