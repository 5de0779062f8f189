/**
 * Every path the provider uses on a host, in one place. The run-time ones are shell words to be
 * expanded there, per network namespace: the scope of everything we manage (lab servers share /run).
 */

/** The host lock (flock): in /run/lock, outside every folder the provider may delete. */
export const LOCK_FILE_SHELL = `/run/lock/mptcp-pulumi-$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo 0).lock`;

/** The folder of armed commit-confirmed timers (tmpfs: a real reboot disarms them, as it should). */
export const ROLLBACK_DIR_SHELL = `/run/mptcp-pulumi/$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo 0)`;

/** Directory on the host that holds the boot replay (apply.sh and one part per resource). */
export const PERSIST_DIR = "/etc/mptcp-pulumi";
/** The folder of boot parts, one `ip -batch` file per resource and address family. */
export const PARTS_DIR = `${PERSIST_DIR}/parts`;
/** The replay script the unit runs. */
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

/** Our netplan files (one per policy table and interface), e.g. 90-mptcp-pulumi-table-102-eno2.yaml. */
export const NETPLAN_FILE_PREFIX = "/etc/netplan/90-mptcp-pulumi-";
/** Where our networkd drop-ins go: /etc/systemd/network/<the link's .network name>.d/ (systemd reads drop-ins there for a file in any of its folders). */
export const NETWORKD_DROPIN_ROOT = "/etc/systemd/network";
/** The name prefix of our networkd drop-ins, e.g. 90-mptcp-pulumi-table-102.conf. */
export const NETWORKD_DROPIN_PREFIX = "90-mptcp-pulumi-";

/** Where systemd looks for networkd.conf, highest priority first (the same order for its drop-ins). */
export const NETWORKD_CONF_DIRS = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"] as const;
/** The prefix of the .network files netplan generates for networkd. */
export const NETPLAN_NETWORK_PREFIX = "/run/systemd/network/10-netplan-";
/** mptcpd's configuration file (Debian, Ubuntu, Fedora). */
export const MPTCPD_CONF = "/etc/mptcpd/mptcpd.conf";
