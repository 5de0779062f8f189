/**
 * The proof that MPTCP works between a pair: measurement (measure.ts), the verdict by path role
 * (verdict.ts), the timeline sampler (timeline.ts), failover (failover.ts, inject.ts) and the
 * reports (table.ts, report.ts).
 */
export { measurePair, type FailoverSpec, type MeasuredHost, type PairResult, type PairSpec } from "./measure";
export { median, parseAddresses, parseIperfMbps, parseMptcpCounters, parseSubflows, type Subflow } from "./parse";
export { judge, ACTIVE_MIN_SHARE, BACKUP_MAX_SHARE, type PathResult, type PathRole, type PathSpec } from "./verdict";
export { parseTimeline, rates, SAMPLE_INTERVAL_SECONDS, type Sample, type Timeline } from "./timeline";
export { analyzeFailover, FAILURE_KINDS, type FailoverResult, type FailoverWindows, type FailureKind } from "./failover";
export { netnsInjector, sshInjector, type FailureCommands, type Injector } from "./inject";
export { formatTable } from "./table";
