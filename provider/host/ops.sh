# shellcheck shell=sh
# The host-side programs of operations that are more than one command (provider/operations/):
# each a function whose values arrive as arguments (file contents on stdin). Needs lib.sh.

# The kernel's endpoints at address $1 and port $2 ("" for none), as `ip mptcp endpoint show`
# prints them; with $3 = id, only their ids. An address may hold one endpoint per port.
endpoints_at() {
  ip mptcp endpoint show 2>/dev/null | awk -v a="$1" -v p="$2" -v what="${3:-line}" '{
    port = ""; id = ""
    for (i = 2; i < NF; i++) { if ($i == "port") port = $(i + 1); if ($i == "id") id = $(i + 1) }
    if ($1 == a && port == p) print (what == "id" ? id : $0)
  }'
}

# Deletes the endpoints at address $1 and port $2, whatever ids the kernel chose.
endpoint_delete_at() {
  for id in $(endpoints_at "$1" "$2" id); do
    as_root ip mptcp endpoint delete id "$id" || return 1
  done
}

# Sets connection settings (KEY VALUE pairs after $2) of NetworkManager's connection $1 and has
# NM apply it to device $2 live (`device reapply` keeps the device up and its addresses).
nm_apply() {
  na_uuid=$1 na_device=$2
  shift 2
  if [ $# -gt 0 ]; then as_root nmcli connection modify uuid "$na_uuid" "$@" || return 1; fi
  as_root nmcli device reapply "$na_device"
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
  while [ $mc_ok -lt 2 ]; do
    sleep 0.1
    mc_i=$((mc_i + 1))
    if ! networkd_busy && table_holds "$mc_table" "$mc_rules" "$mc_routes"; then mc_ok=$((mc_ok + 1)); else mc_ok=0; fi
    if [ $mc_i -ge 100 ]; then
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

# The boot replay's units: `enable` or `disable` mptcp-pulumi.service, or `remove-if-unused`
# (the units, the udev rule and the replay folder, when no part is left: decided here, under
# the lock, since another stack may have added one). Paths: $2 the unit, $3 its enablement link,
# $4 the replay folder, $5 its parts, $6 the device unit, $7 the udev rule.
boot_unit() {
  case $1 in
    enable) as_root mkdir -p "${3%/*}" && as_root ln -sf "$2" "$3" || return 1 ;;
    disable) as_root rm -f "$3" || return 1 ;;
    remove-if-unused)
      [ -z "$(ls -A "$5" 2>/dev/null)" ] || return 0
      as_root rm -f "$3" "$2" "$6" "$7" && as_root rm -rf "$4" || return 1
      ;;
  esac
  reload_units
}

# Has systemd and udev read our units and rules again (a container may have neither).
reload_units() {
  if [ -d /run/systemd/system ]; then as_root systemctl daemon-reload || return 1; fi
  # udev reloads its rules by itself too; a host without udevd has nothing to reload.
  as_root udevadm control --reload 2>/dev/null || true
}
