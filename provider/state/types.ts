/** What a host really has, as read by the probe: the input of every planner. */
import type { TableId } from "../model/table";
import type { NmConnection } from "../keepers/networkmanager/facts";
import type { StatePart } from "./fingerprints";

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

/** One policy-routing rule: every field of its selector the kernel stores, and what it does. */
export interface ActualRule {
  /** 6 for IPv6 rules (from `ip -6 rule`); IPv4 otherwise. */
  family?: 6;
  priority: number;
  /** Source prefix, host addresses bare ("10.0.0.2"); absent for `from all`. */
  from?: string;
  /** Destination prefix, as `from`. */
  to?: string;
  iif?: string;
  oif?: string;
  /** "0x1" or "0x1/0xff", as ip prints it. */
  fwmark?: string;
  /** The table it looks up (0 when it does something else). */
  table: TableId;
  /** What it does instead of a lookup (ip's number: 6 blackhole, 7 unreachable, 8 prohibit...). */
  action?: string;
}

/** One route in some table. */
export interface ActualRoute {
  /** 6 for IPv6 routes (from `ip -6 route`); IPv4 otherwise. */
  family?: 6;
  table: TableId;
  /** Absent for unicast; blackhole, unreachable, prohibit, throw, local... otherwise. */
  type?: string;
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
  /** Who configures the host's interfaces and MPTCP besides us (networkd, netplan, NetworkManager, ifupdown, mptcpd). */
  managers: ManagerFacts;
}

/** Who manages one interface: the manager that would re-apply (or undo) its addresses, rules and routes. */
export type InterfaceManager =
  | {
      kind: "networkd";
      /** The .network file networkd applied to it. */
      networkFile: string;
      /** Its drop-ins (NETWORK_FILE_DROPINS), in the order networkd read them. */
      dropIns: string[];
      /** Whether that file is netplan's rendering (/run/systemd/network/10-netplan-*.network). */
      fromNetplan: boolean;
    }
  | {
      kind: "NetworkManager";
      /** The active connection on the device; absent while the device is managed but disconnected. */
      connection?: { id: string; uuid: string; mptcpFlags: string; filename?: string };
    }
  | { kind: "ifupdown" }
  | { kind: "none" };

/** systemd-networkd's own settings that decide whether it removes what it did not configure. */
export interface NetworkdFacts {
  running: boolean;
  /** ManageForeignRoutingPolicyRules= (networkd.conf and its drop-ins; default yes). */
  manageForeignRoutingPolicyRules: boolean;
  /** ManageForeignRoutes= (default yes). */
  manageForeignRoutes: boolean;
  /** The networkd.conf files read, in the order networkd reads them. */
  configFiles: string[];
}

/** mptcpd, the userspace daemon that adds MPTCP endpoints of its own. */
export interface MptcpdFacts {
  running: boolean;
  /** Plugins it loads: `load-plugins` (command line, then config), else every plugin installed. */
  plugins: string[];
  /** Its configuration file's settings (mptcpd.conf `key=value`). */
  config: Record<string, string>;
  /** Its command line while running. */
  commandLine?: string;
}

/** Network managers and MPTCP daemons on the host, read by the probe. */
export interface ManagerFacts {
  /** Whether systemd is PID 1 (units, networkd and NetworkManager are read only then). */
  systemd: boolean;
  /** Per interface (every link but lo): who manages it. */
  interfaces: Record<string, InterfaceManager>;
  networkd: NetworkdFacts;
  networkManager: { running: boolean };
  /** netplan's YAML files (/etc, /run, /lib/netplan), when it is installed. */
  netplan: { installed: boolean; files: string[] };
  mptcpd: MptcpdFacts;
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
  /** Files of ours under /etc (sysctl.d, the boot replay, the managers' files of ours), by path, with their content. */
  files: Record<string, string>;
  /** Connections NetworkManager has active, by device (absent when NM does not run). */
  nm?: NmConnection[];
  /** The address this SSH session arrives on, when the server says (SSH_CONNECTION). */
  sessionLocalAddress?: string;
  /** The address this SSH session comes from (SSH_CONNECTION). */
  sessionPeerAddress?: string;
  /** The device the host's route to the session's peer leaves by (`ip route get PEER from LOCAL`). */
  sessionDevice?: string;
  /** Routing-table names of the host's rt_tables files (and iproute2's own), to their numbers. */
  tableNames: Record<string, TableId>;
  /** A checksum of each part of the state, as read: a change set checks them again under the lock. */
  fingerprints: Partial<Record<StatePart, string>>;
}
