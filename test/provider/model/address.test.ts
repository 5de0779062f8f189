/**
 * What the kernel and ip refuse, or misuse, in an address, each rule with a value that must be
 * refused (naming why) and a spelling that must be accepted; each rule's comment names the kernel
 * or iproute2 function it comes from.
 */
import { describe, expect, it } from "vitest";
import { endpointSchema } from "../../../provider/resources/endpoint";
import { interfaceSchema } from "../../../provider/resources/interface";
import { policyRouteSchema } from "../../../provider/resources/policyRoute";
import { canonicalAddress, networkOf } from "../../../provider/model/address";
import { checkFailures, CONNECTION } from "../../support/fixtures";

const iface = (addresses: string[]) => checkFailures(interfaceSchema, { connection: CONNECTION, name: "eno1", addresses });
const endpoint = (address: string) => checkFailures(endpointSchema, { connection: CONNECTION, address, dev: "eno1", flags: ["subflow"] });
const table = (input: Record<string, unknown>) => checkFailures(policyRouteSchema, { connection: CONNECTION, table: 101, ...input });

describe("address spellings", () => {
  // iproute2 lib/utils.c get_prefix_1: inet_pton refuses a zone id; Node's isIP takes it and new URL() used to crash on it.
  it("refuses a zone id in every address field, naming the field, instead of crashing", () => {
    expect(iface(["fe80::1%eno1/64"])).toEqual([{ property: "addresses[0]", reason: expect.stringContaining("has a zone id") }]);
    expect(endpoint("fe80::1%25eno1")).toEqual([{ property: "address", reason: expect.stringContaining("has a zone id") }]);
    expect(table({ rules: [{ from: "fe80::1%eno1" }] })[0]).toEqual({ property: "rules[0].from", reason: expect.stringContaining("zone id") });
    expect(table({ routes: [{ dst: "default", via: "fe80::1%eno1", dev: "eno1" }] })[0]).toEqual({ property: "routes[0].via", reason: expect.stringContaining("zone id") });
  });

  // glibc inet_ntop prints mapped and compatible addresses with a dotted tail: a host would never match our spelling.
  it("refuses an IPv4 address written as IPv6", () => {
    expect(endpoint("::ffff:10.0.0.1")[0]?.reason).toContain("is an IPv4 address written as IPv6: write 10.0.0.1");
    expect(endpoint("::FFFF:0a00:0001")[0]?.reason).toContain("write 10.0.0.1");
  });

  // iproute2 get_addr_ipv4 reads octets with strtoul(..., 0): 010 is 8.
  it("refuses a leading zero in an IPv4 octet, saying ip reads it as octal", () => {
    expect(endpoint("010.0.0.1")[0]?.reason).toContain("leading zero in an octet, which ip reads as octal");
  });

  it("compares uppercase and padded IPv6 spellings as the kernel prints them (RFC 5952)", () => {
    expect(canonicalAddress("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalAddress("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(canonicalAddress("fd00:0:0:0:0:0:0:0")).toBe("fd00::");
    expect(iface(["2001:DB8:0::2/64"])).toEqual([]);
  });
});

describe("addresses a host carries", () => {
  // net/ipv4/devinet.c __inet_insert_ifa drops a zero local address; net/ipv6/addrconf.c refuses ::, ::1, multicast.
  it.each([
    ["0.0.0.0/8", "unspecified"],
    ["127.0.0.5/8", "loopback"],
    ["224.0.0.5/24", "multicast"],
    ["255.255.255.255/32", "limited broadcast"],
    ["::1/128", "loopback"],
    ["ff02::5/64", "multicast"],
    ["10.0.0.0/24", "network address of its subnet"],
    ["10.0.0.255/24", "broadcast address of its subnet"],
    ["2001:db8::1/0", "prefix length 0"],
  ])("refuses %j on an interface (%s)", (cidr, why) => {
    expect(iface([cidr])).toEqual([{ property: "addresses[0]", reason: expect.stringContaining(why) }]);
  });

  it("accepts the edges that are real hosts: a /31 and a /32", () => {
    expect(iface(["10.0.0.0/31", "10.0.0.255/32"])).toEqual([]);
  });

  // net/mptcp/pm_kernel.c stores any address: the schema is the only check.
  it.each(["0.0.0.0", "::", "224.0.0.1", "127.0.0.1", "ff02::1"])("refuses endpoint address %j", (address) => {
    expect(endpoint(address)).toEqual([{ property: "address", reason: expect.any(String) }]);
  });
});

describe("prefixes in rules and routes", () => {
  // net/ipv4/fib_frontend.c rtm_to_fib_config: "Invalid prefix for given prefix length"; IPv6 masks silently.
  it("refuses host bits in a route destination, naming the network it means", () => {
    expect(table({ routes: [{ dst: "10.0.0.7/24", dev: "eno1" }] })).toEqual([{ property: "routes[0].dst", reason: expect.stringContaining("write the network, 10.0.0.0/24") }]);
    expect(table({ routes: [{ dst: "2001:db8::1/64", dev: "eno1" }] })[0]?.reason).toContain("2001:db8::/64");
    expect(networkOf("10.0.0.7/24")).toBe("10.0.0.0/24");
  });

  // net/ipv4/fib_rules.c keeps the bits but matches the prefix: two spellings, two rules.
  it("refuses host bits in a rule's source", () => {
    expect(table({ rules: [{ from: "10.0.0.1/24" }] })[0]).toEqual({ property: "rules[0].from", reason: expect.stringContaining("10.0.0.0/24") });
  });

  it("takes a bare address as a host route", () => {
    expect(table({ routes: [{ dst: "10.0.0.7", dev: "eno1" }] })).toEqual([]);
  });
});
