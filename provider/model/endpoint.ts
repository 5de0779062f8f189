/**
 * An MPTCP endpoint's identity on a host: its address, and its port when it has one (the kernel
 * keeps one endpoint per address, and one more per address and port). One spelling for users and
 * ids, one for file and resource names, both from the same key: never parsed back.
 */
import { canonicalAddress } from "./address";

/** What identifies an endpoint in the kernel. */
export interface EndpointKey {
  address: string;
  port?: number | undefined;
}

/** The key of an endpoint or of anything that carries one, in canonical form. */
export function endpointKey(e: EndpointKey): EndpointKey {
  return e.port === undefined ? { address: canonicalAddress(e.address) } : { address: canonicalAddress(e.address), port: e.port };
}

/** Whether two keys name the same endpoint. */
export function sameEndpoint(a: EndpointKey, b: EndpointKey): boolean {
  return canonicalAddress(a.address) === canonicalAddress(b.address) && a.port === b.port;
}

/** As users read it and ip prints it: "192.168.0.1" or "fd00::1 port 5201" (unambiguous for IPv6). */
export function endpointText(e: EndpointKey): string {
  const k = endpointKey(e);
  return k.port === undefined ? k.address : `${k.address} port ${k.port}`;
}

/** In a file or resource name: "192.168.0.1" or "fd00::1-port-5201". */
export function endpointSlug(e: EndpointKey): string {
  const k = endpointKey(e);
  return k.port === undefined ? k.address : `${k.address}-port-${k.port}`;
}
