/**
 * Parsers for what the hosts report during a measurement: the kernel's MPTCP counters, iperf3's
 * summary, `ss` subflow listings and `ip -o addr` lines. Pure, tested on recorded output.
 */

/** MPTcpExt counters from /proc/net/netstat. */
export function parseMptcpCounters(netstat: string): Record<string, number> {
  const lines = netstat.split("\n").filter((l) => l.startsWith("MPTcpExt:"));
  if (lines.length < 2) return {};
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

/** Receiver-side throughput in Mbit/s from `iperf3 -J` output. */
export function parseIperfMbps(json: string): number {
  const report = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error("iperf3 printed no receiver summary");
  return bps / 1e6;
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** An address as the kernel lists it in `ss`: IPv4-mapped IPv6, brackets, %dev and port removed. */
export function bareAddress(endpoint: string): string {
  let a = endpoint.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  a = a.replace(/%[^%]*$/, "");
  return a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
}

/** One MPTCP subflow as `ss -tni` shows it. */
export interface Subflow {
  local: string;
  remote: string;
  /** ss's subflow flags: M/m MP_CAPABLE, J/j MP_JOIN, B/b backup (remote/local), e, c, v. */
  flags: string;
}

/** The MPTCP subflows in `ss -tniH` output (TCP sockets without the MPTCP ULP are skipped). */
export function parseSubflows(ss: string): Subflow[] {
  const subflows: Subflow[] = [];
  let socket: { local: string; remote: string } | undefined;
  for (const line of ss.split("\n")) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      // "Recv-Q Send-Q Local Peer" (state omitted by a state filter), or with the state first.
      const words = line.trim().split(/\s+/);
      const [local, remote] = /^\d+$/.test(words[0]!) ? [words[2], words[3]] : [words[3], words[4]];
      socket = local && remote ? { local: bareAddress(local), remote: bareAddress(remote) } : undefined;
      continue;
    }
    const ulp = /tcp-ulp-mptcp flags:(\S+)/.exec(line);
    if (socket && ulp) subflows.push({ ...socket, flags: ulp[1]! });
    if (socket && /tcp-ulp-mptcp/.test(line) && !ulp) subflows.push({ ...socket, flags: "" });
  }
  return subflows;
}

/** Addresses per interface from `ip -o addr show` lines. */
export function parseAddresses(ipOutput: string): Record<string, string[]> {
  const byDev: Record<string, string[]> = {};
  for (const line of ipOutput.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+inet6?\s+([0-9a-fA-F.:]+)\//.exec(line);
    if (m) (byDev[m[1]!] ??= []).push(m[2]!.toLowerCase());
  }
  return byDev;
}
