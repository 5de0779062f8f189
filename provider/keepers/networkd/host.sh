# shellcheck shell=sh
# systemd-networkd on the host (netplan renders to it): what the probe reads of it, and how our
# netplan files and networkd drop-ins are applied and waited for. Needs lib.sh.

# The probe's part: each link's state file (who configured it from which .network file) and
# networkd.conf with its drop-ins ($MPTCP_PULUMI_NETWORKD_CONF).
probe_networkd() {
  # Named by path; the parser keys them by the file name (the interface's index).
  file_sections networkd-link /run/systemd/netif/links/*
  # shellcheck disable=SC2086 # globs, expanded on purpose
  file_sections networkd-conf $MPTCP_PULUMI_NETWORKD_CONF
}

# Our netplan file or networkd drop-in: `write PATH MODE` (text on stdin), `remove PATH`, or
# `reconfigure` (the file is current, the kernel lost what it declares), then has the manager
# apply it ($4: netplan or networkd, on interface $5). With table $6, waits until networkd has
# configured every link again (twice in a row, 0.1 s apart) and the kernel shows at least $7
# rules and $8 routes in that table: networkd applies them asynchronously after a reload,
# removing and re-adding the addresses of each link it reconfigures. At most 10 s.
manager_config() {
  case $1 in
    write) write_file "$2" "$3" || return 1 ;;
    remove)
      as_root rm -f "$2" || return 1
      case $2 in */*.network.d/*) as_root rmdir "${2%/*}" 2>/dev/null ;; esac
      ;;
  esac
  if [ "$1" = reconfigure ]; then
    as_root networkctl reconfigure "$5" || return 1
  else
    if [ "$4" = netplan ]; then as_root netplan generate || return 1; fi
    as_root networkctl reload || return 1
  fi
  mc_table=$6 mc_rules=$7 mc_routes=$8 mc_i=0 mc_ok=0
  while [ "$mc_ok" -lt 2 ]; do
    sleep 0.1
    mc_i=$((mc_i + 1))
    if ! networkd_busy && table_holds "$mc_table" "$mc_rules" "$mc_routes"; then mc_ok=$((mc_ok + 1)); else mc_ok=0; fi
    if [ "$mc_i" -ge 100 ]; then
      # A link waiting for something that never comes (DHCP, a router) stays "configuring":
      # no reason to fail once the table is there.
      table_holds "$mc_table" "$mc_rules" "$mc_routes" || {
        echo "networkd did not configure table $mc_table on $5 within 10 s" >&2
        return 1
      }
      echo "networkd is still configuring some link after 10 s; table ${mc_table:-?} is in place" >&2
      return 0
    fi
  done
}

# Whether networkd is configuring some link.
networkd_busy() {
  for f in /run/systemd/netif/links/*; do
    case $(sed -n 's/^ADMIN_STATE=//p' "$f" 2>/dev/null) in pending | initialized | configuring) return 0 ;; esac
  done
  return 1
}

# Whether table $1 ("" for none) holds at least $2 rules and $3 routes, in both families.
table_holds() {
  [ -z "$1" ] && return 0
  [ "$(count_in_table rule "$1")" -ge "$2" ] && [ "$(count_in_table route "$1")" -ge "$3" ]
}

# The number of rules ($1 = rule) or routes ($1 = route) in table $2, both families.
count_in_table() {
  { ip -4 "$1" show table "$2" 2>/dev/null; ip -6 "$1" show table "$2" 2>/dev/null; } | grep -c . || true
}

