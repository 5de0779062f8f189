import { describe, expect, it } from "vitest";
import { checkGroupConfig as checkWithRoot, pairUp, resolvePaths, withoutOptions } from "../../../provider/components/config";
import { addIpv6, type Spelling } from "../../support/ipv6Stack";
import { labStackHosts } from "../../support/labStack";

/** The checks, with relative key paths resolved against the repository (where Pulumi.lab.yaml is). */
const checkStackConfig = (raw: unknown) => checkWithRoot(raw, process.cwd());

/** A fresh copy of `mptcp-pulumi:hosts` from Pulumi.lab.yaml, wrapped as the stack program does. */
function labConfig(): { hosts: any[] } {
  return { hosts: labStackHosts() };
}

/** The lab config after `mutate`, with its check failures' property paths. */
function failuresAfter(mutate: (config: { hosts: any[] }) => void) {
  const config = labConfig();
  mutate(config);
  return checkStackConfig(config).failures;
}

const propertiesAfter = (mutate: (config: { hosts: any[] }) => void) => failuresAfter(mutate).map((f) => f.property);

/** server1 (the server) is hosts[0]; server2 (the client) is hosts[1]. */
const SERVER = 0;
const CLIENT = 1;

describe("checkStackConfig on Pulumi.lab.yaml", () => {
  it("finds two hosts: server1 the server and server2 the client", () => {
    const hosts = labConfig().hosts;
    expect(hosts.map((h) => [h.name, h.role])).toEqual([
      ["server1", "server"],
      ["server2", "client"],
    ]);
  });

  it("passes with no failures", () => {
    const checked = checkStackConfig(labConfig());
    expect(checked.failures).toEqual([]);
    expect(checked.config).toBeDefined();
  });

  it("applies connection defaults", () => {
    expect(checkStackConfig(labConfig()).config!.hosts[0]!.connection).toMatchObject({ port: 22, user: "root", hostKeyPolicy: "strict" });
  });

  it("keeps the sysctl values as text", () => {
    expect(checkStackConfig(labConfig()).config!.hosts[0]!.sysctls).toEqual({
      "net.ipv4.tcp_rmem": "4096 131072 33554432",
      "net.ipv4.tcp_wmem": "4096 131072 33554432",
      "net.ipv4.conf.all.rp_filter": "2",
    });
  });

  it("returns no config when there are failures", () => {
    const config = labConfig();
    config.hosts[SERVER].role = "router";
    expect(checkStackConfig(config).config).toBeUndefined();
  });
});

describe("checkStackConfig: pair checks", () => {
  it("refuses a client accepting no ADD_ADDR while its server signals an address", () => {
    const failures = failuresAfter((c) => {
      c.hosts[CLIENT].limits.addAddrAccepted = 0;
    });
    expect(failures).toEqual([{ property: "hosts[1].limits.addAddrAccepted", reason: expect.stringContaining("server server1 announces 1 address(es) with signal") }]);
  });

  it("refuses a client whose subflows limit is below its extra paths", () => {
    const failures = failuresAfter((c) => {
      c.hosts[CLIENT].limits.subflows = 0;
    });
    expect(failures).toEqual([{ property: "hosts[1].limits.subflows", reason: expect.stringContaining("raise it to at least 1") }]);
  });

  it("refuses a server whose subflows limit is below what clients will open", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].limits.subflows = 0;
    });
    expect(failures).toEqual([{ property: "hosts[0].limits.subflows", reason: expect.stringContaining("clients will open 1 extra subflow(s)") }]);
  });

  it("refuses a client subflow address with no server address in its subnet", () => {
    const failures = failuresAfter((c) => {
      c.hosts[CLIENT].interfaces.push({ name: "eno3", addresses: ["172.16.5.2/24"] });
      c.hosts[CLIENT].endpoints.push({ address: "172.16.5.2", dev: "eno3", flags: ["subflow"] });
    });
    expect(failures).toEqual([{ property: "hosts[1].endpoints[1].address", reason: expect.stringContaining("has no server address in its subnet 172.16.5.2/24") }]);
  });

  it("finds the server address in the subnet of an IPv6 client subflow address", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].interfaces[1].addresses.push("2001:db8:2::1/64");
      c.hosts[CLIENT].interfaces[1].addresses.push("2001:db8:2::2/64");
      c.hosts[CLIENT].endpoints.push({ address: "2001:db8:2::2", dev: "eno2", flags: ["subflow"] });
    });
    expect(failures).toEqual([]);
  });
});

describe("checkStackConfig: endpoints", () => {
  it("refuses two endpoints with the same id", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].endpoints[0].id = 1;
      c.hosts[SERVER].endpoints.push({ address: "10.0.0.1", dev: "eno1", flags: ["signal"], id: 1 });
    });
    expect(properties).toEqual(["hosts[0].endpoints[1].id"]);
  });

  it("refuses the same endpoint address twice", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].endpoints.push({ address: "192.168.0.1", dev: "eno2", flags: ["signal", "backup"] });
    });
    expect(failures).toEqual([{ property: "hosts[0].endpoints[1].address", reason: expect.stringContaining("endpoint 192.168.0.1 is declared twice") }]);
  });

  it("accepts the same address twice with different ports", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].endpoints.push({ address: "192.168.0.1", dev: "eno2", port: 5201, flags: ["signal"] });
    });
    expect(failures).toEqual([]);
  });

  it("refuses 9 endpoints on one host", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].endpoints = Array.from({ length: 9 }, (_, i) => ({ address: "192.168.0.1", port: 5201 + i, dev: "eno2", flags: ["signal"] }));
    });
    expect(failures).toEqual([{ property: "hosts[0].endpoints", reason: expect.stringContaining("at most 8 endpoints") }]);
  });

  it("refuses an endpoint on an undeclared interface", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].endpoints[0].dev = "eno9";
    });
    expect(failures).toEqual([{ property: "hosts[0].endpoints[0].dev", reason: expect.stringContaining("interface eno9 is not declared") }]);
  });

  it("refuses an endpoint address that is not on its interface", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].endpoints[0].dev = "eno1";
    });
    expect(failures).toEqual([{ property: "hosts[0].endpoints[0].address", reason: expect.stringContaining("192.168.0.1 is not one of eno1's addresses (10.0.0.1/24)") }]);
  });

  it("refuses signal with fullmesh", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].endpoints[0].flags = ["signal", "fullmesh"];
    });
    expect(properties).toEqual(["hosts[0].endpoints[0].flags"]);
  });

  it("refuses a port without signal", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[CLIENT].endpoints[0].port = 5201;
    });
    expect(properties).toContain("hosts[1].endpoints[0].port");
  });

  it("refuses an endpoint without flags", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].endpoints[0].flags = [];
    });
    expect(properties).toEqual(["hosts[0].endpoints[0].flags"]);
  });
});

describe("checkStackConfig: policy routes", () => {
  it("refuses a route over an undeclared interface", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].routes[0].dev = "eno9";
    });
    expect(failures).toEqual([{ property: "hosts[0].policyRoutes[0].routes[0].dev", reason: expect.stringContaining("interface eno9 is not declared") }]);
  });

  it("refuses a gateway outside its interface's subnets", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].routes.push({ dst: "default", via: "172.16.0.1", dev: "eno1" });
    });
    expect(failures).toEqual([{ property: "hosts[0].policyRoutes[0].routes[1].via", reason: expect.stringContaining("gateway 172.16.0.1 is outside eno1's subnets") }]);
  });

  it("accepts a gateway inside its interface's subnet", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].routes.push({ dst: "default", via: "10.0.0.2", dev: "eno1", metric: 10 });
    });
    expect(failures).toEqual([]);
  });

  it("does not judge an IPv6 gateway against the interface's IPv4 subnets", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].routes.push({ dst: "2001:db8::/64", via: "fe80::1", dev: "eno1" });
    });
    expect(failures).toEqual([]);
  });

  it("refuses a rule from an address the host does not have", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].rules[0].from = "10.0.0.99";
    });
    expect(failures).toEqual([{ property: "hosts[0].policyRoutes[0].rules[0].from", reason: expect.stringContaining("10.0.0.99 is not an address of this host's interfaces") }]);
  });

  it("accepts a rule from the host's address written as a /32", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].rules[0].from = "10.0.0.1/32";
    });
    expect(failures).toEqual([]);
  });

  it("accepts a rule from a network", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].rules[0].from = "10.0.0.0/24";
    });
    expect(failures).toEqual([]);
  });

  it("refuses the same table twice", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].policyRoutes[1].table = 101;
    });
    expect(failures).toEqual([{ property: "hosts[0].policyRoutes[1].table", reason: expect.stringContaining("table 101 is declared twice") }]);
  });

  it("refuses a reserved table", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].policyRoutes[0].table = 254;
    });
    expect(properties).toEqual(["hosts[0].policyRoutes[0].table"]);
  });
});

describe("checkStackConfig: hosts", () => {
  it("refuses an unknown role", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].role = "router";
    });
    expect(failures).toEqual([{ property: "hosts[0].role", reason: expect.stringContaining("role is server") }]);
  });

  it("refuses the same host name twice", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[CLIENT].name = "server1";
    });
    expect(properties).toEqual(["hosts[1].name"]);
  });

  it("refuses the same interface twice", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].interfaces.push({ name: "eno1", addresses: [] });
    });
    expect(properties).toEqual(["hosts[0].interfaces[2].name"]);
  });

  it("refuses one address on two interfaces", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].interfaces[1].addresses.push("10.0.0.1/24");
    });
    expect(properties).toEqual(["hosts[0].interfaces[1].addresses[1]"]);
  });

  it("refuses a host without interfaces", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].interfaces = [];
    });
    expect(properties).toEqual(["hosts[0].interfaces"]);
  });

  it("refuses limits above 8", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].limits.subflows = 9;
    });
    expect(properties).toEqual(["hosts[0].limits.subflows"]);
  });

  it("refuses a bad sysctl value", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].sysctls["net.ipv4.conf.all.rp_filter"] = "2; reboot";
    });
    expect(properties).toEqual(["hosts[0].sysctls.net.ipv4.conf.all.rp_filter"]);
  });

  it("refuses an unknown key in a host", () => {
    const properties = propertiesAfter((c) => {
      c.hosts[SERVER].endpoint = [];
    });
    expect(properties).toEqual(["hosts[0]"]);
  });

  it("refuses an empty host list", () => {
    expect(checkStackConfig({ hosts: [] }).failures.map((f) => f.property)).toEqual(["hosts"]);
  });
});

describe("resolvePaths", () => {
  it("makes relative key paths absolute against the base", () => {
    expect(resolvePaths({ privateKeyPath: ".lab/id_ed25519", knownHostsPath: "/abs/known_hosts" }, "/work/main")).toEqual({
      privateKeyPath: "/work/main/.lab/id_ed25519",
      knownHostsPath: "/abs/known_hosts",
    });
  });

  it("leaves unset paths unset", () => {
    expect(resolvePaths({ host: "h" } as { host: string; privateKeyPath?: string }, "/base")).toEqual({ host: "h" });
  });
});

describe("pairUp", () => {
  it("pairs the lab's client with its server through the first subnet", () => {
    const pairs = pairUp(checkStackConfig(labConfig()).config!.hosts);
    expect(pairs.map((p) => [p.client.name, p.server.name, p.target])).toEqual([["server2", "server1", "10.0.0.1"]]);
  });

  it("leaves a client without a server in its subnet unpaired", () => {
    const config = checkStackConfig(labConfig()).config!;
    config.hosts[1]!.interfaces[0]!.addresses = ["10.9.0.2/24"];
    expect(pairUp(config.hosts)).toEqual([]);
  });
});

describe("IPv6 beside IPv4", () => {
  const withV6 = (spelling: Spelling) => {
    const config = labConfig();
    addIpv6(config.hosts, spelling);
    return checkStackConfig(config);
  };

  it("accepts the lab stack with IPv6 addresses, endpoints, rules and routes", () => {
    expect(withV6("canonical").failures).toEqual([]);
  });

  it("accepts non-canonical spellings and reads them as the canonical ones", () => {
    const long = withV6("long");
    expect(long.failures).toEqual([]);
    expect(long.config).toEqual(withV6("canonical").config);
  });

  it("measures the pair over IPv6 when the client's first address is IPv6", () => {
    expect(pairUp(withV6("long").config!.hosts).map((p) => p.target)).toEqual(["fd00:1::1"]);
  });

  it("keeps the family of a rule without a source and of a gateway-less default route", () => {
    const config = labConfig();
    config.hosts[0].policyRoutes.push({ table: 203, rules: [{ family: 6, priority: 1203 }], routes: [{ dst: "::/0", dev: "eno2" }] });
    const table = checkStackConfig(config).config!.hosts[0]!.policyRoutes.find((p) => p.table === 203)!;
    expect(table.rules).toEqual([{ from: "all", priority: 1203, family: 6 }]);
    expect(table.routes).toEqual([{ dst: "default", dev: "eno2", family: 6 }]);
  });

  it("refuses a rule whose family contradicts its source, on the source", () => {
    const config = labConfig();
    config.hosts[0].policyRoutes.push({ table: 203, rules: [{ family: 4, from: "fd00:2::1" }] });
    expect(checkStackConfig(config).failures).toEqual([{ property: "hosts[0].policyRoutes[2].rules[0].from", reason: expect.stringContaining("fd00:2::1 is IPv6 but family says IPv4") }]);
  });
});

describe("options the README documents", () => {
  it("accepts allowSessionDisruption on interfaces and policy routes", () => {
    const config = labConfig();
    config.hosts[0].interfaces[0].allowSessionDisruption = true;
    config.hosts[0].policyRoutes[0].allowSessionDisruption = true;
    expect(checkStackConfig(config).failures).toEqual([]);
  });

  it("refuses a metric above 2^32-1 with the resource's own rule", () => {
    const config = labConfig();
    config.hosts[0].policyRoutes[0].routes[0].metric = 4294967296;
    expect(checkStackConfig(config).failures.map((f) => f.property)).toEqual(["hosts[0].policyRoutes[0].routes[0].metric"]);
  });
});

describe("one check reports everything", () => {
  it("reports a resource's own cross-field rule and a cross-host problem together", () => {
    const properties = propertiesAfter((config) => {
      config.hosts[0].endpoints[0].flags = ["signal", "fullmesh"];
      config.hosts[1].limits.addAddrAccepted = 0;
    });
    expect(properties).toEqual(["hosts[0].endpoints[0].flags", "hosts[1].limits.addAddrAccepted"]);
  });
});

describe("resource options in the host config", () => {
  it("accepts options on a host and on its entries, and drops them from what the resources are made of", () => {
    const config = labConfig();
    config.hosts[SERVER].options = { protect: true, aliases: ["old-server1"], ignoreChanges: ["values"] };
    config.hosts[SERVER].interfaces[0].options = { retainOnDelete: true, ignoreChanges: ["mtu"] };
    config.hosts[SERVER].endpoints[0].options = { aliases: ["server1-endpoint-old"] };
    const checked = checkStackConfig(config);
    expect(checked.failures).toEqual([]);
    const host = checked.config!.hosts[SERVER]!;
    expect(host.options).toEqual({ protect: true, aliases: ["old-server1"], ignoreChanges: ["values"] });
    const plain = withoutOptions(host);
    expect(JSON.stringify(plain)).not.toContain("options");
    expect(JSON.stringify(plain)).toBe(JSON.stringify(checkStackConfig(labConfig()).config!.hosts[SERVER]));
  });

  it("names the field and the reason of a bad option", () => {
    const failures = failuresAfter((c) => {
      c.hosts[SERVER].options = { protect: "yes", aliases: ["Server 1"], ignoreChanges: ["colour"] };
      c.hosts[SERVER].interfaces[1].options = { ignoreChanges: ["flags"], retain: true };
      c.hosts[CLIENT].options = { aliases: ["server1"] };
    });
    expect(failures.map((f) => f.property)).toEqual(
      expect.arrayContaining([
        "hosts[0].options.protect",
        "hosts[0].options.aliases[0]",
        "hosts[0].options.ignoreChanges[0]",
        "hosts[0].interfaces[1].options.ignoreChanges[0]",
        "hosts[0].interfaces[1].options",
      ]),
    );
    expect(failures.find((f) => f.property === "hosts[0].interfaces[1].options.ignoreChanges[0]")!.reason).toMatch(/not a property of this resource \(connection, privateKey, name, addresses, mtu/);
    expect(failures.find((f) => f.property === "hosts[0].options.ignoreChanges[0]")!.reason).toBe("is not a property of any of the host's resources");
    // An alias naming a current host would hand that host's resources over: refused with the rest fixed.
    const alias = failuresAfter((c) => {
      c.hosts[CLIENT].options = { aliases: ["server1"] };
    });
    expect(alias).toEqual([{ property: "hosts[1].options.aliases[0]", reason: "server1 is the name of a host here: an alias is an earlier name of this host" }]);
  });
});
