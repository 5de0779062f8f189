/**
 * The pair checks again, counting the foreign endpoints the hosts reported (NetworkManager's,
 * mptcpd's, by hand) where the stack keeps them: a server's foreign `signal` endpoint is one more
 * address its clients must accept, a client's foreign `subflow` one more subflow. Pure.
 */
import type { CheckFailure } from "../validation";
import { pairChecks, type HostConfig, type GroupConfig } from "./config";

type Flag = HostConfig["endpoints"][number]["flags"][number];
const FLAGS: ReadonlySet<string> = new Set(["signal", "subflow", "backup", "fullmesh", "laminar"]);

/** A foreign endpoint as the MptcpHost output lists it ("10.0.0.2 id 1 subflow dev eno1") in the stack's terms. */
export function parseForeign(line: string): HostConfig["endpoints"][number] {
  const words = line.trim().split(/\s+/);
  const at = (name: string) => words[words.indexOf(name) + 1];
  const port = words.includes("port") ? Number(at("port")) : undefined;
  return {
    address: words[0] ?? "",
    dev: words.includes("dev") ? (at("dev") ?? "") : "",
    flags: words.filter((w): w is Flag => FLAGS.has(w)),
    ...(port !== undefined ? { port } : {}),
  };
}

/**
 * Failures the foreign endpoints cause in the pair checks (those the declared endpoints alone
 * do not), each naming the foreign endpoints counted. Hosts whose policy is `remove` lose theirs
 * at `up`, so they are not counted.
 */
export function foreignChecks(config: GroupConfig, foreign: Readonly<Record<string, readonly string[]>>): CheckFailure[] {
  const counted = new Map(config.hosts.filter((h) => h.foreignEndpoints === "keep").map((h) => [h.name, foreign[h.name] ?? []]));
  if ([...counted.values()].every((list) => list.length === 0)) return [];
  const before = new Set(pairChecks(config).map((f) => `${f.property}: ${f.reason}`));
  const withForeign: GroupConfig = { hosts: config.hosts.map((h) => ({ ...h, endpoints: [...h.endpoints, ...(counted.get(h.name) ?? []).map(parseForeign)] })) };
  const named = [...counted].filter(([, list]) => list.length).map(([host, list]) => `${host}: ${list.join("; ")}`).join(", ");
  return pairChecks(withForeign)
    .filter((f) => !before.has(`${f.property}: ${f.reason}`))
    .map((f) => ({ property: f.property, reason: `${f.reason}, counting the foreign endpoints the hosts have (${named}); or set foreignEndpoints: remove` }));
}
