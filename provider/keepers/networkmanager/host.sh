# shellcheck shell=sh
# NetworkManager on the host: what the probe reads of it, the settings a change set's
# preconditions compare, and how our settings are applied. Needs lib.sh.

# Whether NetworkManager runs (asked of systemd only where systemd is PID 1).
nm_running() {
  [ -d /run/systemd/system ] && systemctl -q is-active NetworkManager.service 2>/dev/null && command -v nmcli >/dev/null 2>&1
}

# NetworkManager's devices as `DEVICE:STATE:CON-UUID` lines; nothing when NM does not run.
nm_devices() {
  nm_running || return 0
  nmcli -t -f DEVICE,STATE,CON-UUID device status 2>/dev/null
}

# For each device line on stdin that NM configures ("connected"; "connected (externally)" is NM
# mirroring what someone else set), a section `nm DEV UUID` holding the values of
# $MPTCP_PULUMI_NM_KEYS of its connection, one per line (nmcli -g escapes ':' and '\').
nm_settings() {
  while IFS=: read -r dev state uuid; do
    if [ -z "$uuid" ] || [ "$state" != connected ]; then continue; fi
    section nm "$dev" "$uuid"
    nmcli -g "connection.id,$MPTCP_PULUMI_NM_KEYS" connection show uuid "$uuid" 2>/dev/null
  done
}

# The probe's part: the devices (nm-devices), the connections' files (nm-files) and, per device
# with a connection, its id, uuid and MPTCP flags (nm-connection UUID); then the settings we
# write (nm DEV UUID). Prints the settings' text last, so the caller can checksum it: it is the
# `nm` part of the preconditions.
probe_networkmanager() {
  pn_devices=$(nm_devices; echo .)
  pn_devices=${pn_devices%.}
  [ -n "$pn_devices" ] || return 0
  section nm-devices
  printf '%s' "$pn_devices"
  section nm-files
  nmcli -t -f UUID,FILENAME connection show 2>/dev/null
  printf '%s' "$pn_devices" | while IFS=: read -r _device _state uuid; do
    [ -n "$uuid" ] || continue
    section nm-connection "$uuid"
    nmcli -t -f connection.id,connection.uuid,connection.mptcp-flags connection show "$uuid" 2>/dev/null
  done
}

# Sets connection settings (KEY VALUE pairs after $2) of NetworkManager's connection $1 and has
# NM apply it to device $2 live (`device reapply` keeps the device up and its addresses).
nm_apply() {
  na_uuid=$1 na_device=$2
  shift 2
  if [ $# -gt 0 ]; then as_root nmcli connection modify uuid "$na_uuid" "$@" || return 1; fi
  as_root nmcli device reapply "$na_device" || return 1
  nm_settle "$na_uuid" "$na_device"
}

# NetworkManager 1.52 (Debian 13) puts a new IPv4 address on the device a moment after reapply
# returns (measured: missing right after it, there 0.3 s later); 1.42 before it returns. Waits,
# at most 5 s, until the device $2
# has every address of connection $1, so the read after the change sees them. Missing ones are
# left for that read to report.
nm_settle() {
  ns_want=$(nmcli -g ipv4.addresses,ipv6.addresses connection show uuid "$1" 2>/dev/null | tr ',' '\n' | sed 's/\\:/:/g; s/^ *//; /^$/d')
  ns_tries=0
  while [ "$ns_tries" -lt 50 ]; do
    ns_have=$(ip -o addr show dev "$2" | awk '{ print $4 }')
    ns_missing=''
    for ns_a in $ns_want; do
      printf '%s\n' "$ns_have" | grep -qxF "$ns_a" || ns_missing=$ns_a
    done
    [ -z "$ns_missing" ] && return 0
    sleep 0.1
    ns_tries=$((ns_tries + 1))
  done
  return 0
}

