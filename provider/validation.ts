/**
 * Input validation shared by every resource: zod schemas for the kernel's rules, and the
 * conversion of zod issues into Pulumi's `{property, reason}` check failures.
 */
import { isIP } from "node:net";
import { z } from "zod";

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

/** The kernel's spelling of an address: IPv6 lowercased and compressed ("2001:DB8:0::2" -> "2001:db8::2"). */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** An IPv4 or IPv6 address without a prefix, in the kernel's spelling. */
export const ipAddress = z
  .string()
  .refine((a) => isIP(a) !== 0, { error: (issue) => `${JSON.stringify(issue.input)} is not an IPv4 or IPv6 address` })
  .transform(canonicalAddress);

/** Splits "10.0.0.1/24" into its address and prefix length, or undefined when malformed. */
export function splitCidr(cidr: string): { address: string; prefix: number; family: 4 | 6 } | undefined {
  const slash = cidr.indexOf("/");
  if (slash <= 0) return undefined;
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  const family = isIP(address);
  if (family === 0 || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: family as 4 | 6 };
}

/** An interface address in CIDR form with a prefix that fits its family. */
export const cidrAddress = z.string().refine(
  (c) => splitCidr(c) !== undefined,
  { error: (issue) => `${JSON.stringify(issue.input)} is not an address with prefix (e.g. 10.0.0.1/24; IPv4 prefix 0..32, IPv6 0..128)` },
);

/** A route destination: "default" or a network in CIDR form. */
export const routeDestination = z.string().refine(
  (d) => d === "default" || splitCidr(d) !== undefined,
  { error: (issue) => `${JSON.stringify(issue.input)} is neither "default" nor a network in CIDR form` },
);

/** A rule's source selector: an address, or a network in CIDR form. */
export const ruleSource = z.string().refine(
  (s) => isIP(s) !== 0 || splitCidr(s) !== undefined,
  { error: (issue) => `${JSON.stringify(issue.input)} is not an address or a network in CIDR form` },
);

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
  .regex(
    /^(net|vm|kernel|fs)(\.[A-Za-z0-9_-]+){1,6}$/,
    "sysctl keys are dotted names under net., vm., kernel. or fs. (letters, digits, '_' and '-')",
  );

/** A sysctl value: one line of words (numbers, names, addresses), tabs or spaces between them. */
export const sysctlValue = z
  .union([z.number().int("numeric sysctl values are integers"), z.string()])
  .transform((v) => String(v))
  .refine((v) => !/[\r\n]/.test(v), "sysctl values are a single line (no newlines)")
  .refine((v) => v.trim() !== "", "sysctl values cannot be empty")
  .refine((v) => /^[A-Za-z0-9_.:,\/ \t+-]+$/.test(v), "sysctl values may only contain letters, digits, blanks and . : , / _ + -");

/** Normalizes an address/prefix so "10.0.0.1/24" and "10.0.0.01/24" never diff spuriously. */
export function canonicalCidr(cidr: string): string {
  const parts = splitCidr(cidr);
  return parts ? `${canonicalAddress(parts.address)}/${parts.prefix}` : cidr;
}

/** An address as a big integer, for prefix comparisons in either family. */
function addressBits(address: string): bigint {
  if (isIP(address) === 4) return address.split(".").reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
  const [head = "", tail = ""] = canonicalAddress(address).split("::");
  const groups = (part: string) => (part ? part.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const all = address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return all.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/** True when `address` lies inside network `cidr`; addresses of the other family never do. */
export function inSubnet(address: string, cidr: string): boolean {
  const net = splitCidr(cidr);
  if (!net || isIP(address) !== net.family) return false;
  const width = net.family === 4 ? 32n : 128n;
  const shift = width - BigInt(net.prefix);
  return addressBits(address) >> shift === addressBits(net.address) >> shift;
}
