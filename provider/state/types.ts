/** What a host really has, as read by the probe: the input of every planner. */
import type { NmConnection } from "./nm";

/** An MPTCP endpoint flag as the kernel names it. */
export type EndpointFlag = "signal" | "subflow" | "backup" | "fullmesh" | "laminar" | "implicit";

/** One `ip mptcp endpoint` entry. */
export interface ActualEndpoint {
  id: number;
  address: string;
  port?: number;
  dev?: string;
  flags: EndpointFlag[];
}

/** One network interface with its addresses. */
export interface ActualLink {
  name: string;
  /** Administratively up (the UP flag), whatever the carrier says. */
  up: boolean;
  operState: string;
  mtu: number;
  /** Addresses in CIDR form, e.g. "10.0.0.1/24". */
  addresses: string[];
}

/** One policy-routing rule. */
export interface ActualRule {
  /** 6 for IPv6 rules (from `ip -6 rule`); IPv4 otherwise. */
  family?: 6;
  priority: number;
  from?: string;
  table: string;
}

/** One route in some table. */
export interface ActualRoute {
  /** 6 for IPv6 routes (from `ip -6 route`); IPv4 otherwise. */
  family?: 6;
  table: string;
  dst: string;
  dev?: string;
  via?: string;
  scope?: string;
  metric?: number;
  src?: string;
  protocol?: string;
}

/** Facts about the host that resources report as outputs. */
export interface HostFacts {
  hostname: string;
  kernelRelease: string;
  iproute2Version: string;
  mptcpAvailable: boolean;
  pathManagers: string[];
  schedulers: string[];
}

/** Path-manager limits. */
export interface MptcpLimits {
  subflows: number;
  addAddrAccepted: number;
}

/** The host's whole relevant state, read in one round trip. */
export interface HostState {
  facts: HostFacts;
  sysctls: Record<string, string>;
  limits?: MptcpLimits;
  endpoints: ActualEndpoint[];
  links: ActualLink[];
  rules: ActualRule[];
  routes: ActualRoute[];
  /** Files of ours under /etc (sysctl.d and the boot replay), by path, with their content. */
  files: Record<string, string>;
  /** Connections NetworkManager has active, by device (absent when NM does not run). */
  nm?: NmConnection[];
  /** The address this SSH session arrives on, when the server says (SSH_CONNECTION). */
  sessionLocalAddress?: string;
}
