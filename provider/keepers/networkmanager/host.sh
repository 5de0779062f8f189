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
  as_root nmcli device reapply "$na_device"
}

