/**
 * The order a host's resources are declared, created and deleted in: each kind waits only for
 * what the host needs done before it. MptcpServer declares its dependencies from this table and
 * the benchmark's profile reads it.
 */
import type { ResourceKind } from "../runtime";

/** A resource kind of one host (the pair's MptcpVerification is the group's, not a host's). */
export type HostResourceKind = Exclude<ResourceKind, "MptcpVerification">;

/**
 * What each kind waits for. Policy routes need their interfaces' addresses; endpoints need the
 * limits and their interfaces but not the tables, whose round trip they share (the host orders
 * the two inside it, provider/state/batch.ts).
 */
export const WAITS_FOR: Readonly<Record<HostResourceKind, readonly HostResourceKind[]>> = {
  Preflight: [],
  MptcpHost: ["Preflight"],
  NetworkInterface: ["Preflight"],
  SysctlTuning: ["Preflight"],
  PolicyRoute: ["Preflight", "NetworkInterface"],
  Endpoint: ["Preflight", "MptcpHost", "NetworkInterface"],
};
