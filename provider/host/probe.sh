# shellcheck shell=sh
# The probe: the host's whole relevant state in one run, read-only, one section per source (the
# parsers live in provider/state/). Needs lib.sh. Arguments: the sysctl keys and subtrees to read.
# Tables, scopes and route types are read as numbers (`ip -N`): an admin's names in rt_tables
# must not hide table 102 behind "isp2".

probe() {
  section hostname
  read -r p_line </proc/sys/kernel/hostname && echo "$p_line"
  section kernel
  read -r p_line </proc/sys/kernel/osrelease && echo "$p_line"
  section iproute2
  ip -V 2>&1
  section session
  echo "${SSH_CONNECTION:-}"
  section session-route
  # shellcheck disable=SC2086 # its four words, split on purpose
  session_route ${SSH_CONNECTION:-}
  section sysctl
  sysctl -e "$@" 2>/dev/null
  section limits
  ip mptcp limits show 2>&1
  section endpoints
  ip -j mptcp endpoint show 2>/dev/null || {
    section endpoints-text
    ip mptcp endpoint show 2>&1
  }
  section addr
  ip -j addr show
  section rule
  ip -N -4 -j rule show
  section rule6
  ip -N -6 -j rule show 2>/dev/null
  section route
  ip -N -4 -j route show table all
  section route6
  ip -N -6 -j route show table all 2>/dev/null
  # shellcheck disable=SC2086 # globs, expanded on purpose
  file_sections rt-tables $MPTCP_PULUMI_RT_TABLES
  files=$(part_text files; echo .)
  printf '%s' "${files%.}"
  probe_managers
  # The managers' own parts (provider/keepers/*/host.sh).
  probe_networkd
  probe_netplan
  probe_ifupdown
  probe_networkmanager
  nm=$(part_text nm; echo .)
  printf '%s' "${nm%.}"
  # What a change set's check under the lock compares: the parts whose text is not printed above
  # as it is (the provider sums the rest itself: provider/state/fingerprints.ts), and the sums of
  # those it cannot split out of the sections (each command costs the host a process).
  section part routes
  part_text routes
  section part addrs
  part_text addrs
  section fingerprints
  echo "files $(printf '%s' "${files%.}" | checksum)"
  echo "nm $(printf '%s' "${nm%.}" | checksum)"
  section end
}

# The route this session's replies take ($1..$4: SSH_CONNECTION's peer, its port, our address, ours):
# a change off this path cannot cut the session (provider/model/session.ts).
session_route() {
  [ $# -eq 4 ] && ip -o route get "$1" from "$3" 2>/dev/null
  return 0
}

# Which daemons run (systemd's view, only where it is PID 1), and mptcpd's configuration.
probe_managers() {
  sd=
  [ -d /run/systemd/system ] && sd=1
  if [ -n "$sd" ]; then
    section manager-units
    # shellcheck disable=SC2086 # unit names, one word each
    systemctl show -p Id,ActiveState,MainPID $MPTCP_PULUMI_UNITS 2>/dev/null
  fi
  [ -f "$MPTCP_PULUMI_MPTCPD_CONF" ] && { section mptcpd-conf; cat "$MPTCP_PULUMI_MPTCPD_CONF"; }
  if [ -d "${MPTCP_PULUMI_MPTCPD_CONF%/*}" ]; then
    section mptcpd-plugins
    # shellcheck disable=SC2086
    for f in $MPTCP_PULUMI_MPTCPD_PLUGINS; do [ -f "$f" ] && echo "$f"; done
  fi
  if [ -n "$sd" ]; then
    p=$(systemctl show -p MainPID --value "$MPTCP_PULUMI_MPTCPD_UNIT" 2>/dev/null)
    if [ -n "$p" ] && [ "$p" != 0 ] && [ -r "/proc/$p/cmdline" ]; then
      section mptcpd-cmdline
      tr '\0' ' ' <"/proc/$p/cmdline"
      echo
    fi
  fi
}
