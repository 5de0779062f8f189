/**
 * Every path the provider uses on a host, in one place. The programs that run there get them as
 * their environment or as arguments (provider/protocol.ts, provider/host/).
 */

/**
 * The provider's run-time files: the host lock, the armed commit-confirmed timers, the
 * verification's pid files, per network namespace (the scope of what we manage; the lab's servers
 * share /run). Root's alone: in /run, which no other user can write, unlike /tmp or /run/lock
 * (provider/host/lib.sh describes the layout). tmpfs: a real reboot disarms the timers, as it should.
 */
export const RUN_DIR = "/run/mptcp-pulumi";

/** How long a second operation waits for the host lock before giving up. */
export const LOCK_WAIT_SECONDS = 120;
/** How long the boot replay waits for a provider session to finish before it replays anyway. */
export const REPLAY_LOCK_WAIT_SECONDS = 60;

/** Directory on the host that holds the boot replay (apply.sh and one part per resource). */
export const PERSIST_DIR = "/etc/mptcp-pulumi";
/** The folder of boot parts: one file of records per resource. */
export const PARTS_DIR = `${PERSIST_DIR}/parts`;
/** The replay program the units and hooks run. */
export const APPLY_SCRIPT_PATH = `${PERSIST_DIR}/apply.sh`;
/** The systemd unit that replays the parts at boot. */
export const UNIT_PATH = "/etc/systemd/system/mptcp-pulumi.service";
/** The symlink that enables the unit; the probe reports its target as the "file" content. */
export const UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/mptcp-pulumi.service";
/** The template unit that replays the parts when a network device appears (a NIC re-created after boot). */
export const DEVICE_UNIT_PATH = "/etc/systemd/system/mptcp-pulumi-device@.service";
/** The udev rule that asks systemd for that unit whenever a network device appears. */
export const UDEV_RULE_PATH = "/etc/udev/rules.d/90-mptcp-pulumi.rules";
/** Prefix of the sysctl.d files we own. */
export const SYSCTL_FILE_PREFIX = "/etc/sysctl.d/90-mptcp-pulumi-";
/** The NetworkManager dispatcher hook that runs the boot replay when NM brings a device up. */
export const NM_HOOK_PATH = "/etc/NetworkManager/dispatcher.d/90-mptcp-pulumi";
/** The ifupdown hook that runs the boot replay when ifup brings an interface up (run-parts: no dots in the name). */
export const IFUPDOWN_HOOK_PATH = "/etc/network/if-up.d/mptcp-pulumi";

/** netplan's YAML files of ours (one per policy table and interface), e.g. 90-mptcp-pulumi-table-102-eno2.yaml. */
export const NETPLAN_FILE_PREFIX = "/etc/netplan/90-mptcp-pulumi-";
/** Where our networkd drop-ins go: /etc/systemd/network/<the link's .network name>.d/ (systemd reads drop-ins there for a file in any of its folders). */
export const NETWORKD_DROPIN_ROOT = "/etc/systemd/network";
/** The name prefix of our networkd drop-ins, e.g. 90-mptcp-pulumi-table-102.conf. */
export const NETWORKD_DROPIN_PREFIX = "90-mptcp-pulumi-";

/** Every file of ours the probe reads back, as paths and shell globs. */
export const OUR_FILE_GLOBS: readonly string[] = [
  `${SYSCTL_FILE_PREFIX}*.conf`,
  APPLY_SCRIPT_PATH,
  `${PARTS_DIR}/*`,
  UNIT_PATH,
  DEVICE_UNIT_PATH,
  UDEV_RULE_PATH,
  `${NETPLAN_FILE_PREFIX}*.yaml`,
  `${NETWORKD_DROPIN_ROOT}/*.d/${NETWORKD_DROPIN_PREFIX}*.conf`,
  NM_HOOK_PATH,
  IFUPDOWN_HOOK_PATH,
];
/** Our symbolic links the probe reads back (their targets). */
export const OUR_LINKS: readonly string[] = [UNIT_LINK];

/** Where systemd looks for networkd.conf, highest priority first (the same order for its drop-ins). */
export const NETWORKD_CONF_DIRS = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"] as const;
/** networkd.conf and its drop-ins, in every folder, as globs. */
export const NETWORKD_CONF_GLOBS: readonly string[] = [...NETWORKD_CONF_DIRS.map((d) => `${d}/networkd.conf`), ...NETWORKD_CONF_DIRS.map((d) => `${d}/networkd.conf.d/*.conf`)];
/** The prefix of netplan-rendered .network files (networkd reads them). */
export const NETPLAN_NETWORK_PREFIX = "/run/systemd/network/10-netplan-";
/** netplan's YAML files, in every folder it reads. */
export const NETPLAN_FILE_GLOBS: readonly string[] = ["/etc/netplan/*.yaml", "/run/netplan/*.yaml", "/lib/netplan/*.yaml"];
/** ifupdown's record of the interfaces it brought up (`eno1=eno1` lines). */
export const IFUPDOWN_STATE = "/run/network/ifstate";
/** mptcpd's configuration file (Debian, Ubuntu, Fedora). */
export const MPTCPD_CONF = "/etc/mptcpd/mptcpd.conf";
/** mptcpd's plugins, in the folders distributions install them. */
export const MPTCPD_PLUGIN_GLOBS: readonly string[] = ["/usr/lib/*/mptcpd/*.so", "/usr/lib/mptcpd/*.so", "/usr/lib64/mptcpd/*.so"];
/**
 * The routing-table names iproute2 reads, in its order: /etc first, then the distribution's own
 * (iproute2 >= 6.5 moved the defaults to /usr/share/iproute2; older ones used /usr/lib/iproute2).
 */
export const RT_TABLES_GLOBS: readonly string[] = [
  "/etc/iproute2/rt_tables",
  "/etc/iproute2/rt_tables.d/*.conf",
  "/usr/share/iproute2/rt_tables",
  "/usr/share/iproute2/rt_tables.d/*.conf",
  "/usr/lib/iproute2/rt_tables",
  "/usr/lib/iproute2/rt_tables.d/*.conf",
];

/** The daemons whose state the probe asks systemd for, by unit name. */
export const MANAGER_UNITS = { networkd: "systemd-networkd.service", networkManager: "NetworkManager.service", mptcpd: "mptcp.service" } as const;
