/**
 * Rules across the fields of a host and across the hosts of a group, each something the kernel,
 * ip or a network manager would refuse or silently undo (sources in each rule's comment; the
 * list with test vectors is in the closing note of issue 19). Checked at preview, before any host
 * is contacted; each failure names the field it is about.
 */
import { isIP } from "node:net";
import { canonicalAddress, familyOf, inSubnet, splitCidr } from "../model/address";
import { ruleSelectorWords } from "../model/rule";
import type { CheckFailure } from "../validation";
import { propertyPath } from "../validation";
import type { GroupConfig, HostConfig } from "./config";

type Fail = (path: (string | number)[], reason: string) => void;

/** The sysctls MptcpHost sets itself: in `sysctls` too, two resources would restore each other's values. */
const HOST_SYSCTLS: Readonly<Record<string, string>> = {
  "net.mptcp.enabled": "MPTCP is always enabled on a declared host",
  "net.mptcp.path_manager": "use the host's pathManager",
  "net.mptcp.pm_type": "use the host's pathManager",
  "net.mptcp.scheduler": "use the host's scheduler",
};

/** The smallest MTU IPv6 runs on (RFC 8200): below it the kernel removes IPv6 from the link (addrconf_notify). */
const IPV6_MIN_MTU = 1280;

/**
 * How a machine is spelled for comparison: host names lowercased without a trailing dot, IP
 * addresses canonical (an IPv4-mapped IPv6 address is its IPv4 address), with port and jump.
 */
export function machineKey(c: HostConfig["connection"]): string {
  let host = c.host.toLowerCase().replace(/\.$/, "");
  if (isIP(host)) {
    host = canonicalAddress(host);
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped && mapped.length === 2) host = mapped[1]!;
    else if (mapped) {
      const [hi, lo] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
      host = [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
    }
  }
  return `${host}:${c.port}${c.proxyJump ? ` via ${c.proxyJump.toLowerCase()}` : ""}`;
}

/** Rules within one host. */
function hostRules(host: HostConfig, at: (...rest: (string | number)[]) => (string | number)[], fail: Fail): void {
  const declared = host.interfaces.flatMap((i) => i.addresses);
  const v6On = (iface: string) => host.interfaces.find((i) => i.name === iface)?.addresses.some((c) => splitCidr(c)?.family === 6) ?? false;

  host.interfaces.forEach((iface, i) => {
    if (iface.mtu !== undefined && iface.mtu < IPV6_MIN_MTU && v6On(iface.name)) {
      fail(at("interfaces", i, "mtu"), `an MTU below ${IPV6_MIN_MTU} removes IPv6 from ${iface.name}, and with it the IPv6 addresses declared there: raise it to ${IPV6_MIN_MTU}, or drop the IPv6 addresses`);
    }
  });

  for (const [key, value] of Object.entries(host.sysctls)) {
    if (HOST_SYSCTLS[key]) fail(at("sysctls", key), `${key} is the host's own setting (${HOST_SYSCTLS[key]}): two resources would each restore the other's value`);
    const disabled = /^net\.ipv6\.conf\.([^.]+)\.disable_ipv6$/.exec(key);
    if (disabled && value.trim() === "1") {
      const hit = host.interfaces.find((i) => (disabled[1] === "all" || disabled[1] === "default" || disabled[1] === i.name.replace(/\./g, "/")) && v6On(i.name));
      if (hit) fail(at("sysctls", key), `disable_ipv6=1 removes the IPv6 addresses declared on ${hit.name} (and later adds fail): drop the key or those addresses`);
    }
  }

  if (host.pathManager === "userspace" && host.endpoints.length > 0) {
    // pm_kernel.c skips in-kernel endpoints for a connection whose path manager is userspace.
    fail(at("endpoints"), "the userspace path manager ignores the in-kernel endpoints: drop pathManager: userspace, or the endpoints (a userspace daemon adds its own)");
  }

  // One rule selector in two tables: the kernel keeps both (a rule's identity includes its table), the first wins and the other is dead.
  const selectors = new Map<string, number>();
  host.policyRoutes.forEach((p, i) =>
    p.rules.forEach((rule, j) => {
      const key = ruleSelectorWords(rule).join(" ");
      const first = selectors.get(key);
      if (first !== undefined && first !== i) fail(at("policyRoutes", i, "rules", j), `the rule ${key} also sends traffic to table ${host.policyRoutes[first]!.table}: the kernel would use only the first`);
      else selectors.set(key, i);
    }),
  );

  host.policyRoutes.forEach((p, i) =>
    p.routes.forEach((r, j) => {
      // A source the host does not have: networkd leaves the link configuring, the kernel refuses it ("Invalid prefsrc address").
      if (r.src !== undefined && !declared.some((c) => splitCidr(c)?.address === canonicalAddress(r.src!))) {
        fail(at("policyRoutes", i, "routes", j, "src"), `${r.src} is not one of this host's declared addresses`);
      }
      // A gateway without a device must be on one of the host's subnets: else the kernel has no way to reach it ("Nexthop has invalid gateway").
      if (r.via !== undefined && r.dev === undefined && !r.via.startsWith("fe80:")) {
        const onLink = declared.some((c) => familyOf(r.via!) === splitCidr(c)?.family && inSubnet(r.via!, c));
        if (!onLink) fail(at("policyRoutes", i, "routes", j, "via"), `gateway ${r.via} is on none of this host's declared subnets: give the route's dev, or fix the gateway`);
      }
    }),
  );
}

/** Every rule of this module over the group. */
export function groupRules(config: GroupConfig): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const fail: Fail = (path, reason) => failures.push({ property: propertyPath(path), reason });
  const machines = new Map<string, number>();
  const addresses = new Map<string, string>();
  config.hosts.forEach((host, h) => {
    const at = (...rest: (string | number)[]) => ["hosts", h, ...rest];
    const machine = machineKey(host.connection);
    const twin = machines.get(machine);
    // Two declarations of one machine: two sets of resources would own the same tables, endpoints and files.
    if (twin !== undefined) fail(at("connection", "host"), `${host.connection.host} is the machine hosts[${twin}] (${config.hosts[twin]!.name}) already declares`);
    else machines.set(machine, h);
    host.interfaces.forEach((iface, i) =>
      iface.addresses.forEach((cidr, a) => {
        const address = splitCidr(cidr)?.address;
        if (address === undefined || address.startsWith("fe80:")) return;
        const owner = addresses.get(address);
        // On the pair's shared links, one address on two hosts is an address conflict.
        if (owner !== undefined && owner !== host.name) fail(at("interfaces", i, "addresses", a), `${address} is also ${owner}'s address`);
        else addresses.set(address, host.name);
      }),
    );
    hostRules(host, at, fail);
  });
  return failures;
}
