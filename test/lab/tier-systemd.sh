# shellcheck shell=bash
# The systemd tier of the lab, sourced by lab.sh after the topology of the `systemd` tier is
# loaded: each server is a Debian image booted with systemd as PID 1 by systemd-nspawn, in a
# network namespace wired like the netns tier's (mgmt0 with sshd, data links eno1..enoL between
# the pair, tbf-shaped), with its own persistent overlay over the cached image. Its network
# stack is a flavor: plain (addresses from a oneshot unit), ifupdown (/etc/network/interfaces),
# netplan rendering to systemd-networkd, systemd-networkd alone (its own .network files) or
# NetworkManager; mptcpd optionally. `reboot` is a real `systemctl reboot` inside.
#
# Per server, in $LAB/serverN: upper/ work/ (the overlay), root/ (its mount point),
# supervisor.pid, nspawn.pid, boots (boot counter), console.log.

SD_FLAVORS=(plain ifupdown netplan networkd networkmanager)
SD_RELEASES=(bookworm trixie)
SD_CAPS=CAP_NET_ADMIN,CAP_NET_RAW
# The cgroup folder that holds one subtree per server (sd_own_cgroup).
SD_CGROUP=mptcp-pulumi-lab

sd_dir() { printf '%s/%s' "$LAB" "$1"; }
sd_root() { printf '%s/%s/root' "$LAB" "$1"; }

# PID of the running systemd-nspawn of a server, or failure.
sd_nspawn_pid() {
  local f pid
  f=$(sd_dir "$1")/nspawn.pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] || return 1
  echo "$pid"
}

# PID (on the host) of the container's PID 1, or failure.
sd_leader() {
  local nspawn pid
  nspawn=$(sd_nspawn_pid "$1") || return 1
  for pid in $(ps -o pid= --ppid "$nspawn"); do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# Runs a command inside a running server: all of its namespaces, as its PID 1 sees the world.
in_srv() {
  local name=$1 leader
  shift
  leader=$(sd_leader "$name") || die "$name is not running (try: bash test/lab/lab.sh --tier systemd up)"
  nsenter -t "$leader" -m -u -i -n -p -- env -i PATH="$BOOT_PATH" HOME=/root "$@"
}

# The overlay over the cached image: the server's own disk, kept across reboots.
sd_mount_root() {
  local name=$1 dir image
  dir=$(sd_dir "$name")
  image=$(<"$LAB/image")
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  is_mounted "$dir/root" || mount -t overlay overlay -o "lowerdir=$image,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
}

# Writes a file into the server's disk (parents created, mode given).
sd_write() {
  local root=$1 path=$2 mode=$3
  mkdir -p "$(dirname "$root$path")"
  cat >"$root$path"
  chmod "$mode" "$root$path"
}

# What the installer and the admin did to this server before its first boot: identity, SSH
# access, and the flavor's network configuration of the data links.
sd_customize() {
  local n=$1 name root flavor ifc
  name=$(srv "$n")
  root=$(sd_root "$name")
  flavor=$(<"$LAB/flavor")
  echo "$name" | sd_write "$root" /etc/hostname 0644
  printf '127.0.1.1 %s\n' "$name" >>"$root/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | sd_write "$root" /etc/machine-id 0444
  echo >>"$root/etc/machine-id"
  rm -f "$root/etc/ssh/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key.pub"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$root/etc/ssh/ssh_host_ed25519_key"
  sd_write "$root" /root/.ssh/authorized_keys 0600 <"$LAB/id_ed25519.pub"
  chmod 0700 "$root/root/.ssh"
  # A container has no udev and a read-only /sys, so `udevadm trigger` and `udevadm control
  # --reload` (which `netplan apply` runs, netplan 1.1 on Debian 13 the latter too) fail there;
  # the rest of udevadm is left as it is.
  # shellcheck disable=SC2016 # the server's shell expands these
  printf '%s\n' '#!/bin/sh' '# mptcp-pulumi lab: no udev inside a container; tolerate trigger/settle/control (see test/lab/README.md)' \
    'case "$1" in trigger | settle | control) /usr/bin/udevadm "$@" 2>/dev/null; exit 0 ;; esac' 'exec /usr/bin/udevadm "$@"' |
    sd_write "$root" /usr/local/sbin/udevadm 0755
  case $flavor in
    netplan)
      {
        printf 'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n'
        for ifc in $(active_links); do printf '    %s:\n      addresses: [%s]\n' "$ifc" "$(data_addr "$n" "$ifc")"; done
      } | sd_write "$root" /etc/netplan/50-lab.yaml 0600
      chroot "$root" systemctl enable -q systemd-networkd.service
      ;;
    networkd)
      # networkd alone: one .network file per link, as an admin writes them (readable by networkd).
      for ifc in $(active_links); do
        printf '[Match]\nName=%s\n\n[Network]\nAddress=%s\n' "$ifc" "$(data_addr "$n" "$ifc")" | sd_write "$root" "/etc/systemd/network/20-$ifc.network" 0644
      done
      chroot "$root" systemctl enable -q systemd-networkd.service
      ;;
    ifupdown)
      # Debian's default on a server installed without a desktop.
      {
        printf '# The data links (mptcp-pulumi lab); mgmt0 is the lab'"'"'s own.\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n'
        for ifc in $(active_links); do printf '\nauto %s\niface %s inet static\n    address %s\n' "$ifc" "$ifc" "$(data_addr "$n" "$ifc")"; done
      } | sd_write "$root" /etc/network/interfaces 0644
      chroot "$root" systemctl enable -q networking.service
      ;;
    networkmanager)
      printf '[main]\nno-auto-default=*\n\n[keyfile]\nunmanaged-devices=interface-name:mgmt0\n' |
        sd_write "$root" /etc/NetworkManager/conf.d/50-lab.conf 0644
      for ifc in $(active_links); do
        printf '[connection]\nid=%s\ntype=ethernet\ninterface-name=%s\n\n[ipv4]\nmethod=manual\naddress1=%s\n\n[ipv6]\nmethod=disabled\n' \
          "$ifc" "$ifc" "$(data_addr "$n" "$ifc")" | sd_write "$root" "/etc/NetworkManager/system-connections/$ifc.nmconnection" 0600
      done
      chroot "$root" systemctl enable -q NetworkManager.service NetworkManager-wait-online.service
      ;;
    plain)
      # A boot script of the admin's, as on a server without a network manager.
      {
        printf '#!/bin/sh\n# mptcp-pulumi lab: the data links of a server without a network manager\nset -e\n'
        for ifc in $(active_links); do printf 'ip link set dev %s up\nip address replace %s dev %s\n' "$ifc" "$(data_addr "$n" "$ifc")" "$ifc"; done
      } | sd_write "$root" /usr/local/sbin/lab-addresses 0755
      printf '[Unit]\nDescription=Addresses of the data links (no network manager)\nBefore=network.target network-online.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/local/sbin/lab-addresses\n\n[Install]\nWantedBy=multi-user.target network-online.target\n' |
        sd_write "$root" /etc/systemd/system/lab-addresses.service 0644
      chroot "$root" systemctl enable -q lab-addresses.service
      ;;
  esac
  # Nothing else: MPTCP itself is the provider's job.
  if [[ $(<"$LAB/mptcpd") == yes ]]; then chroot "$root" systemctl enable -q mptcp.service; fi
}

# Starts the server's supervisor: it boots the container, and boots it again (with a fresh
# namespace, as a real machine's power cycle) whenever the container asks for a reboot.
sd_start() {
  local name=$1 dir
  dir=$(sd_dir "$name")
  rm -f "$dir/stop"
  detached setsid bash "$SCRIPT_DIR/lab.sh" --tier systemd __supervise "$name" </dev/null >>"$dir/console.log" 2>&1 &
  echo $! >"$dir/supervisor.pid"
}

sd_boot_count() { cat "$(sd_dir "$1")/boots" 2>/dev/null || echo 0; }

# Gives this process (and so the server it boots) a cgroup subtree of its own. Without a host
# systemd, `nspawn --keep-unit` roots every container at the caller's cgroup, so both servers'
# systemd would create and remove the same /payload/system.slice/UNIT under each other: a unit
# then fails at boot with "Failed to attach to cgroup ... No such file or directory".
sd_own_cgroup() {
  local name=$1 root
  for root in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [[ -w $root/cgroup.procs ]] || continue
    mkdir -p "$root/$SD_CGROUP/$NETNS_PREFIX$name"
    echo "$BASHPID" >"$root/$SD_CGROUP/$NETNS_PREFIX$name/cgroup.procs"
  done
}

# Removes the servers' cgroup subtrees (empty once their systemd and nspawn have exited).
sd_remove_cgroups() {
  local root tree
  for root in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [[ -d $root/$SD_CGROUP ]] || continue
    for tree in "$root/$SD_CGROUP/$NETNS_PREFIX"*; do
      [[ -d $tree ]] && find "$tree" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rmdir "$root/$SD_CGROUP" 2>/dev/null || true
  done
}

# Internal: the supervisor loop (runs detached, one per server).
cmd_supervise() {
  local name=$1 n dir rc boots
  n=$(srv_num "$name")
  dir=$(sd_dir "$name")
  sd_own_cgroup "$name"
  while [[ ! -e $dir/stop ]]; do
    boots=$(($(sd_boot_count "$name") + 1))
    echo "$boots" >"$dir/boots"
    printf '\n=== %s: boot %d at %s\n' "$name" "$boots" "$(date -u +%FT%TZ)"
    SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn -q -D "$(sd_root "$name")" --boot \
      --network-namespace-path="$(netns_file "$name")" --capability="$SD_CAPS" \
      --register=no --keep-unit -M "$NETNS_PREFIX$name" --hostname="$name" --console=read-only &
    echo $! >"$dir/nspawn.pid"
    if wait $!; then rc=0; else rc=$?; fi
    printf '=== %s: exit %d at %s\n' "$name" "$rc" "$(date -u +%FT%TZ)"
    # 133: the container asked for a reboot. Anything else is a power-off.
    [[ $rc -eq 133 && ! -e $dir/stop ]] || break
    (
      take_lock
      sd_power_cycle_links "$n"
    )
  done
  rm -f "$dir/nspawn.pid"
}

# A power cycle: the namespace anew (lab.sh's power_cycle_netns), the pair's links shaped again.
sd_power_cycle_links() {
  power_cycle_netns "$1"
  shape_pair "$(pair_of "$1")"
}

# Shaping and offloads on both ends of a pair's links; addresses are the servers' own business.
shape_pair() {
  local k=$1 n ifc
  for n in $((2 * k - 1)) $((2 * k)); do
    for ifc in $(active_links); do shape_link "$(srv "$n")" "$ifc"; done
  done
}

# Waits until a server accepts SSH and systemd finished starting (running or degraded).
sd_wait_booted() {
  local name=$1 i state
  for ((i = 0; i < 600; i++)); do
    if ssh_ok "$name" 2; then
      state=$(in_srv "$name" timeout 120 systemctl is-system-running --wait 2>/dev/null || true)
      case $state in
        running) return 0 ;;
        # A server that boots degraded is not the server the tests think they have.
        degraded) die "$name: booted degraded; failed units: $(in_srv "$name" systemctl --failed --plain --no-legend | awk '{ printf "%s ", $1 }')" ;;
      esac
    fi
    sleep 0.2
  done
  tail -n 30 "$(sd_dir "$name")/console.log" >&2 || true
  die "$name: did not finish booting (ssh to $(mgmt_srv_ip "$(srv_num "$name")"), systemd state '${state:-?}')"
}

sd_teardown_server() {
  local name=$1 dir pid i
  dir=$(sd_dir "$name")
  if [[ -d $dir ]]; then touch "$dir/stop"; fi
  if [[ -s $dir/supervisor.pid ]]; then
    pid=$(<"$dir/supervisor.pid")
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == bash ]] && kill -TERM "$pid" 2>/dev/null
  fi
  if pid=$(sd_leader "$name"); then kill -KILL "$pid" 2>/dev/null || true; fi
  if pid=$(sd_nspawn_pid "$name"); then
    for ((i = 0; i < 100; i++)); do
      [[ -e /proc/$pid ]] || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if is_mounted "$dir/root"; then umount "$dir/root" 2>/dev/null || umount -l "$dir/root"; fi
  delete_server_links "$name"
  if [[ -e $(netns_file "$name") ]]; then ip netns del "$NETNS_PREFIX$name" 2>/dev/null || true; fi
  local l
  for l in "${LINK_NAMES[@]}"; do ip link del "$PARK_PREFIX${name#server}$l" 2>/dev/null || true; done
  rm -rf --one-file-system "$dir"
}

sd_usage_flavor() { die "--flavor must be one of ${SD_FLAVORS[*]} (got '$1')"; }

# `up` options of the real-server tiers (after the common ones): sets FLAVOR, RELEASE, MPTCPD and
# WANT (what the servers are made of), or dies naming the bad option. $1 is the default flavor.
sd_parse_up() {
  FLAVOR=$1 RELEASE=bookworm MPTCPD=no
  shift
  parse_up_options "$@"
  set -- "${UP_REST[@]+"${UP_REST[@]}"}"
  while (($#)); do
    case $1 in
      --flavor | --release)
        (($# >= 2)) || die "$1 needs a value"
        set -- "$1=$2" "${@:3}"
        ;;
      --flavor=*) FLAVOR=${1#*=} && shift ;;
      --release=*) RELEASE=${1#*=} && shift ;;
      --mptcpd) MPTCPD=yes && shift ;;
      *) usage ;;
    esac
  done
  [[ " ${SD_FLAVORS[*]} " == *" $FLAVOR "* ]] || sd_usage_flavor "$FLAVOR"
  [[ " ${SD_RELEASES[*]} " == *" $RELEASE "* ]] || die "--release must be one of ${SD_RELEASES[*]} (got '$RELEASE')"
  WANT="pairs=$PAIRS links=$LINKS rates=$RATES flavor=$FLAVOR release=$RELEASE mptcpd=$MPTCPD"
}

# Whether the servers must be (re)built: a different flavor, release, size or link plan is a
# different set of machines, and a broken one is rebuilt.
sd_needs_build() {
  [[ $WANT != "$(cat "$LAB/config" 2>/dev/null || true)" ]] || ! sd_all_healthy
}

# A fresh state folder for the servers about to be built from IMAGE ($1).
sd_new_state() {
  mkdir -p "$LAB"
  echo "$LINKS" >"$LAB/links"
  echo "$RATES" >"$LAB/rates"
  echo "$FLAVOR" >"$LAB/flavor"
  echo "$MPTCPD" >"$LAB/mptcpd"
  echo "$1" >"$LAB/image"
  ensure_client_key
}

cmd_up() {
  local count n k name start image
  sd_parse_up netplan "$@"
  require_root
  require_tools ip:iproute2 tc:iproute2 ssh:openssh-client ssh-keygen:openssh-client nsenter:util-linux \
    flock:util-linux mount:mount ethtool:ethtool systemd-nspawn:systemd-container mmdebstrap:mmdebstrap ps:procps
  check_lab_path
  image=$(bash "$SCRIPT_DIR/image.sh" "$RELEASE")
  take_lock
  start=$(date +%s.%N)
  count=$((2 * PAIRS))
  # Delays are shaping, not the servers: a new value reshapes running servers, no rebuild.
  mkdir -p "$LAB"
  echo "$DELAYS" >"$LAB/delays"
  if sd_needs_build; then
    for name in $(discover_servers); do
      log "$name: removing"
      sd_teardown_server "$name"
    done
    sd_new_state "$image"
    for ((n = 1; n <= count; n++)); do
      name=$(srv "$n")
      log "$name: creating ($RELEASE, $FLAVOR$([[ $MPTCPD == yes ]] && echo ', mptcpd'), ssh $(mgmt_srv_ip "$n"))"
      sd_mount_root "$name"
      sd_customize "$n"
      create_netns_mgmt "$n"
    done
    for ((k = 1; k <= PAIRS; k++)); do
      log "pair $k: linking $(srv $((2 * k - 1))) <-> $(srv $((2 * k))) ($(pair_link_summary "$k"))"
      create_pair_links "$k"
      shape_pair "$k"
    done
    echo "$PAIRS" >"$LAB/pairs"
    write_client_files "$count"
    for ((n = 1; n <= count; n++)); do sd_start "$(srv "$n")"; done
    echo "$WANT" >"$LAB/config"
  else
    log "already up: $WANT"
    for ((k = 1; k <= PAIRS; k++)); do shape_pair "$k"; done
    write_client_files "$count"
  fi
  for ((n = 1; n <= count; n++)); do sd_wait_booted "$(srv "$n")"; done
  log "up: $PAIRS pair(s) of $RELEASE containers ($FLAVOR), $LINKS data link(s) at $RATES Mbit/s$(delay_summary), booted, ssh OK ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s)"
}

# The host key a server presents (read from its disk, whether or not it runs).
host_key_pub() { cat "$(sd_root "$1")/etc/ssh/ssh_host_ed25519_key.pub"; }

sd_all_healthy() {
  local count n name
  [[ -s $LAB/pairs ]] || return 1
  count=$((2 * $(<"$LAB/pairs")))
  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    netns_exists "$name" && is_mounted "$(sd_root "$name")" && sd_leader "$name" >/dev/null || return 1
  done
}

cmd_down() {
  local name removed=0
  (($# == 0)) || usage
  require_root
  take_lock
  for name in $(discover_servers); do
    sd_teardown_server "$name"
    log "$name: removed"
    removed=1
  done
  sd_remove_cgroups
  if [[ -e $LAB ]]; then
    rm -rf --one-file-system "$LAB"
    removed=1
  fi
  if is_mounted /run/netns && [[ -z $(ls -A /run/netns) ]]; then umount /run/netns 2>/dev/null || true; fi
  if ((removed)); then log "down: $TIER tier removed (images stay cached)"; fi
}

cmd_status() {
  local count n name ok=1 line ifc addr state
  (($# == 0)) || usage
  require_root
  if [[ ! -s $LAB/pairs ]]; then
    echo "systemd tier is down (no $LAB/pairs)"
    return 1
  fi
  count=$((2 * $(<"$LAB/pairs")))
  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    line="$name role=$(role_of "$n") flavor=$(<"$LAB/flavor") boots=$(sd_boot_count "$name")"
    if sd_leader "$name" >/dev/null; then
      state=$(in_srv "$name" systemctl is-system-running 2>/dev/null || true)
      line+=" systemd=${state:-?}"
    else
      line+=" container=DOWN"
      ok=0
    fi
    if ssh_ok "$name"; then line+=" ssh=ok"; else
      line+=" ssh=FAIL"
      ok=0
    fi
    if netns_exists "$name"; then
      for ifc in mgmt0 $(active_links); do
        addr=$(link_ipv4 "$name" "$ifc")
        line+=" $ifc=${addr:-none}"
      done
    fi
    echo "$line"
  done
  if ((ok)); then echo "systemd tier is up: $(<"$LAB/config")$(delay_summary)"; else
    echo "systemd tier is NOT fully up"
    return 1
  fi
}

cmd_exec() {
  local host=${1:-}
  (($# >= 2)) || usage
  shift
  require_root
  [[ $host =~ ^server[0-9]+$ ]] || usage
  in_srv "$host" "$@"
}

# The data NICs re-created, as after a driver reload: the pair's veths are deleted and made
# anew (new ifindexes, both servers see them appear) and shaped again; configuring them is the
# servers' own network stack's job.
cmd_relink() {
  local name=${1:-} k
  (($# == 1)) || usage
  require_root
  [[ $name =~ ^server[0-9]+$ ]] || usage
  sd_leader "$name" >/dev/null || die "$name is not running"
  k=$(pair_of "$(srv_num "$name")")
  take_lock
  log "pair $k: data links deleted and created again"
  create_pair_links "$k"
  shape_pair "$k"
}

# A real reboot: `systemctl reboot` inside; nspawn exits 133, the supervisor power-cycles the
# namespace and boots again. Prints what boot brought back; exits non-zero if the provider's
# unit failed.
cmd_reboot() {
  local name=${1:-} before start
  (($# == 1)) || usage
  require_root
  [[ $name =~ ^server[0-9]+$ ]] || usage
  sd_leader "$name" >/dev/null || die "$name is not running"
  before=$(sd_boot_count "$name")
  start=$(date +%s.%N)
  log "$name: systemctl reboot (boot $before)"
  in_srv "$name" systemctl reboot || true
  local i
  for ((i = 0; i < 1200; i++)); do
    (($(sd_boot_count "$name") > before)) && sd_leader "$name" >/dev/null && break
    sleep 0.1
  done
  (($(sd_boot_count "$name") > before)) || die "$name: did not boot again"
  sd_wait_booted "$name"
  sd_report_boot "$name" "$(sd_boot_count "$name")" "$start"
}

# What a finished boot brought back (systemd's state, the provider's unit); fails when that
# unit failed. Args: NAME BOOT-LABEL START-TIME.
sd_report_boot() {
  local name=$1 unit rc=0
  echo "$name: boot $2: systemd $(in_srv "$name" systemctl is-system-running 2>/dev/null || true)"
  if in_srv "$name" test -e /etc/systemd/system/mptcp-pulumi.service; then
    unit=$(in_srv "$name" systemctl show -P Result mptcp-pulumi.service 2>/dev/null || true)
    echo "$name: boot: mptcp-pulumi.service result=$unit"
    [[ $unit == success ]] || rc=1
  else
    echo "$name: boot: no mptcp-pulumi.service"
  fi
  log "$name: back up ($(awk -v s="$3" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s)"
  return "$rc"
}
