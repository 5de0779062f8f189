/**
 * IP addresses and prefixes as the kernel and iproute2 spell them, and what they refuse. Pure:
 * one canonical form per address (IPv6 lowercased and compressed as inet_ntop does), so a
 * declared value and the host's compare equal whatever the user's spelling.
 */
import { isIP } from "node:net";

/** An address family. */
export type Family = 4 | 6;

/** An address's family, or undefined when it is not a plain IPv4 or IPv6 address (zone ids are not). */
export function familyOf(address: string): Family | undefined {
  if (address.includes("%")) return undefined;
  const family = isIP(address);
  return family === 4 || family === 6 ? family : undefined;
}

/** An IPv6 address as its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  const [head = "", tail = ""] = address.split("::");
  const words = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const w of part.split(":")) {
      if (w.includes(".")) {
        const [a, b, c, d] = w.split(".").map(Number);
        out.push((a! << 8) | b!, (c! << 8) | d!);
      } else out.push(parseInt(w, 16));
    }
    return out;
  };
  const h = words(head);
  const t = words(tail);
  return address.includes("::") ? [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
}

/** RFC 5952: lowercase, no leading zeros, the first longest run of two or more zero groups as `::`. */
function compress(groups: readonly number[]): string {
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`;
}

/** The kernel's spelling of an address: IPv6 lowercased and compressed ("2001:DB8:0::2" -> "2001:db8::2"). */
export function canonicalAddress(address: string): string {
  return familyOf(address) === 6 ? compress(ipv6Groups(address)) : address;
}

/** An address as a big integer, for prefix arithmetic in either family. */
export function addressBits(address: string): bigint {
  if (familyOf(address) === 4) return address.split(".").reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
  return ipv6Groups(address).reduce((n, g) => (n << 16n) + BigInt(g), 0n);
}

/** Splits "10.0.0.1/24" into address, prefix length and family; undefined when malformed. */
export function splitCidr(cidr: string): { address: string; prefix: number; family: Family } | undefined {
  const slash = cidr.indexOf("/");
  if (slash <= 0) return undefined;
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  const family = familyOf(address);
  // A leading zero makes ip read the length as octal (`/024` is /20): refused as malformed.
  if (family === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/** Normalizes an address/prefix so "10.0.0.1/24" and spelling variants never diff spuriously. */
export function canonicalCidr(cidr: string): string {
  const parts = splitCidr(cidr);
  return parts ? `${canonicalAddress(parts.address)}/${parts.prefix}` : cidr;
}

/** The network of a prefix ("10.0.0.7/24" -> "10.0.0.0/24"). */
export function networkOf(cidr: string): string | undefined {
  const parts = splitCidr(cidr);
  if (!parts) return undefined;
  const width = parts.family === 4 ? 32n : 128n;
  const host = width - BigInt(parts.prefix);
  const bits = (addressBits(parts.address) >> host) << host;
  return `${bitsToAddress(bits, parts.family)}/${parts.prefix}`;
}

/** A big integer back to an address of `family`. */
function bitsToAddress(bits: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((bits >> BigInt(i * 16)) & 0xffffn));
  return compress(groups);
}

/** True when `address` lies inside network `cidr`; addresses of the other family never do. */
export function inSubnet(address: string, cidr: string): boolean {
  const net = splitCidr(cidr);
  if (!net || familyOf(address) !== net.family) return false;
  const shift = (net.family === 4 ? 32n : 128n) - BigInt(net.prefix);
  return addressBits(address) >> shift === addressBits(net.address) >> shift;
}

/**
 * Why a text is not a plain address the kernel would take the way it is written, or undefined.
 * Zone ids (`fe80::1%eno1`): ip refuses them; the interface is the `dev` field. IPv4-mapped and
 * IPv4-compatible IPv6 addresses: the kernel prints them as `::ffff:10.0.0.1`, a host would never
 * match our spelling, and on an interface or endpoint they mean the IPv4 address.
 */
export function addressProblem(text: string): string | undefined {
  if (text.includes("%")) return `${JSON.stringify(text)} has a zone id: write the address alone (${text.slice(0, text.indexOf("%"))}) and name the interface in dev`;
  const family = familyOf(text);
  if (family === undefined) {
    if (/^[0-9.]+$/.test(text) && /(^|\.)0[0-9]/.test(text)) return `${JSON.stringify(text)} has a leading zero in an octet, which ip reads as octal: write it without`;
    return `${JSON.stringify(text)} is not an IPv4 or IPv6 address`;
  }
  if (family === 6) {
    const groups = ipv6Groups(text);
    if (groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || (groups[5] === 0 && text.includes(".")))) {
      return `${JSON.stringify(text)} is an IPv4 address written as IPv6: write ${bitsToAddress(addressBits(text) & 0xffffffffn, 4)}`;
    }
  }
  return undefined;
}

/**
 * Why an address cannot be a host's own unicast address (an interface's, an endpoint's, a
 * route's source), or undefined: the unspecified address, loopback, multicast and the
 * broadcast addresses are refused or misused by the kernel.
 */
export function unicastProblem(address: string): string | undefined {
  const family = familyOf(address);
  if (family === undefined) return undefined;
  const bits = addressBits(address);
  if (family === 4) {
    if (bits === 0n) return `${address} is the unspecified address (the kernel drops it)`;
    if (bits >> 24n === 127n) return `${address} is a loopback address`;
    if (bits >> 28n === 14n) return `${address} is a multicast address`;
    if (bits === 0xffffffffn) return `${address} is the limited broadcast address`;
    return undefined;
  }
  if (bits === 0n) return `${address} is the unspecified address`;
  if (bits === 1n) return `${address} is the loopback address`;
  if (bits >> 120n === 0xffn) return `${address} is a multicast address`;
  return undefined;
}

/** Why an interface address (address/prefix) is not one a host should carry, or undefined. */
export function interfaceAddressProblem(cidr: string): string | undefined {
  const parts = splitCidr(cidr);
  if (!parts) return undefined;
  const unicast = unicastProblem(parts.address);
  if (unicast) return unicast;
  if (parts.prefix === 0) return `${cidr} has prefix length 0: it would claim every address (IPv6 installs a default route through it)`;
  if (parts.family === 4 && parts.prefix <= 30) {
    const host = 32n - BigInt(parts.prefix);
    const hostBits = addressBits(parts.address) & ((1n << host) - 1n);
    if (hostBits === 0n) return `${cidr} is the network address of its subnet`;
    if (hostBits === (1n << host) - 1n) return `${cidr} is the broadcast address of its subnet`;
  }
  return undefined;
}

/** Why a prefix has bits set beyond its length, or undefined: ip refuses it for a route, and a rule would match another prefix than written. */
export function hostBitsProblem(cidr: string): string | undefined {
  const network = networkOf(cidr);
  if (network === undefined || network === canonicalCidr(cidr)) return undefined;
  return `${cidr} has host bits set beyond its prefix length: write the network, ${network}`;
}
