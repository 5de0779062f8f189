/**
 * What the kernel measured on each TCP socket during a transfer, from `ss -tni` (and `-m` for
 * the memory line): round trip, window, data in flight, and how long the sender was held back by
 * the receiver's window or its own send buffer. Pure, tested on recorded output.
 */
import { bareAddress } from "./parse";

/** One TCP socket (a plain connection or an MPTCP subflow) as `ss -tni` lists it. */
export interface TcpSocketInfo {
  local: string;
  remote: string;
  /** Bytes in the send queue (ss's Send-Q): sent but unacknowledged, plus not yet sent. */
  sendQueue: number;
  /** Smoothed round trip (ms), the kernel's srtt. */
  rttMs?: number;
  /** The smallest round trip seen on the socket (ms): the path without its queues. */
  minRttMs?: number;
  cwnd?: number;
  mss?: number;
  /** Segments sent and not yet acknowledged. */
  unacked?: number;
  /** The peer's advertised receive window (bytes), as this sender sees it. */
  sndWnd?: number;
  bytesAcked: number;
  /** Share of the busy time the sender was limited by the peer's window, or by its send buffer (%). */
  rwndLimitedPct?: number;
  sndbufLimitedPct?: number;
  /** Receive buffer (skmem rb) and the window it yields so far (rcv_ssthresh), when ss printed them. */
  rcvBuf?: number;
  rcvSsthresh?: number;
  /** The MPTCP connection this subflow belongs to (its local token), absent for plain TCP. */
  mptcpToken?: string;
  /** MPTCP subflow flags (M/J/B/b...), absent for plain TCP. */
  flags?: string;
}

const num = (line: string, key: string): number | undefined => {
  const m = new RegExp(`(?:^|\\s)${key}:([0-9.]+)`).exec(line);
  return m ? Number(m[1]) : undefined;
};
const pct = (line: string, key: string): number | undefined => {
  const m = new RegExp(`(?:^|\\s)${key}:\\d+ms\\(([0-9.]+)%\\)`).exec(line);
  return m ? Number(m[1]) : undefined;
};

/** One MPTCP connection (the msk) as `ss -Mni` lists it: what is outstanding at the data level. */
export interface MptcpSocketInfo {
  local: string;
  remote: string;
  /** This host's token of the connection (its subflows carry it after the '/'). */
  token: string;
  /** Data-level bytes sent and acknowledged (DATA_ACK); kernels before 6.2 do not report them. */
  bytesSent?: number;
  bytesAcked?: number;
}

/** Splits ss output into sockets: the header line with its info lines, and its netid when listed. */
function blocks(ss: string): Array<{ netid: string | undefined; local: string; remote: string; sendQueue: number; info: string[] }> {
  const out: Array<{ netid: string | undefined; local: string; remote: string; sendQueue: number; info: string[] }> = [];
  for (const line of ss.split("\n")) {
    if (!line.trim()) continue;
    if (/^\s/.test(line)) {
      out.at(-1)?.info.push(line);
      continue;
    }
    const words = line.trim().split(/\s+/);
    // "Recv-Q Send-Q Local Peer", optionally after the netid and/or the state.
    const at = words.findIndex((w) => /^\d+$/.test(w));
    const [, sendQ, local, remote] = at >= 0 ? words.slice(at) : [];
    const netid = /^(tcp|mptcp)$/.test(words[0]!) ? words[0] : undefined;
    if (local && remote) out.push({ netid, local: bareAddress(local), remote: bareAddress(remote), sendQueue: Number(sendQ), info: [] });
  }
  return out;
}

/** The MPTCP connections in `ss -tMniH` (or `ss -MniH`) output. */
export function parseMptcpInfo(ss: string): MptcpSocketInfo[] {
  return blocks(ss)
    .filter((b) => b.netid === "mptcp" || b.info.some((l) => /\bsubflows:\d/.test(l)))
    .map((b): MptcpSocketInfo | undefined => {
      const line = b.info.join(" ");
      const token = /\btoken:([0-9a-f]+)(?:\s|$)/.exec(line)?.[1];
      if (!token) return undefined;
      const sent = num(line, "bytes_sent");
      const acked = num(line, "bytes_acked");
      return { local: b.local, remote: b.remote, token, ...(sent !== undefined ? { bytesSent: sent } : {}), ...(acked !== undefined ? { bytesAcked: acked } : {}) };
    })
    .filter((m): m is MptcpSocketInfo => m !== undefined);
}

/** Parses the TCP sockets (subflows and plain connections) of `ss -tniH` output, with or without -m and -M. */
export function parseTcpInfo(ss: string): TcpSocketInfo[] {
  const sockets: TcpSocketInfo[] = [];
  for (const b of blocks(ss)) {
    if (b.netid === "mptcp" || b.info.some((l) => /\bsubflows:\d/.test(l))) continue;
    const current: TcpSocketInfo = { local: b.local, remote: b.remote, sendQueue: b.sendQueue, bytesAcked: 0 };
    sockets.push(current);
    for (const line of b.info) parseInfoLine(current, line);
  }
  return sockets;
}

function parseInfoLine(current: TcpSocketInfo, line: string): void {
  const rtt = /(?:^|\s)rtt:([0-9.]+)\//.exec(line);
  if (rtt) current.rttMs = Number(rtt[1]);
  const fields: Array<[keyof TcpSocketInfo, number | undefined]> = [
    ["minRttMs", num(line, "minrtt")],
    ["cwnd", num(line, "cwnd")],
    ["mss", num(line, "mss")],
    ["unacked", num(line, "unacked")],
    ["sndWnd", num(line, "snd_wnd")],
    ["rwndLimitedPct", pct(line, "rwnd_limited")],
    ["sndbufLimitedPct", pct(line, "sndbuf_limited")],
    ["rcvSsthresh", num(line, "rcv_ssthresh")],
  ];
  for (const [k, v] of fields) if (v !== undefined) (current as unknown as Record<string, number>)[k] = v;
  current.bytesAcked = num(line, "bytes_acked") ?? current.bytesAcked;
  const rb = /skmem:\([^)]*\brb(\d+)/.exec(line);
  if (rb) current.rcvBuf = Number(rb[1]);
  const ulp = /tcp-ulp-mptcp flags:(\S*)/.exec(line);
  if (ulp) current.flags = ulp[1]!;
  // "token:<peer's>(id:N)/<ours>(id:M)": ours names the connection on this host.
  const token = /\btoken:[0-9a-f]+\(id:\d+\)\/([0-9a-f]+)\(id:\d+\)/.exec(line);
  if (token) current.mptcpToken = token[1]!;
}

/** Bytes in flight on a socket: unacknowledged segments times the segment size. */
export function inFlight(s: TcpSocketInfo): number {
  return (s.unacked ?? 0) * (s.mss ?? 0);
}

/** A socket's connection: its MPTCP token, or its own addresses for plain TCP. */
export function connectionKey(s: TcpSocketInfo): string {
  return s.mptcpToken ?? `${s.local} ${s.remote}`;
}

/**
 * Which connection carried the transfer, among everything listed on the port at several moments:
 * iperf3 keeps a control connection there, and a connection of an earlier transfer may linger.
 * The one whose acknowledged bytes grew the most across the listings (from its first) is it.
 */
export function dataConnectionKey(snapshots: ReadonlyArray<readonly TcpSocketInfo[]>): string | undefined {
  const seen = new Map<string, { first: number; most: number }>();
  for (const s of snapshots) {
    const byKey = new Map<string, number>();
    for (const x of s) byKey.set(connectionKey(x), (byKey.get(connectionKey(x)) ?? 0) + x.bytesAcked);
    for (const [key, bytes] of byKey) {
      const known = seen.get(key);
      seen.set(key, known ? { first: known.first, most: Math.max(known.most, bytes) } : { first: bytes, most: bytes });
    }
  }
  // With one listing there is no growth to compare: the most bytes acknowledged decides.
  const score = (v: { first: number; most: number }) => (snapshots.length > 1 ? v.most - v.first : v.most);
  return [...seen.entries()].sort((a, b) => score(b[1]) - score(a[1]))[0]?.[0];
}
