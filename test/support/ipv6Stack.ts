/**
 * The lab stack with IPv6 beside IPv4: v6 addresses on both data links, v6 signal and subflow
 * endpoints, a table per v6 source with its rule and route (one route through a gateway), and
 * the pair measured over IPv6. `spell` writes every address as the user would: canonical, or in
 * a valid non-canonical form, which must behave identically.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Host = Record<string, any>;

/** fd00:1::1 as written: canonical, or every group spelled out (fd00:1:0:0:0:0:0:1). */
export type Spelling = "canonical" | "long";

function v6(net: 1 | 2, host: 1 | 2, spelling: Spelling): string {
  return spelling === "canonical" ? `fd00:${net}::${host}` : `FD00:${net}:0:0:0:0:0:${host}`;
}

/** Adds the IPv6 half to the lab's two hosts (server1 serves, server2 is the client). */
export function addIpv6(hosts: Host[], spelling: Spelling = "canonical"): void {
  hosts.forEach((host, i) => {
    const me = (i + 1) as 1 | 2;
    const peer = (me === 1 ? 2 : 1) as 1 | 2;
    const [eno1, eno2] = host["interfaces"] as Host[];
    // The v6 address first on eno1: the pair is measured over IPv6 (the first subnet's server address).
    eno1!["addresses"] = [`${v6(1, me, spelling)}/64`, ...eno1!["addresses"]];
    eno2!["addresses"] = [...eno2!["addresses"], `${v6(2, me, spelling)}/64`];
    host["endpoints"] = [...host["endpoints"], { address: v6(2, me, spelling), dev: "eno2", flags: [me === 1 ? "signal" : "subflow"] }];
    host["policyRoutes"] = [
      ...host["policyRoutes"],
      { table: 201, rules: [{ from: v6(1, me, spelling), priority: 1201 }], routes: [{ dst: `${spelling === "canonical" ? "fd00:1::" : "fd00:1:0:0:0:0:0:0"}/64`, dev: "eno1" }] },
      {
        table: 202,
        rules: [{ from: `${v6(2, me, spelling)}/128`, priority: 1202 }],
        routes: [
          { dst: `${spelling === "canonical" ? "fd00:2::" : "fd00:2:0:0:0:0:0:0"}/64`, dev: "eno2" },
          { dst: "fd00:99::/64", via: v6(2, peer, spelling), dev: "eno2" },
        ],
      },
    ];
  });
}
