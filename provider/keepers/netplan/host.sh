# shellcheck shell=sh
# netplan on the host: the probe reads which YAML files it has ($MPTCP_PULUMI_NETPLAN_FILES),
# when it is installed. Applying goes through networkd's functions (networkd/host.sh). Needs lib.sh.

probe_netplan() {
  command -v netplan >/dev/null 2>&1 || return 0
  section netplan
  # shellcheck disable=SC2086 # globs, expanded on purpose
  for f in $MPTCP_PULUMI_NETPLAN_FILES; do [ -f "$f" ] && echo "$f"; done
}
