import { describe, expect, it } from "vitest";
import {
  normalizeSysctlValue,
  parseEndpointsJson,
  parseEndpointsText,
  parseIproute2Version,
  parseLimits,
  parseLinks,
  parseRules,
  parseSysctls,
  versionAtLeast,
} from "../../../provider/state/probe";
import { parseProbe, splitSections } from "../../../provider/protocol";
import type { ActualEndpoint } from "../../../provider/state/types";
import { fixtureText, hostState, PROBE_5_15, PROBE_6_1, TEXT_FORMS_6_1 } from "../../support/fixtures";

/** The endpoints both fixtures hold (the lab client with two extra test endpoints). */
const FIXTURE_ENDPOINTS: ActualEndpoint[] = [
  { id: 1, address: "192.168.0.2", flags: ["subflow"], dev: "eno2" },
  { id: 7, address: "10.0.0.2", flags: ["backup", "signal"], dev: "eno1" },
  { id: 8, address: "192.168.0.2", port: 5201, flags: ["signal"], dev: "eno2" },
];

describe.each([
  ["iproute2 6.1 on kernel 6.18 (recorded)", "6.1" as const],
  ["iproute2 5.15 on kernel 5.15 (source-derived)", "5.15" as const],
])("parseProbe on %s", (_label, version) => {
  it("reads endpoints 1, 7 and 8 with their flags, ports and devices", () => {
    expect(hostState(version).endpoints).toEqual(FIXTURE_ENDPOINTS);
  });

  it("sorts endpoint flags", () => {
    const seven = hostState(version).endpoints.find((e) => e.id === 7)!;
    expect(seven.flags).toEqual(["backup", "signal"]);
  });

  it("gives no port to endpoints without one", () => {
    const one = hostState(version).endpoints.find((e) => e.id === 1)!;
    expect("port" in one).toBe(false);
  });

  it("reads the limits from the text form with its trailing space", () => {
    expect(hostState(version).limits).toEqual({ addAddrAccepted: 2, subflows: 2 });
  });

  it("reads every link with its addresses in CIDR form", () => {
    const links = hostState(version).links;
    expect(links.map((l) => l.name)).toEqual(["lo", "eno1", "eno2"]);
    expect(links.find((l) => l.name === "lo")!.addresses).toEqual(["127.0.0.1/8", "::1/128"]);
    expect(links.find((l) => l.name === "eno1")!.addresses).toEqual(["10.0.0.2/24"]);
    expect(links.find((l) => l.name === "eno2")!.addresses).toEqual(["192.168.0.2/24"]);
  });

  it("counts a link as up from its UP flag even without carrier", () => {
    const eno1 = hostState(version).links.find((l) => l.name === "eno1")!;
    expect(eno1.up).toBe(true);
    expect(eno1.operState).toBe("DOWN");
    expect(eno1.mtu).toBe(1500);
  });

  it("reads the rules, with the source of a /32 rule as a bare address", () => {
    expect(hostState(version).rules).toEqual([
      { priority: 0, table: 255 },
      { priority: 1002, from: "192.168.0.2", table: 102 },
      { priority: 32766, table: 254 },
      { priority: 32767, table: 253 },
    ]);
  });

  it("reads the routes of table 102: a default via the peer with metric 10, and the link route", () => {
    expect(hostState(version).routes.filter((r) => r.table === 102)).toEqual([
      { table: 102, dst: "default", dev: "eno2", via: "192.168.0.1", metric: 10 },
      { table: 102, dst: "192.168.0.0/24", dev: "eno2", scope: "link" },
    ]);
  });

  it("puts routes without a table key in main", () => {
    const main = hostState(version).routes.filter((r) => r.table === 254);
    expect(main.map((r) => r.dst)).toEqual(["10.0.0.0/24", "192.168.0.0/24"]);
    expect(main[0]).toMatchObject({ protocol: "kernel", scope: "link", src: "10.0.0.2", dev: "eno1" });
  });

  it("keeps local-table routes in table local", () => {
    expect(hostState(version).routes.filter((r) => r.table === 255).length).toBeGreaterThan(0);
  });

  it("finds MPTCP available", () => {
    expect(hostState(version).facts.mptcpAvailable).toBe(true);
  });

  it("finds no session address when SSH_CONNECTION is empty", () => {
    expect(hostState(version).sessionLocalAddress).toBeUndefined();
  });

  it("finds no files of ours", () => {
    expect(hostState(version).files).toEqual({});
  });
});

describe("parseProbe facts", () => {
  it("reads iproute2 6.1.0, kernel 6.18 and the hostname from the 6.1 recording", () => {
    expect(hostState("6.1").facts).toMatchObject({ hostname: "vm", kernelRelease: "6.18.44-fc-v669", iproute2Version: "6.1.0" });
  });

  it("reads the path managers and schedulers kernel 6.18 offers", () => {
    const facts = hostState("6.1").facts;
    expect(facts.pathManagers).toEqual(["kernel", "userspace"]);
    expect(facts.schedulers).toEqual(["default"]);
  });

  it("reads iproute2 5.15.0 and kernel 5.15 from the 5.15 fixture", () => {
    expect(hostState("5.15").facts).toMatchObject({ hostname: "jammy", kernelRelease: "5.15.0-91-generic", iproute2Version: "5.15.0" });
  });

  it("finds no schedulers and no path managers on kernel 5.15", () => {
    const facts = hostState("5.15").facts;
    expect(facts.schedulers).toEqual([]);
    expect(facts.pathManagers).toEqual([]);
  });

  it("finds MPTCP missing when there is no net.mptcp sysctl", () => {
    const text = fixtureText(PROBE_5_15)
      .split("\n")
      .filter((l) => !l.startsWith("net.mptcp."))
      .join("\n");
    expect(parseProbe(text).facts.mptcpAvailable).toBe(false);
  });
});

describe("parseProbe sysctls", () => {
  it("normalizes the tabs of tcp_rmem to single spaces (6.1)", () => {
    expect(fixtureText(PROBE_6_1)).toContain("net.ipv4.tcp_rmem = 4096\t131072\t33554432");
    expect(hostState("6.1").sysctls["net.ipv4.tcp_rmem"]).toBe("4096 131072 33554432");
  });

  it("normalizes the tabs of tcp_wmem to single spaces (5.15)", () => {
    expect(hostState("5.15").sysctls["net.ipv4.tcp_wmem"]).toBe("4096 16384 4194304");
  });

  it("reads the net.mptcp keys of kernel 5.15 and no later ones", () => {
    expect(Object.keys(hostState("5.15").sysctls).filter((k) => k.startsWith("net.mptcp.")).sort()).toEqual([
      "net.mptcp.add_addr_timeout",
      "net.mptcp.allow_join_initial_addr_port",
      "net.mptcp.checksum_enabled",
      "net.mptcp.enabled",
      "net.mptcp.stale_loss_cnt",
    ]);
  });

  it("reads path_manager and pm_type on kernel 6.18", () => {
    const sysctls = hostState("6.1").sysctls;
    expect(sysctls["net.mptcp.path_manager"]).toBe("kernel");
    expect(sysctls["net.mptcp.pm_type"]).toBe("0");
  });

  it("keeps an empty value as the empty string", () => {
    expect(parseSysctls("kernel.domainname = \nvm.swappiness = 60")).toEqual({ "kernel.domainname": "", "vm.swappiness": "60" });
  });

  it("skips lines that are not 'key = value'", () => {
    expect(parseSysctls("sysctl: permission denied on key 'fs.protected_regular'\nvm.swappiness = 60\n")).toEqual({ "vm.swappiness": "60" });
  });

  it("normalizes runs of blanks, leading and trailing blanks", () => {
    expect(normalizeSysctlValue("  4096\t 131072  33554432 ")).toBe("4096 131072 33554432");
  });

  it("normalizes a number to its text", () => {
    expect(normalizeSysctlValue(2)).toBe("2");
  });
});

describe("parseProbe session and files", () => {
  const withSections = (extra: string) => fixtureText(PROBE_6_1).replace("@@mptcp-pulumi@@ section end", `${extra}\n@@mptcp-pulumi@@ section end`);

  it("reads the session's local address from SSH_CONNECTION", () => {
    const text = fixtureText(PROBE_6_1).replace("@@mptcp-pulumi@@ section session\n", "@@mptcp-pulumi@@ section session\n172.31.2.1 51234 172.31.2.2 22");
    expect(parseProbe(text).sessionLocalAddress).toBe("172.31.2.2");
  });

  it("reads the session's peer and the device the host's route to it leaves by", () => {
    const text = fixtureText(PROBE_6_1).replace(
      "@@mptcp-pulumi@@ section session\n",
      "@@mptcp-pulumi@@ section session\n172.31.2.1 51234 172.31.2.2 22\n@@mptcp-pulumi@@ section session-route\n172.31.2.1 from 172.31.2.2 dev mgmt0 uid 0 \\    cache \n",
    );
    const state = parseProbe(text);
    expect([state.sessionPeerAddress, state.sessionDevice]).toEqual(["172.31.2.1", "mgmt0"]);
    // A probe without the route (an older host library, no SSH_CONNECTION) says nothing about it.
    expect(parseProbe(fixtureText(PROBE_6_1)).sessionDevice).toBeUndefined();
  });

  it("reads an IPv6 or IPv4-mapped session address in canonical form", () => {
    const session = (line: string) => parseProbe(fixtureText(PROBE_6_1).replace("@@mptcp-pulumi@@ section session\n", `@@mptcp-pulumi@@ section session\n${line}`)).sessionLocalAddress;
    expect(session("fd00:31::1 51234 FD00:31:0:0:0:0:0:2 22")).toBe("fd00:31::2");
    expect(session("::ffff:172.31.2.1 51234 ::ffff:172.31.2.2 22")).toBe("172.31.2.2");
  });

  it("reads our files with their content, ending in a newline", () => {
    const state = parseProbe(
      withSections("@@mptcp-pulumi@@ section file /etc/mptcp-pulumi/parts/10-limits.batch\nmptcp limits set subflows 2 add_addr_accepted 2"),
    );
    expect(state.files).toEqual({ "/etc/mptcp-pulumi/parts/10-limits.batch": "mptcp limits set subflows 2 add_addr_accepted 2\n" });
  });

  it("splits sections by marker and ignores text before the first marker", () => {
    const sections = splitSections("motd\n@@mptcp-pulumi@@ section a\n1\n2\n@@mptcp-pulumi@@ section b\n3");
    expect([...sections.entries()]).toEqual([
      ["a", "1\n2"],
      ["b", "3"],
    ]);
  });

  it("uses the text form of the endpoints when the probe fell back to it", () => {
    const text = fixtureText(PROBE_5_15).replace(
      /@@mptcp-pulumi@@ section endpoints\n.*\n/,
      `@@mptcp-pulumi@@ section endpoints\n@@mptcp-pulumi@@ section endpoints-text\n${splitSections(fixtureText(TEXT_FORMS_6_1)).get("endpoints-text")}\n`,
    );
    expect(parseProbe(text).endpoints).toEqual(FIXTURE_ENDPOINTS);
  });
});

describe("parseEndpointsText", () => {
  it("gives the same endpoints as the JSON form", () => {
    const text = splitSections(fixtureText(TEXT_FORMS_6_1)).get("endpoints-text")!;
    const json = splitSections(fixtureText(PROBE_6_1)).get("endpoints")!;
    expect(parseEndpointsText(text)).toEqual(parseEndpointsJson(json));
  });

  it("skips blank and non-endpoint lines", () => {
    expect(parseEndpointsText("\nRTNETLINK answers: Operation not supported\n")).toEqual([]);
  });

  it("reads an IPv6 endpoint", () => {
    expect(parseEndpointsText("2001:db8::2 id 3 subflow fullmesh dev eno1 ")).toEqual([
      { id: 3, address: "2001:db8::2", flags: ["fullmesh", "subflow"], dev: "eno1" },
    ]);
  });

  it("decodes iproute2 5.15's text 'rawflags 08' as fullmesh", () => {
    expect(parseEndpointsText("10.0.0.2 id 2 subflow rawflags 08 dev eno1 ")).toEqual([
      { id: 2, address: "10.0.0.2", flags: ["fullmesh", "subflow"], dev: "eno1" },
    ]);
  });
});

describe("parseEndpointsJson", () => {
  it("decodes iproute2 5.15's rawflags \"08\" as fullmesh", () => {
    const json = '[{"address":"10.0.0.2","id":2,"subflow":true,"rawflags":"08","dev":"eno1"}]';
    expect(parseEndpointsJson(json)).toEqual([{ id: 2, address: "10.0.0.2", flags: ["fullmesh", "subflow"], dev: "eno1" }]);
  });

  it("decodes combined raw bits", () => {
    const json = '[{"address":"10.0.0.2","id":2,"rawflags":"0c"}]';
    expect(parseEndpointsJson(json)[0]!.flags).toEqual(["backup", "fullmesh"]);
  });

  it("decodes rawflags \"20\" as laminar, as iproute2 before 6.19 prints it on kernel 6.18", () => {
    const json = '[{"address":"10.0.0.2","id":2,"subflow":true,"rawflags":"20"}]';
    expect(parseEndpointsJson(json)[0]!.flags).toEqual(["laminar", "subflow"]);
  });

  it("ignores a malformed rawflags value", () => {
    const json = '[{"address":"10.0.0.2","id":2,"subflow":true,"rawflags":"zz"}]';
    expect(parseEndpointsJson(json)[0]!.flags).toEqual(["subflow"]);
  });

  it("reads a flags array as some builds print it", () => {
    const json = '[{"address":"10.0.0.2","id":2,"flags":["signal","backup"]}]';
    expect(parseEndpointsJson(json)[0]!.flags).toEqual(["backup", "signal"]);
  });

  it("ignores boolean keys that are not flags", () => {
    const json = '[{"address":"10.0.0.2","id":2,"signal":true,"bogus":true}]';
    expect(parseEndpointsJson(json)[0]!.flags).toEqual(["signal"]);
  });

  it("gives no endpoints for empty output", () => {
    expect(parseEndpointsJson("")).toEqual([]);
    expect(parseEndpointsJson("[]\n")).toEqual([]);
  });
});

describe("parseLinks", () => {
  it("tolerates iproute2 5.15's invalid \\' escape in an address label", () => {
    const json = String.raw`[{"ifindex":2,"ifname":"eno1","flags":["BROADCAST","UP"],"mtu":1500,"operstate":"UP","addr_info":[{"family":"inet","local":"10.0.0.2","prefixlen":24,"label":"eno1:bob\'s"}]}]`;
    expect(parseLinks(json)).toEqual([{ name: "eno1", up: true, operState: "UP", mtu: 1500, addresses: ["10.0.0.2/24"] }]);
  });

  it("reads a link that is administratively down", () => {
    const json = '[{"ifname":"eno3","flags":["BROADCAST","MULTICAST"],"mtu":1500,"operstate":"DOWN","addr_info":[]}]';
    expect(parseLinks(json)[0]).toMatchObject({ name: "eno3", up: false, addresses: [] });
  });
});

describe("parseRules", () => {
  it("keeps the prefix of a rule whose source is a network", () => {
    expect(parseRules('[{"priority":1003,"src":"10.0.0.0","srclen":24,"table":"101"}]')).toEqual([{ priority: 1003, from: "10.0.0.0/24", table: 101 }]);
  });
});

describe("parseLimits", () => {
  it("reads both limits", () => {
    expect(parseLimits("add_addr_accepted 2 subflows 2 \n")).toEqual({ addAddrAccepted: 2, subflows: 2 });
  });

  it("reads limits in either order", () => {
    expect(parseLimits("subflows 8 add_addr_accepted 0")).toEqual({ addAddrAccepted: 0, subflows: 8 });
  });

  it("takes a limit the kernel omitted as 0", () => {
    expect(parseLimits("subflows 3 ")).toEqual({ addAddrAccepted: 0, subflows: 3 });
  });

  it("gives undefined when MPTCP is missing", () => {
    expect(parseLimits("Error: Generic Netlink family mptcp_pm not found\n")).toBeUndefined();
  });

  it("gives undefined for empty output", () => {
    expect(parseLimits("")).toBeUndefined();
  });
});

describe("parseIproute2Version", () => {
  it.each([
    ["ip utility, iproute2-6.1.0, libbpf 1.1.2", "6.1.0"],
    ["ip utility, iproute2-5.15.0, libbpf 0.5.0", "5.15.0"],
    ["ip utility, iproute2-6.14.0", "6.14.0"],
    ["ip utility, iproute2-v6.9.0-12-gabcdef", "6.9.0"],
    ["ip utility, iproute2-ss200127", "ss200127"],
  ])("reads %j as %j", (text, version) => {
    expect(parseIproute2Version(text)).toBe(version);
  });

  it("gives the trimmed text back when it has no version", () => {
    expect(parseIproute2Version("  sh: ip: not found \n")).toBe("sh: ip: not found");
  });
});

describe("versionAtLeast", () => {
  it.each([
    ["6.1.0", "5.17", true],
    ["5.17.0", "5.17", true],
    ["5.17", "5.17.0", true],
    ["5.15.0", "5.17", false],
    ["6.10.0", "6.9", true],
    ["6.9.0", "6.10", false],
    ["6.19.0", "6.19", true],
    ["6.18.9", "6.19", false],
  ])("%s >= %s is %s", (version, minimum, expected) => {
    expect(versionAtLeast(version, minimum)).toBe(expected);
  });

  it("counts a snapshot version as old", () => {
    expect(versionAtLeast("ss200127", "5.0")).toBe(false);
  });
});
