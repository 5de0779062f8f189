# shellcheck shell=bash
# The VM tier of the lab, sourced by lab.sh (after tier-systemd.sh, whose disk customization it
# shares): each server is a QEMU virtual machine (software emulation: KVM is not usable here)
# running the distribution's own kernel (bookworm 6.1, trixie 6.12), booted directly from the
# image's /boot, with its own ext4 disk made from the image plus the server's customization.
# Each server has a namespace labvm-serverN that holds its QEMU and taps: the management tap is
# bridged with a veth to the host (lvm-serverN, 172.29.N.1/30; the VM has .2), each data tap with
# the namespace's end of the veth to the peer's namespace (eno1..enoL, tbf-shaped as in the
# other tiers). `reboot` is a real `systemctl reboot`: the guest kernel restarts.
#
# Per server, in $LAB/serverN: disk.img, console.log, monitor.sock, qemu.pid.

VM_MEMORY_MB=${LAB_VM_MEMORY_MB:-512}
# MACs: 52:54:00:<tier 1d>:<server>:<link> (link 0 is mgmt0); the guest names NICs by MAC.
vm_mac() { printf '52:54:00:1d:%02x:%02x' "$1" "$2"; }

# Runs a command on the VM over SSH (a VM has no namespace to enter from here).
in_srv() {
  local name=$1
  shift
  ssh -F "$LAB/ssh_config" "$name" -- "$(printf '%q ' "$@")"
}

vm_qemu_pid() {
  local f pid
  f=$(sd_dir "$1")/qemu.pid
  [[ -s $f ]] || return 1
  pid=$(tr -d ' \n' <"$f")
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system-x86* ]] || return 1
  echo "$pid"
}

# The VM's own network configuration on top of the flavor's: NIC names by MAC, and the
# management address from a oneshot unit (mgmt0 is not any network manager's business).
vm_customize() {
  local n=$1 name root i ifc
  name=$(srv "$n")
  root=$(sd_root "$name")
  printf '[Match]\nMACAddress=%s\n\n[Link]\nName=mgmt0\n' "$(vm_mac "$n" 0)" | sd_write "$root" /etc/systemd/network/10-mgmt0.link 0644
  i=0
  for ifc in $(active_links); do
    i=$((i + 1))
    printf '[Match]\nMACAddress=%s\n\n[Link]\nName=%s\n' "$(vm_mac "$n" "$i")" "$ifc" | sd_write "$root" "/etc/systemd/network/10-$ifc.link" 0644
  done
  printf '[Unit]\nDescription=Management address (the lab host reaches sshd here)\nBefore=network.target ssh.service\nAfter=systemd-udev-settle.service sys-subsystem-net-devices-mgmt0.device\nWants=sys-subsystem-net-devices-mgmt0.device\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/sbin/ip link set dev mgmt0 up\nExecStart=/usr/sbin/ip address replace %s/30 dev mgmt0\n\n[Install]\nWantedBy=multi-user.target\n' "$(mgmt_srv_ip "$n")" |
    sd_write "$root" /etc/systemd/system/lab-mgmt.service 0644
  chroot "$root" systemctl enable -q lab-mgmt.service
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' | sd_write "$root" /etc/fstab 0644
  # The image's NetworkManager config keeps mgmt0 unmanaged in every flavor.
}

# The server's disk: an ext4 filesystem made from the image with the customization on top.
# (No orphan_file: older kernels cannot mount it.)
vm_make_disk() {
  local name=$1 dir
  dir=$(sd_dir "$name")
  mkfs.ext4 -q -F -L root -O ^orphan_file,^metadata_csum_seed -d "$dir/root" "$dir/disk.img" 2G
  umount "$dir/root"
  rm -rf --one-file-system "$dir/upper" "$dir/work" "$dir/root"
}

# Namespace, management bridge and the taps the VM's NICs attach to.
vm_create_netns() {
  local n=$1 name ns ifc
  name=$(srv "$n")
  ns=$NETNS_PREFIX$name
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$HOST_LINK_PREFIX$name" type veth peer name up0 netns "$ns"
  ip addr add "$(mgmt_host_ip "$n")/30" dev "$HOST_LINK_PREFIX$name"
  ip link set "$HOST_LINK_PREFIX$name" up
  ip -n "$ns" link add b-mgmt type bridge
  ip -n "$ns" tuntap add t-mgmt mode tap
  for ifc in up0 t-mgmt; do ip -n "$ns" link set "$ifc" master b-mgmt up; done
  ip -n "$ns" link set b-mgmt up
  for ifc in $(active_links); do
    ip -n "$ns" link add "b-$ifc" type bridge
    ip -n "$ns" tuntap add "t-$ifc" mode tap
    ip -n "$ns" link set "t-$ifc" master "b-$ifc" up
    ip -n "$ns" link set "b-$ifc" up
  done
}

# The veth ends of the pair's links join their bridges.
vm_bridge_links() {
  local k=$1 n ifc
  for n in $((2 * k - 1)) $((2 * k)); do
    for ifc in $(active_links); do
      ip -n "$NETNS_PREFIX$(srv "$n")" link set "$ifc" master "b-$ifc" up
    done
  done
}

vm_start() {
  local n=$1 name dir image kernel initrd i ifc netargs=()
  name=$(srv "$n")
  dir=$(sd_dir "$name")
  image=$(<"$LAB/image")
  kernel=$(find "$image/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
  initrd=$(find "$image/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)
  netargs+=(-netdev "tap,id=n0,ifname=t-mgmt,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=$(vm_mac "$n" 0)")
  i=0
  for ifc in $(active_links); do
    i=$((i + 1))
    netargs+=(-netdev "tap,id=n$i,ifname=t-$ifc,script=no,downscript=no" -device "virtio-net-pci,netdev=n$i,mac=$(vm_mac "$n" "$i")")
  done
  rm -f "$dir/qemu.pid" "$dir/monitor.sock"
  (detached ip netns exec "$NETNS_PREFIX$name" qemu-system-x86_64 -name "$name" -nodefaults -no-user-config \
    -accel tcg,thread=multi,tb-size=128 -cpu max -m "$VM_MEMORY_MB" -smp 1 \
    -kernel "$kernel" -initrd "$initrd" -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet" \
    -drive "file=$dir/disk.img,format=raw,if=virtio" "${netargs[@]}" \
    -display none -serial "file:$dir/console.log" -monitor "unix:$dir/monitor.sock,server,nowait" \
    -pidfile "$dir/qemu.pid" -daemonize)
}

# The links' delays, inside the guest: this machine's kernel has no sch_netem, the guests'
# kernels do, so each guest delays what it sends on each data NIC (a one-way delay per
# direction). The rate stays with tbf on the host side, whose queue grows with the delay
# (shape_link). Lost with a reboot or a re-created NIC: the lab's reboot and relink put it back.
vm_apply_delays() {
  local name=$1 ifc delay out
  for ifc in $(active_links); do
    delay=$(link_delay "$ifc")
    if ((delay == 0)); then
      # Back to the guest's default qdisc; "no qdisc to delete" is fine.
      in_srv "$name" tc qdisc del dev "$ifc" root 2>/dev/null || true
      continue
    fi
    if ! out=$(in_srv "$name" tc qdisc replace dev "$ifc" root netem delay "${delay}ms" limit "$(netem_limit "$(link_rate "$ifc")" "$delay")" 2>&1); then
      die "$name: --delays: 'tc qdisc replace dev $ifc root netem' failed in the guest (kernel $(in_srv "$name" uname -r)): $out"
    fi
  done
}

# A line for the QEMU monitor (e.g. "set_link n2 off").
vm_monitor() {
  local name=$1
  shift
  printf '%s\n' "$*" | socat - "UNIX-CONNECT:$(sd_dir "$name")/monitor.sock" >/dev/null
}

vm_boot_id() { in_srv "$1" cat /proc/sys/kernel/random/boot_id 2>/dev/null; }

# Waits until the VM accepts SSH and systemd finished starting.
vm_wait_booted() {
  local name=$1 deadline state=''
  deadline=$(($(date +%s) + ${LAB_VM_BOOT_TIMEOUT:-300}))
  while (($(date +%s) < deadline)); do
    if ssh_ok "$name" 5; then
      state=$(in_srv "$name" timeout 240 systemctl is-system-running --wait 2>/dev/null || true)
      case $state in running | degraded) return 0 ;; esac
    fi
    sleep 2
  done
  tail -n 30 "$(sd_dir "$name")/console.log" >&2 || true
  die "$name: the VM did not finish booting (ssh to $(mgmt_srv_ip "$(srv_num "$name")"), systemd state '${state:-?}')"
}

vm_teardown_server() {
  local name=$1 dir pid i l
  dir=$(sd_dir "$name")
  if pid=$(vm_qemu_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -e /proc/$pid ]] || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if is_mounted "$dir/root"; then umount "$dir/root" 2>/dev/null || umount -l "$dir/root"; fi
  delete_server_links "$name"
  if [[ -e $(netns_file "$name") ]]; then ip netns del "$NETNS_PREFIX$name" 2>/dev/null || true; fi
  for l in "${LINK_NAMES[@]}"; do ip link del "$PARK_PREFIX${name#server}$l" 2>/dev/null || true; done
  rm -rf --one-file-system "$dir"
}
sd_teardown_server() { vm_teardown_server "$@"; }

# The host key a VM presents (kept next to its disk when the disk is made).
host_key_pub() { cat "$(sd_dir "$1")/host_key.pub"; }

sd_all_healthy() {
  local count n
  [[ -s $LAB/pairs ]] || return 1
  count=$((2 * $(<"$LAB/pairs")))
  for ((n = 1; n <= count; n++)); do
    netns_exists "$(srv "$n")" && vm_qemu_pid "$(srv "$n")" >/dev/null || return 1
  done
}

cmd_up() {
  local count n k name start image
  sd_parse_up plain "$@"
  require_root
  require_tools ip:iproute2 tc:iproute2 ssh:openssh-client ssh-keygen:openssh-client mkfs.ext4:e2fsprogs \
    flock:util-linux mount:mount ethtool:ethtool qemu-system-x86_64:qemu-system-x86 socat:socat mmdebstrap:mmdebstrap
  check_lab_path
  image=$(bash "$SCRIPT_DIR/image.sh" "$RELEASE-vm")
  take_lock
  start=$(date +%s.%N)
  count=$((2 * PAIRS))
  # Delays are shaping, not the machines: a new value reshapes running VMs, no reboot.
  mkdir -p "$LAB"
  echo "$DELAYS" >"$LAB/delays"
  if sd_needs_build; then
    for name in $(discover_servers); do
      log "$name: removing"
      vm_teardown_server "$name"
    done
    sd_new_state "$image"
    for ((n = 1; n <= count; n++)); do
      name=$(srv "$n")
      log "$name: making its disk ($RELEASE, $FLAVOR$([[ $MPTCPD == yes ]] && echo ', mptcpd'), ssh $(mgmt_srv_ip "$n"))"
      sd_mount_root "$name"
      sd_customize "$n"
      vm_customize "$n"
      cp "$(sd_root "$name")/etc/ssh/ssh_host_ed25519_key.pub" "$(sd_dir "$name")/host_key.pub"
      vm_make_disk "$name"
      vm_create_netns "$n"
    done
    for ((k = 1; k <= PAIRS; k++)); do
      log "pair $k: linking $(srv $((2 * k - 1))) <-> $(srv $((2 * k))) ($(pair_link_summary "$k"))"
      create_pair_links "$k"
      shape_pair "$k"
      vm_bridge_links "$k"
    done
    echo "$PAIRS" >"$LAB/pairs"
    write_client_files "$count"
    for ((n = 1; n <= count; n++)); do
      log "$(srv "$n"): starting the VM (software emulation, about a minute to boot)"
      vm_start "$n"
    done
    echo "$WANT" >"$LAB/config"
  else
    log "already up: $WANT"
    for ((k = 1; k <= PAIRS; k++)); do shape_pair "$k"; done
    write_client_files "$count"
  fi
  for ((n = 1; n <= count; n++)); do
    vm_wait_booted "$(srv "$n")"
    vm_apply_delays "$(srv "$n")"
  done
  log "up: $PAIRS pair(s) of $RELEASE VMs (kernel $(in_srv server1 uname -r), $FLAVOR), $LINKS data link(s) at $RATES Mbit/s$(delay_summary), booted, ssh OK ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s)"
}

cmd_status() {
  local count n name ok=1 line pid
  (($# == 0)) || usage
  require_root
  if [[ ! -s $LAB/pairs ]]; then
    echo "VM tier is down (no $LAB/pairs)"
    return 1
  fi
  count=$((2 * $(<"$LAB/pairs")))
  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    line="$name role=$(role_of "$n") flavor=$(<"$LAB/flavor")"
    if pid=$(vm_qemu_pid "$name"); then line+=" qemu=ok(pid $pid)"; else
      line+=" qemu=DOWN"
      ok=0
    fi
    if ssh_ok "$name" 5; then
      line+=" ssh=ok kernel=$(in_srv "$name" uname -r) systemd=$(in_srv "$name" systemctl is-system-running 2>/dev/null || true)"
      line+=" $(in_srv "$name" ip -o -4 addr show | awk '$2 != "lo" { printf "%s=%s ", $2, $4 }')"
    else
      line+=" ssh=FAIL"
      ok=0
    fi
    echo "$line"
  done
  if ((ok)); then echo "VM tier is up: $(<"$LAB/config")$(delay_summary)"; else
    echo "VM tier is NOT fully up"
    return 1
  fi
}

# A real reboot: `systemctl reboot` in the guest; the guest kernel restarts, QEMU stays.
cmd_reboot() {
  local name=${1:-} before after start i
  (($# == 1)) || usage
  require_root
  [[ $name =~ ^server[0-9]+$ ]] || usage
  before=$(vm_boot_id "$name") || die "$name is not reachable over SSH"
  start=$(date +%s.%N)
  log "$name: systemctl reboot"
  in_srv "$name" systemctl reboot || true
  for ((i = 0; i < 300; i++)); do
    after=$(vm_boot_id "$name" || true)
    [[ -n $after && $after != "$before" ]] && break
    sleep 2
  done
  [[ -n $after && $after != "$before" ]] || die "$name: did not boot again"
  vm_wait_booted "$name"
  vm_apply_delays "$name"
  sd_report_boot "$name" "$after" "$start"
}

# The data NICs re-created, as after a driver reload: inside the guest each data NIC's virtio
# device is unbound from virtio_net and bound again; the kernel makes a new interface (new
# ifindex) and udev names it again from its MAC. Waits until every one is back.
cmd_relink() {
  local name=${1:-} ifc i
  (($# == 1)) || usage
  require_root
  [[ $name =~ ^server[0-9]+$ ]] || usage
  for ifc in $(active_links); do
    # shellcheck disable=SC2016 # expanded in the guest
    in_srv "$name" sh -ec 'd=$(basename "$(readlink -f "/sys/class/net/$1/device")"); echo "$d" >/sys/bus/virtio/drivers/virtio_net/unbind; echo "$d" >/sys/bus/virtio/drivers/virtio_net/bind' relink "$ifc"
    for ((i = 0; i < 100; i++)); do
      in_srv "$name" test -e "/sys/class/net/$ifc" && break
      sleep 0.2
    done
    in_srv "$name" test -e "/sys/class/net/$ifc" || die "$name: $ifc did not come back after the driver rebind"
  done
  vm_apply_delays "$name"
  log "$name: data NICs re-created ($(active_links | tr '\n' ' '))"
}

# Cuts or restores a data link's carrier as the guest sees it (QEMU's set_link).
cmd_link() {
  local name=${1:-} ifc=${2:-} state=${3:-} i
  (($# == 3)) || usage
  [[ $state == up || $state == down ]] || usage
  i=$(($(link_index "$ifc") + 1))
  vm_monitor "$name" "set_link n$i $([[ $state == up ]] && echo on || echo off)"
  log "$name: $ifc carrier $state"
}
