/**
 * What the stack's verification measures for a pair (pure): each client link that reaches the
 * server is a path, and its role comes from the endpoints: a path is a backup when the client's
 * endpoint on that link, or the server's endpoint in that subnet, has the `backup` flag.
 */
import type { PathSpec } from "../verify";
import { canonicalCidr, inSubnet, splitCidr } from "../validation";
import type { HostConfig } from "./config";

/** The client's paths towards the server, in the client's interface order, with their roles. */
export function verificationPaths(server: HostConfig, client: HostConfig): PathSpec[] {
  const paths: PathSpec[] = [];
  for (const iface of client.interfaces) {
    for (const cidr of iface.addresses) {
      const subnet = canonicalCidr(cidr);
      const peer = server.interfaces.find((x) => x.addresses.some((c) => inSubnet(splitCidr(c)!.address, subnet)));
      if (!peer) continue;
      const own = splitCidr(cidr)!.address;
      const clientBackup = client.endpoints.some((e) => e.dev === iface.name && e.address === own && e.flags.includes("backup"));
      const serverBackup = server.endpoints.some((e) => inSubnet(e.address, subnet) && e.flags.includes("backup"));
      paths.push({ dev: iface.name, role: clientBackup || serverBackup ? "backup" : "active", peerDev: peer.name });
      break;
    }
  }
  return paths;
}

/** Each path's server address (by the client's link): where single-path TCP measures the path alone. */
export function peerAddresses(server: HostConfig, client: HostConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const iface of client.interfaces) {
    for (const cidr of iface.addresses) {
      const subnet = canonicalCidr(cidr);
      const peer = server.interfaces.flatMap((x) => x.addresses).find((c) => inSubnet(splitCidr(c)!.address, subnet));
      if (peer && !out[iface.name]) out[iface.name] = splitCidr(peer)!.address;
    }
  }
  return out;
}
