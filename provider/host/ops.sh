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

# The boot replay's units: `enable` or `disable` mptcp-pulumi.service, or `remove-if-unused`
# (the units, the udev rule and the replay folder, when no part is left: decided here, under
# the lock, since another stack may have added one). Paths: $2 the unit, $3 its enablement link,
# $4 the replay folder, $5 its parts, $6 the device unit, $7 the udev rule, $8... the managers' hooks that run the replay.
boot_unit() {
  case $1 in
    enable) as_root mkdir -p "${3%/*}" && as_root ln -sf "$2" "$3" || return 1 ;;
    disable) as_root rm -f "$3" || return 1 ;;
    remove-if-unused)
      [ -z "$(ls -A "$5" 2>/dev/null)" ] || return 0
      as_root rm -f "$3" "$2" "$6" "$7" && as_root rm -rf "$4" || return 1
      # The managers' hooks that run the replay ($8...).
      shift 7
      [ "$#" -eq 0 ] || as_root rm -f "$@" || return 1
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
