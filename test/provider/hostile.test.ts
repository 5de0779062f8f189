/**
 * Hostile strings in every string field of every resource: each is either refused by check,
 * naming its field, or (for fields that only ever reach local argv, like file paths) never
 * appears in anything sent to a host.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { applyScript } from "../../provider/protocol";
import { providers } from "../../provider/runtime";
import { shellQuote } from "../../provider/transport/quote";

const HOSTILE = [
  "eno1; reboot",
  "$(reboot)",
  "`reboot`",
  "eno1 && curl x",
  "a'b",
  'a"b',
  "a\nb",
  "a|b",
  "../../etc/passwd",
  "-oProxyCommand=reboot",
  "a\\b",
  "*",
  "#",
  "a b",
];

const CONNECTION = { host: "192.0.2.10" };

/** For each resource: valid inputs, and the paths of its string fields a user controls. */
const CASES: Array<{ kind: keyof typeof providers; valid: Record<string, unknown>; fields: string[][] }> = [
  { kind: "MptcpHost", valid: { connection: CONNECTION, scheduler: "default", pathManager: "kernel" }, fields: [["scheduler"], ["pathManager"]] },
  { kind: "NetworkInterface", valid: { connection: CONNECTION, name: "eno1", addresses: ["10.0.0.1/24"] }, fields: [["name"], ["addresses", "0"]] },
  {
    kind: "PolicyRoute",
    valid: { connection: CONNECTION, table: 101, rules: [{ from: "10.0.0.1" }], routes: [{ dst: "10.0.0.0/24", dev: "eno1", via: "10.0.0.254", src: "10.0.0.1", scope: "global" }] },
    fields: [["rules", "0", "from"], ["routes", "0", "dst"], ["routes", "0", "dev"], ["routes", "0", "via"], ["routes", "0", "src"], ["routes", "0", "scope"]],
  },
  { kind: "Endpoint", valid: { connection: CONNECTION, address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }, fields: [["address"], ["dev"], ["flags", "0"]] },
  { kind: "SysctlTuning", valid: { connection: CONNECTION, name: "tuning", values: { "net.ipv4.tcp_rmem": "4096 131072 33554432" } }, fields: [["name"], ["values", "net.ipv4.tcp_rmem"]] },
];

const CONNECTION_FIELDS = [["connection", "host"], ["connection", "user"], ["connection", "proxyJump"], ["connection", "hostKey"]];

function withValue(base: Record<string, unknown>, path: string[], value: string): Record<string, unknown> {
  const copy = structuredClone(base);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

function expectedProperty(path: string[]): string {
  return path.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

describe.each(CASES)("$kind", ({ kind, valid, fields }) => {
  it("accepts the valid inputs", async () => {
    expect((await providers[kind].check!({}, valid)).failures).toBeUndefined();
  });

  for (const path of [...fields, ...CONNECTION_FIELDS]) {
    it.each(HOSTILE)(`refuses %j in ${path.join(".")}, naming the field, or sends it quoted`, async (hostile) => {
      const result = await providers[kind].check!({}, withValue(valid, path, hostile));
      const failures = result.failures ?? [];
      if (path[0] === "values" && failures.length === 0) {
        // Sysctl values may hold blanks and slashes; they reach the host as one quoted word.
        expect(hostile).toMatch(/^[A-Za-z0-9_.:,\/ +-]+$/);
        const script = applyScript([{ type: "sysctl", key: path[1]!, value: hostile }]);
        expect(script).toContain(`sysctl -q -w ${shellQuote(`${path[1]}=${hostile}`)}`);
        expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(`${path[1]}=${hostile}`)}`], { encoding: "utf8" })).toBe(`${path[1]}=${hostile}`);
        return;
      }
      expect(failures.length).toBeGreaterThan(0);
      const wanted = expectedProperty(path);
      // zod names record keys' values by key; every failure must point into the hostile field.
      // A failure without a property ("") names no field: it does not count.
      expect(failures.some((f) => f.property !== "" && (f.property === wanted || f.property.startsWith(`${wanted}.`) || f.property.startsWith(`${wanted}[`) || wanted.startsWith(f.property)))).toBe(true);
    });
  }
});

describe("local-only fields", () => {
  it("never put a key path into the remote script: it only reaches ssh's argv", () => {
    const script = applyScript([{ type: "sysctl", key: "net.ipv4.tcp_rmem", value: "4096 131072 33554432" }]);
    expect(script).not.toContain("id_ed25519");
  });
});
