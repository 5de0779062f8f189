// Two servers, two links each, Multipath TCP on both: the reference guide's setup, aimed at the
// mptcp-pulumi lab (`npm run lab -- up` in the package's checkout). For your own servers, change
// the addresses, the user and the key paths.
import * as pulumi from "@pulumi/pulumi";
import { MptcpGroup, type HostConfigInput } from "mptcp-pulumi";

const config = new pulumi.Config();
// The lab keeps its SSH key and known_hosts in the checkout's .lab/ folder.
const keys = config.get("keyDir") ?? "../../.lab";

/** Server n of the pair: eno1 on 10.0.0.n/24, eno2 on 192.168.0.n/24, a routing table per source. */
function host(n: 1 | 2): HostConfigInput {
  const server = n === 1;
  return {
    name: `server${n}`,
    role: server ? "server" : "client",
    connection: { host: `172.31.${n}.2`, user: "root", privateKeyPath: `${keys}/id_ed25519`, knownHostsPath: `${keys}/known_hosts` },
    interfaces: [
      { name: "eno1", addresses: [`10.0.0.${n}/24`] },
      { name: "eno2", addresses: [`192.168.0.${n}/24`] },
    ],
    limits: { subflows: 2, addAddrAccepted: 2 },
    // The server announces its second address; the client opens a subflow from its own.
    endpoints: [{ address: `192.168.0.${n}`, dev: "eno2", flags: [server ? "signal" : "subflow"] }],
    policyRoutes: [
      { table: 101, rules: [{ from: `10.0.0.${n}`, priority: 1001 }], routes: [{ dst: "10.0.0.0/24", dev: "eno1", scope: "link" }] },
      { table: 102, rules: [{ from: `192.168.0.${n}`, priority: 1002 }], routes: [{ dst: "192.168.0.0/24", dev: "eno2", scope: "link" }] },
    ],
    sysctls: { "net.ipv4.tcp_rmem": "4096 131072 33554432", "net.ipv4.tcp_wmem": "4096 131072 33554432", "net.ipv4.conf.all.rp_filter": 2 },
  };
}

// Checks the pair against each other (limits, subnets, endpoints) before anything is registered,
// then configures both servers and measures TCP against MPTCP between them at every change.
const pair = new MptcpGroup("pair", { hosts: [host(1), host(2)], verify: { seconds: 2 } });

/** The client's proof: throughputs, MP_JOIN counters, every path's role and share. */
export const verification = pair.hosts["server2"]!.verification;
/** The endpoints each server's kernel reports. */
export const endpoints = { server1: pair.hosts["server1"]!.endpoints, server2: pair.hosts["server2"]!.endpoints };
