/**
 * The lab's topology for TypeScript: test/lab/topology.json (which lab.sh reads too), the hosts a
 * running lab wrote to its hosts.json, and the stack configuration they imply. Tests, the bench
 * and scripts take names, addresses, roles and rates from here, never re-derive them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../provider/connection";

/** The lab tiers: network namespaces sharing this kernel, containers booting systemd, or VMs with their own kernel. */
export type LabTier = "netns" | "systemd" | "vm";

/** One tier's names: namespace and host-side veth prefixes, management /16, state folder. */
export interface TierTopology {
  netnsPrefix: string;
  hostLinkPrefix: string;
  parkPrefix: string;
  mgmtNet: string;
  stateDir: string;
  /** The tier's own default link rate, when it differs from the topology's. */
  defaultRateMbit?: number;
}

/** test/lab/topology.json, typed. */
export interface Topology {
  maxServers: number;
  defaultPairs: number;
  defaultLinks: number;
  defaultRateMbit: number;
  roles: ["server", "client"];
  links: Array<{ name: string; net: string }>;
  tableBase: number;
  priorityBase: number;
  sysctls: Record<string, string | number>;
  tiers: Record<LabTier, TierTopology>;
}

/** One data link of a lab server as the lab built it. */
export interface LabLink {
  name: string;
  /** Address with prefix, e.g. "10.0.0.1/24". */
  address: string;
  rateMbit: number;
  /** One-way delay each end adds (netem), in milliseconds; 0 when the link is not delayed. */
  delayMs: number;
}

/** One lab server, as the lab's hosts.json describes it. */
export interface LabHost {
  name: string;
  tier: LabTier;
  host: string;
  port: number;
  user: string;
  pair: number;
  role: "server" | "client";
  links: LabLink[];
}

/** Repository root (from test/lab or dist/test/lab alike). */
const ROOT = projectRoot(__dirname);

/** The lab's topology file. */
export const TOPOLOGY: Topology = JSON.parse(readFileSync(join(ROOT, "test/lab/topology.json"), "utf8")) as Topology;

/** A tier's state folder (keys, known_hosts, ssh_config, hosts.json); LAB_DIR overrides the netns tier's. */
export function labDir(tier: LabTier = "netns"): string {
  if (tier === "netns" && process.env["LAB_DIR"]) return process.env["LAB_DIR"];
  return join(ROOT, TOPOLOGY.tiers[tier].stateDir);
}

/** The servers of a running lab tier, from the hosts.json it wrote. */
export function labHosts(tier: LabTier = "netns"): LabHost[] {
  return JSON.parse(readFileSync(join(labDir(tier), "hosts.json"), "utf8")) as LabHost[];
}

/** Where the stack config finds the lab's SSH key and known_hosts. */
export interface KeyPaths {
  privateKeyPath: string;
  knownHostsPath: string;
}

/** The SSH key files of a tier's state folder, as absolute paths. */
export function keyPaths(tier: LabTier = "netns"): KeyPaths {
  return { privateKeyPath: join(labDir(tier), "id_ed25519"), knownHostsPath: join(labDir(tier), "known_hosts") };
}

/** The socket buffer sysctls of the lab stack (the tuning step of the reference setup). */
export const BUFFER_SYSCTLS = ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

const addressOf = (cidr: string) => cidr.split("/")[0]!;
const subnetOf = (cidr: string) => `${addressOf(cidr).split(".").slice(0, 3).join(".")}.0/24`;

/**
 * The lab stack's `mptcp-pulumi:hosts` for these servers: every link addressed and routed by
 * source in its own table; the server signals, and the client opens subflows from, every
 * address but eno1's; limits large enough for all links; the guide's buffer and rp_filter sysctls
 * (with `buffers: "kernel"`, the kernel's own tcp_rmem/tcp_wmem: the long-path tests' first step).
 */
export function stackHosts(hosts: readonly LabHost[], keys: KeyPaths, buffers: "stack" | "kernel" = "stack"): unknown[] {
  return hosts.map((h) => {
    const limit = Math.max(2, h.links.length);
    return {
      name: h.name,
      role: h.role,
      connection: { host: h.host, user: h.user, ...keys },
      interfaces: h.links.map((l) => ({ name: l.name, addresses: [l.address] })),
      limits: { subflows: limit, addAddrAccepted: limit },
      endpoints: h.links.slice(1).map((l) => ({ address: addressOf(l.address), dev: l.name, flags: [h.role === "server" ? "signal" : "subflow"] })),
      policyRoutes: h.links.map((l) => {
        const i = TOPOLOGY.links.findIndex((t) => t.name === l.name) + 1;
        return {
          table: TOPOLOGY.tableBase + i,
          rules: [{ from: addressOf(l.address), priority: TOPOLOGY.priorityBase + i }],
          routes: [{ dst: subnetOf(l.address), dev: l.name, scope: "link" }],
        };
      }),
      sysctls: Object.fromEntries(Object.entries(TOPOLOGY.sysctls).filter(([k]) => buffers === "stack" || !BUFFER_SYSCTLS.includes(k))),
    };
  });
}
