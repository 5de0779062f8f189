/**
 * The verdict on a pair, from what happened on the wire: each path judged by its role. An
 * active path must carry a real share of the traffic; a backup path must have joined (a backup
 * subflow seen on both ends) and carry next to nothing while the active paths are up.
 */
import type { Subflow } from "./parse";
import { devOf } from "./timeline";

/** A path's role: `active` carries traffic, `backup` stands by until the active paths fail. */
export type PathRole = "active" | "backup";

/** One path of a pair, named by the client's link. */
export interface PathSpec {
  dev: string;
  role: PathRole;
  /** The server's link on the same path (used to fail the path from the server's side). */
  peerDev?: string | undefined;
  /** The server's address on the path (single-path TCP to it measures the path alone). */
  peerAddress?: string | undefined;
}

/** Below this share of the bytes, an active path is not really carrying traffic. */
export const ACTIVE_MIN_SHARE = 0.05;
/** Above this share, a backup path is carrying traffic while the active paths are up. */
export const BACKUP_MAX_SHARE = 0.02;

/** What the measurement found on one path. */
export interface PathResult {
  dev: string;
  role: PathRole;
  /** Bytes the client sent on this link during the MPTCP runs. */
  bytes: number;
  /** This link's share of those bytes (0..1). */
  share: number;
  /** MPTCP subflows on this path seen on each end (mid-transfer), and how many were flagged backup. */
  subflows: { client: number; server: number; clientBackup: number; serverBackup: number };
}

/** Joins seen by the kernels' counters during the measurement. */
export interface Joins {
  clientSynAckRx: number;
  serverSynRx: number;
  serverAckRx: number;
  mpCapable: number;
}

/** What `judge` needs: the paths, bytes per link, subflows on both ends, counters. */
export interface Evidence {
  paths: readonly PathSpec[];
  bytes: Record<string, number>;
  clientSubflows: readonly Subflow[];
  serverSubflows: readonly Subflow[];
  /** The client's addresses per link, to tell which path a subflow uses. */
  clientAddresses: Record<string, string[]>;
  joins: Joins;
}

const isBackup = (s: Subflow) => /[bB]/.test(s.flags);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Per-path results and the problems found, each naming its path. */
export function judge(e: Evidence): { paths: PathResult[]; problems: string[] } {
  const problems: string[] = [];
  if (e.joins.mpCapable === 0) problems.push("no MPTCP connection reached the server (MPCapableSYNRX did not move): MPTCP fell back to TCP");
  if (e.paths.length > 1 && e.joins.serverAckRx === 0) problems.push("no second path joined (MPJoinAckRx did not move on the server)");
  const total = e.paths.reduce((n, p) => n + (e.bytes[p.dev] ?? 0), 0);
  const paths = e.paths.map((p): PathResult => {
    const bytes = e.bytes[p.dev] ?? 0;
    const onClient = e.clientSubflows.filter((s) => devOf(s.local, e.clientAddresses) === p.dev);
    const onServer = e.serverSubflows.filter((s) => devOf(s.remote, e.clientAddresses) === p.dev);
    return {
      dev: p.dev,
      role: p.role,
      bytes,
      share: total > 0 ? bytes / total : 0,
      subflows: { client: onClient.length, server: onServer.length, clientBackup: onClient.filter(isBackup).length, serverBackup: onServer.filter(isBackup).length },
    };
  });
  for (const p of paths) {
    const pct = `${(p.share * 100).toFixed(1)}%`;
    if (p.role === "active" && total > 0 && p.share < ACTIVE_MIN_SHARE) {
      problems.push(`active path ${p.dev} carried only ${mb(p.bytes)} of ${mb(total)} (${pct})`);
    }
    if (p.role === "backup") {
      if (p.subflows.clientBackup === 0) problems.push(`backup path ${p.dev}: no backup subflow on the client (${p.subflows.client} subflow(s) on that link, none flagged backup)`);
      if (p.subflows.serverBackup === 0) problems.push(`backup path ${p.dev}: no backup subflow on the server (${p.subflows.server} subflow(s) from that link, none flagged backup)`);
      if (p.share > BACKUP_MAX_SHARE) problems.push(`backup path ${p.dev} carried ${mb(p.bytes)} of ${mb(total)} (${pct}) while the active paths were up (a backup carries next to nothing)`);
    }
  }
  return { paths, problems };
}
