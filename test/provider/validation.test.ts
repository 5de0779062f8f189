import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  canonicalCidr,
  cidrAddress,
  interfaceName,
  InvalidInputError,
  inSubnet,
  parseOrThrow,
  propertyPath,
  splitCidr,
  sysctlKey,
  sysctlValue,
  tableId,
  toFailures,
  validate,
} from "../../provider/validation";

/** The messages zod reports for `value`, or [] when it is accepted. */
function reasons(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.message);
}

function expectRefused(schema: z.ZodType, value: unknown, reason: string): void {
  const messages = reasons(schema, value);
  expect(messages, `${JSON.stringify(value)} should be refused`).not.toEqual([]);
  expect(messages.some((m) => m.includes(reason)), `messages: ${JSON.stringify(messages)}`).toBe(true);
}

describe("interfaceName", () => {
  it.each(["eno1", "eth0.100", "veth-a_b", "br@x", "a", "x".repeat(15)])("accepts %j", (name) => {
    expect(reasons(interfaceName, name)).toEqual([]);
  });

  it("refuses the empty name", () => {
    expectRefused(interfaceName, "", "empty");
  });

  it("refuses names longer than 15 characters (IFNAMSIZ)", () => {
    expectRefused(interfaceName, "x".repeat(16), "at most 15");
  });

  it("refuses a '/' in the name", () => {
    expectRefused(interfaceName, "eth/0", "'/'");
  });

  it("refuses a ':' in the name", () => {
    expectRefused(interfaceName, "eth0:1", "':'");
  });

  it.each([".", ".."])("refuses %j", (name) => {
    expectRefused(interfaceName, name, "'.' or '..'");
  });

  it.each(["eth 0", "eth\t0", "eth0\n", " eth0"])("refuses whitespace in %j", (name) => {
    expectRefused(interfaceName, name, "whitespace or shell metacharacters");
  });

  it.each(["a;b", "$(id)", "`id`", "a|b", "a&b", "a>b", "a'b", 'a"b', "a*", "a?", "a\\b", "a#b", "~a", "a!b", "a{b}", "a[0]"])(
    "refuses the shell metacharacters in %j",
    (name) => {
      expectRefused(interfaceName, name, "shell metacharacters");
    },
  );

  it("refuses a leading '-' (it would be read as an option)", () => {
    expectRefused(interfaceName, "-eno1", "do not start with '-'");
  });

  it("refuses non-ASCII letters", () => {
    expectRefused(interfaceName, "éth0", "letters, digits");
  });
});

describe("cidrAddress", () => {
  it.each(["10.0.0.1/24", "192.168.0.1/32", "10.0.0.0/31", "2001:db8::1/64", "fd00::1/128", "fe80::1/10"])("accepts %j", (cidr) => {
    expect(reasons(cidrAddress, cidr)).toEqual([]);
  });

  it.each(["256.0.0.1/24", "10.0.0.300/24", "10.0.0/24", "10.0.0.1.1/24", "10.0.0.x/24", "/24"])("refuses the bad address of %j", (cidr) => {
    expectRefused(cidrAddress, cidr, "is not an IPv4 or IPv6 address");
  });

  it("refuses an IPv4 prefix above 32", () => {
    expectRefused(cidrAddress, "10.0.0.1/33", "IPv4 prefix 0..32");
  });

  it("refuses an IPv6 prefix above 128", () => {
    expectRefused(cidrAddress, "2001:db8::1/129", "IPv6 0..128");
  });

  it("refuses an address without a prefix", () => {
    expectRefused(cidrAddress, "10.0.0.1", "is not an address with prefix");
  });

  it.each(["10.0.0.1/", "10.0.0.1/-1", "10.0.0.1/2a", "10.0.0.1/24/8", "10.0.0.1/1234", "10.0.0.1/024"])("refuses the malformed prefix of %j", (cidr) => {
    expectRefused(cidrAddress, cidr, "is not an address with prefix");
  });

  it("names the refused input in the reason", () => {
    expectRefused(cidrAddress, "10.0.0.1/33", '"10.0.0.1/33"');
  });
});

describe("splitCidr, canonicalCidr and inSubnet", () => {
  it("splits an IPv4 CIDR into address, prefix and family", () => {
    expect(splitCidr("10.0.0.1/24")).toEqual({ address: "10.0.0.1", prefix: 24, family: 4 });
  });

  it("splits an IPv6 CIDR into address, prefix and family", () => {
    expect(splitCidr("2001:db8::1/64")).toEqual({ address: "2001:db8::1", prefix: 64, family: 6 });
  });

  it("takes no prefix with a leading zero (ip reads /024 as the octal /20)", () => {
    expect(canonicalCidr("10.0.0.1/024")).toBe("10.0.0.1/024");
  });

  it("finds an address inside its subnet", () => {
    expect(inSubnet("192.168.0.254", "192.168.0.1/24")).toBe(true);
  });

  it("finds an address outside a subnet", () => {
    expect(inSubnet("192.168.1.1", "192.168.0.1/24")).toBe(false);
  });

  it("puts every address inside 0.0.0.0/0", () => {
    expect(inSubnet("203.0.113.7", "0.0.0.0/0")).toBe(true);
  });
});

describe("tableId", () => {
  it.each([1, 100, 252, 256, 4294967295])("accepts table %d", (table) => {
    expect(reasons(tableId, table)).toEqual([]);
  });

  it("refuses table 0 (unspecified)", () => {
    expectRefused(tableId, 0, "0 is unspecified");
  });

  it.each([253, 254, 255])("refuses the reserved table %d", (table) => {
    expectRefused(tableId, table, "reserved by the kernel");
  });

  it("refuses 2^32", () => {
    expectRefused(tableId, 2 ** 32, "32-bit");
  });

  it("refuses a fractional table id", () => {
    expectRefused(tableId, 101.5, "integers");
  });
});

describe("sysctlKey", () => {
  it.each(["net.ipv4.tcp_rmem", "net.mptcp.enabled", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0/100.rp_filter"])(
    "accepts %j",
    (key) => {
      expect(reasons(sysctlKey, key)).toEqual([]);
    },
  );

  it.each(["kernel.modprobe", "kernel.core_pattern", "fs.protected_symlinks", "vm.swappiness", "dev.raid.speed_limit_min", "abi.vsyscall32"])("refuses %j: only net.* keys (some others hand out root)", (key) => {
    expectRefused(sysctlKey, key, "only net.* keys are tuned here");
  });

  it.each(["net", "net.", "net..ipv4", "net.ipv4.tcp_rmem ", "net.ipv4;reboot", "net.ipv4.$(id)", ".net.ipv4"])(
    "refuses the malformed key %j",
    (key) => {
      expectRefused(sysctlKey, key, "dotted names");
    },
  );
});

describe("sysctlValue", () => {
  it("turns a number into its decimal text", () => {
    expect(sysctlValue.parse(2)).toBe("2");
  });

  it.each(["1", "-1", "4096 131072 33554432", "4096\t131072\t33554432", "bbr", "fq_codel", "10.0.0.1", "1:2,3/4+5"])("accepts %j", (value) => {
    expect(reasons(sysctlValue, value)).toEqual([]);
  });

  it.each(["1\n", "1\nnet.ipv4.ip_forward=1", "1\r"])("refuses the newline in %j", (value) => {
    expectRefused(sysctlValue, value, "single line");
  });

  it.each(["", "   ", "\t"])("refuses the empty value %j", (value) => {
    expectRefused(sysctlValue, value, "cannot be empty");
  });

  it.each(["1; reboot", "$(id)", "`id`", "1 && reboot", "1|cat", "'1'", '"1"', "a*", "1 > /etc/passwd"])(
    "refuses the shell metacharacters in %j",
    (value) => {
      expectRefused(sysctlValue, value, "may only contain");
    },
  );

  it("refuses a fractional number", () => {
    expect(reasons(sysctlValue, 1.5)).not.toEqual([]);
  });
});

describe("propertyPath and toFailures", () => {
  it("joins keys with dots and puts indexes in brackets", () => {
    expect(propertyPath(["routes", 0, "dst"])).toBe("routes[0].dst");
  });

  it("handles nested arrays", () => {
    expect(propertyPath(["hosts", 1, "policyRoutes", 0, "routes", 2, "via"])).toBe("hosts[1].policyRoutes[0].routes[2].via");
  });

  it("gives the empty string for the root", () => {
    expect(propertyPath([])).toBe("");
  });

  it("gives a path from a zod issue of an array element", () => {
    const schema = z.object({ routes: z.array(z.object({ dst: cidrAddress })) });
    const result = schema.safeParse({ routes: [{ dst: "10.0.0.1/33" }] });
    expect(result.success).toBe(false);
    const failures = toFailures((result as { error: z.ZodError }).error);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.property).toBe("routes[0].dst");
    expect(failures[0]!.reason).toContain("is not an address with prefix");
  });

  it("gives one failure per issue", () => {
    const schema = z.object({ table: tableId, name: interfaceName });
    const result = validate(schema, { table: 254, name: "a;b" });
    expect(result.ok).toBe(false);
    const properties = (result as { failures: { property: string }[] }).failures.map((f) => f.property);
    expect(properties).toContain("table");
    expect(properties).toContain("name");
  });
});

describe("validate and parseOrThrow", () => {
  it("returns the parsed value when valid", () => {
    expect(validate(sysctlValue, 3)).toEqual({ ok: true, value: "3" });
  });

  it("throws InvalidInputError listing every failure with its property", () => {
    const schema = z.object({ table: tableId });
    let error: unknown;
    try {
      parseOrThrow("PolicyRoute", schema, { table: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).failures.map((f) => f.property)).toEqual(["table"]);
    expect((error as Error).message).toMatch(/^invalid PolicyRoute: table: /);
  });
});
