// Three links between two servers: eno1 and eno2 share the traffic, eno3 stands by as a backup
// path that takes over only when the others fail. Aimed at the mptcp-pulumi lab brought up with
// three links (`npm run lab -- up --links 3` in the package's checkout).
import * as pulumi from "@pulumi/pulumi";
import { MptcpGroup, type HostConfigInput } from "mptcp-pulumi";

const config = new pulumi.Config();
// The lab keeps its SSH key and known_hosts in the checkout's .lab/ folder.
const keys = config.get("keyDir") ?? "../../.lab";

/** The links: name, the first three octets of its /24, and whether it is the backup path. */
const links = [
  { dev: "eno1", net: "10.0.0", backup: false },
  { dev: "eno2", net: "192.168.0", backup: false },
  { dev: "eno3", net: "10.3.0", backup: true },
];

/** Server n of the pair: an address and a routing table per link. */
function host(n: 1 | 2): HostConfigInput {
  const server = n === 1;
  return {
    name: `server${n}`,
    role: server ? "server" : "client",
    connection: { host: `172.31.${n}.2`, user: "root", privateKeyPath: `${keys}/id_ed25519`, knownHostsPath: `${keys}/known_hosts` },
    interfaces: links.map((l) => ({ name: l.dev, addresses: [`${l.net}.${n}/24`] })),
    limits: { subflows: 3, addAddrAccepted: 3 },
    // The server announces its extra addresses; the client opens a subflow from each of its own,
    // flagging eno3's as backup: the kernel sends on it only when no active subflow is left.
    endpoints: links.slice(1).map((l) => ({
      address: `${l.net}.${n}`,
      dev: l.dev,
      flags: server ? ["signal" as const] : l.backup ? ["subflow" as const, "backup" as const] : ["subflow" as const],
    })),
    policyRoutes: links.map((l, i) => ({
      table: 101 + i,
      rules: [{ from: `${l.net}.${n}`, priority: 1001 + i }],
      routes: [{ dst: `${l.net}.0/24`, dev: l.dev, scope: "link" as const }],
    })),
    sysctls: { "net.ipv4.tcp_rmem": "4096 131072 33554432", "net.ipv4.tcp_wmem": "4096 131072 33554432", "net.ipv4.conf.all.rp_filter": 2 },
  };
}

// The verification judges each path by its role: eno1 and eno2 must carry traffic, eno3 must
// have joined as a backup on both ends.
const pair = new MptcpGroup("pair", { hosts: [host(1), host(2)], verify: { seconds: 2 } });

/** The client's proof: throughputs, MP_JOIN counters, every path's role and share. */
export const verification = pair.hosts["server2"]!.verification;
