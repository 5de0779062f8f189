/**
 * The pair checks again, counting the foreign endpoints the hosts reported (NetworkManager's,
 * mptcpd's, by hand) where the stack keeps them: a server's foreign `signal` endpoint is one more
 * address its clients must accept, a client's foreign `subflow` one more subflow. Pure.
 */
import { describeEndpoint } from "../resources/foreign";
import type { ActualEndpoint } from "../state/types";
import type { CheckFailure } from "../validation";
import { pairChecks, type HostConfig, type GroupConfig } from "./config";

type Flag = HostConfig["endpoints"][number]["flags"][number];

/** A foreign endpoint in the stack's terms, as the pair checks count it (the kernel's `implicit` counts for nothing). */
export function asDeclared(e: ActualEndpoint): HostConfig["endpoints"][number] {
  return {
    address: e.address,
    dev: e.dev ?? "",
    flags: e.flags.filter((f): f is Flag => f !== "implicit"),
    ...(e.port !== undefined ? { port: e.port } : {}),
  };
}

/**
 * Failures the foreign endpoints cause in the pair checks (those the declared endpoints alone
 * do not), each naming the foreign endpoints counted. Hosts whose policy is `remove` lose theirs
 * at `up`, so they are not counted.
 */
export function foreignChecks(config: GroupConfig, foreign: Readonly<Record<string, readonly ActualEndpoint[]>>): CheckFailure[] {
  const counted = new Map(config.hosts.filter((h) => h.foreignEndpoints === "keep").map((h) => [h.name, foreign[h.name] ?? []]));
  if ([...counted.values()].every((list) => list.length === 0)) return [];
  const before = new Set(pairChecks(config).map((f) => `${f.property}: ${f.reason}`));
  const withForeign: GroupConfig = { hosts: config.hosts.map((h) => ({ ...h, endpoints: [...h.endpoints, ...(counted.get(h.name) ?? []).map(asDeclared)] })) };
  const named = [...counted].filter(([, list]) => list.length).map(([host, list]) => `${host}: ${list.map(describeEndpoint).join("; ")}`).join(", ");
  return pairChecks(withForeign)
    .filter((f) => !before.has(`${f.property}: ${f.reason}`))
    .map((f) => ({ property: f.property, reason: `${f.reason}, counting the foreign endpoints the hosts have (${named}); or set foreignEndpoints: remove` }));
}
