/**
 * Long fat paths (pure): each path's round trip and bandwidth-delay product, the window the
 * paths together need against what the hosts' socket buffers allow, whether the connection was
 * window-limited, and the buffer sizes that would remove the limit. Inputs are what the kernels
 * measured during the transfer (`ss -tni` on the subflows) and the hosts' sysctls.
 */
import { median } from "./parse";
import { connectionKey, dataConnectionKey, inFlight, type MptcpSocketInfo, type TcpSocketInfo } from "./tcpinfo";
import { devOf } from "./timeline";

/** A host's kernel and socket buffer limits, read before a measurement. */
export interface HostBuffers {
  /** `uname -r`. */
  kernel: string;
  /** net.ipv4.tcp_rmem / tcp_wmem: min, default, max (bytes). Autotuning grows up to max. */
  tcpRmem: [number, number, number];
  tcpWmem: [number, number, number];
  /** net.core.rmem_max / wmem_max: the cap on an explicit SO_RCVBUF / SO_SNDBUF (iperf3 -w). */
  rmemMax: number;
  wmemMax: number;
  /** net.ipv4.tcp_adv_win_scale: how much of the receive buffer is window before kernel 6.6. */
  advWinScale: number;
  /** net.mptcp.scheduler and available_schedulers (kernels that have them). */
  scheduler?: string;
  availableSchedulers: string[];
}

/** The sysctls the window verdict reads (verify.sh's `buffers` prints them after the kernel). */
export const BUFFER_SYSCTLS = ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_adv_win_scale", "net.mptcp.scheduler", "net.mptcp.available_schedulers"];

/** Parses the output of verify.sh's `buffers` (the kernel, then `key=value` lines); throws naming what is missing. */
export function parseHostBuffers(output: string): HostBuffers {
  const [kernel = "", ...lines] = output.trim().split("\n");
  const values = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]));
  const triple = (k: string): [number, number, number] => {
    const v = (values[k] ?? "").split(/\s+/).map(Number);
    if (v.length !== 3 || v.some((n) => !Number.isFinite(n))) throw new Error(`${k}: expected three numbers, got '${values[k] ?? ""}'`);
    return v as [number, number, number];
  };
  const one = (k: string, fallback: number) => (values[k] ? Number(values[k]) : fallback);
  const scheduler = values["net.mptcp.scheduler"];
  return {
    kernel: kernel.trim(),
    tcpRmem: triple("net.ipv4.tcp_rmem"),
    tcpWmem: triple("net.ipv4.tcp_wmem"),
    rmemMax: one("net.core.rmem_max", 0),
    wmemMax: one("net.core.wmem_max", 0),
    advWinScale: one("net.ipv4.tcp_adv_win_scale", 1),
    ...(scheduler ? { scheduler } : {}),
    availableSchedulers: (values["net.mptcp.available_schedulers"] ?? "").split(/\s+/).filter(Boolean),
  };
}

/** Whether a `uname -r` is at least major.minor. */
export function kernelAtLeast(kernel: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return false;
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

/** The most window a receive buffer of `space` bytes gives, and the rule that says so. */
export function windowFromSpace(space: number, receiver: HostBuffers, measuredRatio?: number): { bytes: number; fraction: number; rule: string } {
  if (!kernelAtLeast(receiver.kernel, 6, 6)) {
    // tcp_win_from_space() before 6.6 (include/net/tcp.h): space - (space >> scale), or
    // space >> -scale when scale <= 0. MPTCP's receive autotuning (mptcp_rcv_space_adjust,
    // net/mptcp/protocol.c) caps the msk's buffer at tcp_rmem[2] and clamps every subflow's
    // window with the same function, so one shared window comes out of it.
    const s = receiver.advWinScale;
    const bytes = s <= 0 ? Math.floor(space / 2 ** -s) : space - Math.floor(space / 2 ** s);
    return { bytes, fraction: bytes / space, rule: `tcp_adv_win_scale ${s} leaves ${fmtFraction(bytes / space)} of it as window` };
  }
  // 6.6 dropped tcp_adv_win_scale (commit dfa2f0483360, "tcp: get rid of
  // sysctl_tcp_adv_win_scale"): window = space * scaling_ratio / 256, where scaling_ratio is
  // what the receiver measures per packet (payload / truesize), 128 (half) until it has.
  const fraction = measuredRatio ?? 0.5;
  const rule = measuredRatio ? `the receiver advertised ${fmtFraction(fraction)} of it as window: kernels 6.6+ size the window by payload/truesize` : "about half of it is window until the kernel (6.6+) has measured payload/truesize";
  return { bytes: Math.floor(space * fraction), fraction, rule };
}

/** One path's figures. */
export interface PathWindow {
  dev: string;
  /** The kernel's smoothed round trip on the path's busiest subflow, and the smallest it saw (ms). */
  rttMs: number | null;
  minRttMs: number | null;
  /** What the path carries alone: its single-path TCP rate, or (unmeasured) its MPTCP share. */
  rateMbps: number;
  rateFrom: "tcp" | "mptcp";
  /** rate x minimum round trip. */
  bdpBytes: number;
}

/** The connection's window against its paths. */
export interface WindowAnalysis {
  paths: PathWindow[];
  /** What the paths need in flight together: the sum of their rates times the longest round trip. */
  needBytes: number;
  /** The window the receiver's tcp_rmem maximum gives, and why. */
  receiveWindowBytes: number;
  receiveRule: string;
  /** What the sender's tcp_wmem maximum lets it keep unacknowledged. */
  sendLimitBytes: number;
  /** The smaller of the two, and which one it is. */
  allowedBytes: number;
  limitedBy: "tcp_rmem" | "tcp_wmem";
  /** Largest window the receiver advertised, and the most data in flight seen (kernel's figures). */
  advertisedWindowBytes: number;
  inFlightBytes: number;
  /** inFlight / advertised window at the fullest snapshot (0..1): information, not the verdict. */
  fill: number;
  windowLimited: boolean;
  verdict: string;
}

/** What analyzeWindow needs. */
export interface WindowEvidence {
  paths: ReadonlyArray<{ dev: string; rateMbps: number; rateFrom: "tcp" | "mptcp" }>;
  /** The sender's (client's) sockets on the port, and its MPTCP connections, at several moments of the transfer. */
  senderSnapshots: ReadonlyArray<{ tcp: readonly TcpSocketInfo[]; mptcp: readonly MptcpSocketInfo[] }>;
  /** The receiver's (server's) sockets at the same moments (their rb and rcv_ssthresh). */
  receiverSnapshots: ReadonlyArray<readonly TcpSocketInfo[]>;
  /** The client's addresses per link, to tell which path a subflow takes. */
  addresses: Record<string, string[]>;
  receiver: { name: string; buffers: HostBuffers };
  sender: { name: string; buffers: HostBuffers };
  mptcp: boolean;
}

/** Bytes as "3.7 MB"; MiB as "3.4 MiB". */
export const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const fmtMiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const fmtFraction = (f: number) => (Math.abs(f - 0.5) < 0.01 ? "half" : `${Math.round(f * 100)}%`);
const fmtMs = (ms: number | null) => (ms === null ? "?" : `${Math.round(ms)} ms`);

/** Judges the window of one MPTCP (or TCP) transfer. */
export function analyzeWindow(e: WindowEvidence): WindowAnalysis {
  const key = dataConnectionKey(e.senderSnapshots.map((s) => s.tcp));
  const taken = e.senderSnapshots.map((s) => ({ sockets: s.tcp.filter((x) => connectionKey(x) === key), mptcp: s.mptcp })).filter((s) => s.sockets.length > 0);
  const snapshots = taken.map((s) => s.sockets);
  // The latest reading that still lists the connection (the transfer may end before the last).
  const last = snapshots.at(-1) ?? [];
  const paths = e.paths.map((p): PathWindow => {
    const on = (s: readonly TcpSocketInfo[]) => s.filter((x) => devOf(x.local, e.addresses) === p.dev);
    const busiest = on(last).sort((a, b) => b.bytesAcked - a.bytesAcked)[0];
    const mins = snapshots.flatMap(on).map((x) => x.minRttMs).filter((v): v is number => v !== undefined);
    const minRttMs = mins.length ? Math.min(...mins) : null;
    return { dev: p.dev, rttMs: busiest?.rttMs ?? null, minRttMs, rateMbps: p.rateMbps, rateFrom: p.rateFrom, bdpBytes: minRttMs === null ? 0 : (p.rateMbps * 1e6 * minRttMs) / 1000 / 8 };
  });
  const rttMax = Math.max(0, ...paths.map((p) => p.minRttMs ?? 0));
  const needBytes = paths.reduce((n, p) => n + (p.rateMbps * 1e6 * rttMax) / 1000 / 8, 0);
  const advertised = Math.max(0, ...snapshots.flat().map((s) => s.sndWnd ?? 0));
  const fills = taken.map((s) => ({ inFlight: outstanding(s.sockets, s.mptcp), wnd: Math.max(0, ...s.sockets.map((x) => x.sndWnd ?? 0)) }));
  const fullest = fills.reduce((a, b) => (b.wnd && b.inFlight / b.wnd > (a.wnd ? a.inFlight / a.wnd : -1) ? b : a), { inFlight: 0, wnd: 0 });
  const fill = fullest.wnd ? fullest.inFlight / fullest.wnd : 0;
  const rmem = e.receiver.buffers.tcpRmem[2];
  const receive = windowFromSpace(rmem, e.receiver.buffers, measuredRatio(e.receiverSnapshots, advertised, rmem));
  // The sender keeps every unacknowledged byte: at most tcp_wmem[2] per socket. An MPTCP msk
  // took its largest subflow's send buffer before 6.7 (mptcp_propagate_sndbuf), the sum of
  // its subflows' since (__mptcp_sync_sndbuf, net/mptcp/protocol.h; "mptcp: refactor sndbuf
  // auto-tuning", 6.7).
  const subflows = Math.max(1, last.filter((s) => s.bytesAcked > 0).length);
  const perSocket = e.sender.buffers.tcpWmem[2];
  const sendLimitBytes = e.mptcp && kernelAtLeast(e.sender.buffers.kernel, 6, 7) ? perSocket * subflows : perSocket;
  const limitedBy = receive.bytes <= sendLimitBytes ? "tcp_rmem" : "tcp_wmem";
  const allowedBytes = Math.min(receive.bytes, sendLimitBytes);
  // The verdict is the arithmetic, not the fill: an MPTCP sender hands data to its subflows
  // up to the window even when they are cwnd-bound (measured on 6.12 with 32 MiB buffers: 86%
  // of a 20 MB window outstanding at 1.9x one path), so a full window is not proof of a limit;
  // a window smaller than rate x round trip is: it caps the connection at window / round trip.
  const windowLimited = needBytes > allowedBytes;
  const n = paths.length;
  const need = `the ${n === 1 ? "path needs" : `${n} paths need`} at least ${fmtMB(needBytes)} in flight (${paths.map((p) => `${p.dev} ${p.rateMbps.toFixed(1)} Mbit/s`).join(" + ")} x ${fmtMs(rttMax)})`;
  const gives =
    limitedBy === "tcp_rmem"
      ? `tcp_rmem's maximum (${fmtMiB(rmem)} on ${e.receiver.name}) gives about ${fmtMB(receive.bytes)} of window (${receive.rule})`
      : `tcp_wmem's maximum (${fmtMiB(perSocket)} on ${e.sender.name}) lets the sender keep about ${fmtMB(sendLimitBytes)} unacknowledged`;
  const used = `${Math.round(fill * 100)}% of the advertised ${fmtMB(advertised)} window was outstanding`;
  const verdict = windowLimited ? `window-limited: ${need}, ${gives}; ${used}` : `not window-limited: ${need}, the buffers allow about ${fmtMB(allowedBytes)}; ${used}`;
  return { paths, needBytes, receiveWindowBytes: receive.bytes, receiveRule: receive.rule, sendLimitBytes, allowedBytes, limitedBy, advertisedWindowBytes: advertised, inFlightBytes: fullest.inFlight, fill, windowLimited, verdict };
}

/**
 * Data the receiver has not acknowledged yet, which the window must hold: for MPTCP the
 * data-level figure (bytes_sent - bytes_acked of the msk, kernels 6.2+) when the kernel reports
 * it, since subflows may have their bytes acknowledged while the data waits, out of order, at the
 * receiver for a slower path (measured on 6.12: 0.1 MB in flight on the subflows, 1.7 MB at the
 * data level, the whole window); else the sum over the subflows (6.1: the same 1.8 MB).
 */
function outstanding(sockets: readonly TcpSocketInfo[], msks: readonly MptcpSocketInfo[]): number {
  const onSubflows = sockets.reduce((n, x) => n + inFlight(x), 0);
  const msk = msks.find((m) => m.token === sockets[0]?.mptcpToken);
  const atDataLevel = msk?.bytesSent !== undefined && msk.bytesAcked !== undefined ? msk.bytesSent - msk.bytesAcked : 0;
  return Math.max(onSubflows, atDataLevel);
}

/**
 * The receiver's window per byte of buffer, where the kernel shows it (6.6+ measures it per
 * connection): the advertised window over the buffer, once the buffer reached tcp_rmem's maximum.
 */
function measuredRatio(receiverSnapshots: ReadonlyArray<readonly TcpSocketInfo[]>, advertised: number, rmemMax: number): number | undefined {
  const rb = Math.max(0, ...receiverSnapshots.flat().map((s) => s.rcvBuf ?? 0));
  if (rb < 0.9 * rmemMax || advertised === 0) return undefined;
  return Math.min(1, advertised / rb);
}

/** Sysctl values that remove a window limit, for both hosts' `sysctls`. */
export interface BufferAdvice {
  /** What to set: net.ipv4.tcp_rmem and tcp_wmem, min and default kept, max raised. */
  sysctls: Record<string, string>;
  /** For applications that size their own buffers (SO_RCVBUF/SO_SNDBUF, iperf3 -w): the caps. */
  explicitSockets: Record<string, string>;
  /** Why these values. */
  reason: string;
}

/** The next power of two at or above n (buffer maxima conventionally are). */
const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * The buffers that give the paths twice the window they need: Raiciu et al., "How Hard Can It
 * Be? Designing and Implementing a Deployable Multipath TCP" (NSDI 2012, section 4.2), size an
 * MPTCP receive buffer at 2 x (sum of the paths' rates) x (longest round trip), so that a loss
 * on the slowest path does not stall the others. Undefined when the buffers already allow that.
 */
export function adviseBuffers(w: WindowAnalysis, receiver: HostBuffers, sender: HostBuffers): BufferAdvice | undefined {
  const target = 2 * w.needBytes;
  if (w.allowedBytes >= target) return undefined;
  const fraction = w.receiveWindowBytes / receiver.tcpRmem[2];
  const max = Math.max(pow2(target / fraction), receiver.tcpRmem[2], sender.tcpWmem[2]);
  const sysctls = {
    "net.ipv4.tcp_rmem": `${receiver.tcpRmem[0]} ${receiver.tcpRmem[1]} ${max}`,
    "net.ipv4.tcp_wmem": `${sender.tcpWmem[0]} ${sender.tcpWmem[1]} ${max}`,
  };
  const explicitSockets = { "net.core.rmem_max": String(max), "net.core.wmem_max": String(max) };
  const reason = `twice what the paths need (2 x ${fmtMB(w.needBytes)}), of which ${fmtFraction(fraction)} of the receive buffer is window: ${fmtMiB(max)} for both, on both hosts (either may send)`;
  return { sysctls, explicitSockets, reason };
}

/** MPTCP is slower than a path alone when it falls this far below the best single-path rate. */
export const SLOWER_MARGIN = 0.9;

/** The best single path, when MPTCP is slower than it (beyond noise and MPTCP's own overhead). */
export function slowerThanBestPath(mptcpMbps: number, tcpByPath: Record<string, number>): { dev: string; mbps: number } | undefined {
  const [dev, mbps] = Object.entries(tcpByPath).sort((a, b) => b[1] - a[1])[0] ?? [];
  if (dev === undefined || mbps === undefined) return undefined;
  return mptcpMbps < SLOWER_MARGIN * mbps ? { dev, mbps } : undefined;
}

/**
 * What each path can carry, at least: its single-path TCP rate where measured, or what it
 * carried of MPTCP when that was more (an unmeasured path, or one unlucky single-path run:
 * on long round trips a loss in slow start costs seconds).
 */
export function pathRates(devs: readonly string[], tcpByPath: Record<string, number>, mptcpMbps: number, shares: Record<string, number>): Array<{ dev: string; rateMbps: number; rateFrom: "tcp" | "mptcp" }> {
  return devs.map((dev) => {
    const tcp = tcpByPath[dev] ?? 0;
    const share = mptcpMbps * (shares[dev] ?? 0);
    return tcp >= share && tcpByPath[dev] !== undefined ? { dev, rateMbps: tcp, rateFrom: "tcp" as const } : { dev, rateMbps: share, rateFrom: "mptcp" as const };
  });
}

/** Medians of per-run figures, by key. */
export function medians(runs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]).filter((v): v is number => v !== undefined))]));
}
