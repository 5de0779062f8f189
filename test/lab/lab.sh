#!/usr/bin/env bash
# Lab of real SSH servers in network namespaces that behave like pairs of
# multi-homed Ubuntu servers (the guide's Server1/Server2 with two direct
# links eno1/eno2). See test/lab/README.md for the layout.
#
# Usage: bash test/lab/lab.sh <up|down|status|ssh|exec|reboot> [args]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

# A caller's lock (`flock /run/lock/mptcp-dev-lab.lock lab.sh up`) is an inherited fd: closed
# here, or the daemons this starts (supervisors, nspawn, QEMU) would hold it for as long as the
# lab runs, and every other lab command would wait forever. 255 is bash's own script fd.
for fd in "/proc/$$/fd"/*; do
  fd=${fd##*/}
  if [[ $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
TOPOLOGY=$SCRIPT_DIR/topology.json

command -v jq >/dev/null 2>&1 || {
  echo "lab: missing 'jq' (reads $TOPOLOGY); install it with: apt-get install jq" >&2
  exit 1
}
# The topology's one home is topology.json; this turns it into shell variables for one tier.
load_topology() {
  eval "$(jq -r --arg tier "$1" '.tiers[$tier] as $t |
    @sh "MAX_SERVERS=\(.maxServers)", @sh "DEFAULT_PAIRS=\(.defaultPairs)",
    @sh "DEFAULT_LINKS=\(.defaultLinks)", @sh "DEFAULT_RATE=\($t.defaultRateMbit // .defaultRateMbit)",
    @sh "ROLES=(\(.roles))", @sh "LINK_NAMES=(\([.links[].name]))", @sh "LINK_NETS=(\([.links[].net]))",
    @sh "NETNS_PREFIX=\($t.netnsPrefix)", @sh "HOST_LINK_PREFIX=\($t.hostLinkPrefix)",
    @sh "PARK_PREFIX=\($t.parkPrefix)", @sh "MGMT_NET=\($t.mgmtNet)", @sh "STATE_DIR=\($t.stateDir)"' "$TOPOLOGY")"
  [[ -n ${STATE_DIR:-} ]] || die "unknown tier '$1' (tiers: $(jq -r '.tiers | keys | join(", ")' "$TOPOLOGY"))"
  TIER=$1
  if [[ $TIER == netns ]]; then LAB=${LAB_DIR:-$REPO_ROOT/$STATE_DIR}; else LAB=$REPO_ROOT/$STATE_DIR; fi
  # Paths end up in overlay mount options and mountinfo lookups, so make the
  # state dir absolute here.
  case $LAB in /*) ;; *) LAB=$PWD/$LAB ;; esac
  LAB=${LAB%/}
}

SSHD=/usr/sbin/sshd
# What systemd gives services: a clean environment with a standard PATH.
BOOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Namespace and link names are global to the host, so one lock for all labs.
LOCK_FILE=/run/lock/mptcp-pulumi-lab.lock
HOST_KEY=/etc/ssh/lab_host_ed25519_key
AUTH_KEYS=/etc/ssh/lab_authorized_keys
# The provider's boot unit: the netns tier has no systemd, so `reboot` runs its ExecStart itself.
BOOT_UNIT=/etc/systemd/system/mptcp-pulumi.service

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
  printf 'lab: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat >&2 <<'EOF'
usage: bash test/lab/lab.sh [--tier netns|systemd|vm] <command> [args]

Tiers: netns (default; namespaces sharing this kernel, no init), systemd (Debian
containers booting systemd with a real network manager) and vm (the same Debian images
as QEMU VMs with their own kernels); see test/lab/README.md.

  up [--pairs N] [--links L] [--rate MBIT | --rates R1,R2,..] [--delays MS1,MS2,..]
                                build (or repair) the lab; defaults N=1, L=2 (eno1..enoL),
                                200 Mbit/s on every link (env LAB_PAIRS, LAB_LINKS, LAB_RATE_MBIT);
                                --delays: one-way delay per link (netem; needs a kernel with
                                sch_netem: the VM tier's guests have it, this machine may not)
  down                          remove every lab server, link, mount and process
  status                        show each server; exit non-zero unless fully up
  ssh HOST [CMD...]             run CMD on HOST over real SSH (.lab/ssh_config)
  exec HOST CMD...              run CMD inside HOST's netns + mount namespace
  reboot HOST                   simulate a reboot of HOST (fresh netns, /etc kept,
                                then sysctl --system and /etc/mptcp-pulumi/apply.sh)
  sshd-stop HOST                stop HOST's sshd and its sessions (fault injection)
  sshd-start HOST               start HOST's sshd again

systemd tier (--tier systemd): up also takes [--flavor plain|ifupdown|netplan|networkd|networkmanager]
  [--release bookworm|trixie] [--mptcpd]; reboot is a real `systemctl reboot` inside;
  relink HOST deletes and re-creates the data links of HOST's pair (as a driver reload);
  down leaves only the cached images (.images/).
vm tier (--tier vm): the same up options (flavor default plain, rate default 50 Mbit/s);
  link HOST IFC up|down cuts a data link's carrier in the guest (QEMU set_link);
  relink HOST re-creates HOST's data NICs (virtio_net unbound and bound again in the guest).

State lives in <repo>/.lab (override with LAB_DIR).
EOF
  exit 2
}

require_root() {
  [[ $(id -u) -eq 0 ]] ||
    die "must run as root (network namespaces, veth and mounts need CAP_NET_ADMIN/CAP_SYS_ADMIN)"
}

# Each argument is "tool:debian-package"; name the package so the fix is obvious.
require_tools() {
  local spec tool pkg
  for spec in "$@"; do
    tool=${spec%%:*} pkg=${spec#*:}
    if [[ $tool == /* ]]; then
      [[ -x $tool ]] || die "missing $tool; install it with: apt-get install $pkg"
    else
      command -v "$tool" >/dev/null 2>&1 || die "missing '$tool'; install it with: apt-get install $pkg"
    fi
  done
}

# fd 9 holds the lock; every long-lived child is started through detached (or with 9>&-) so a
# daemon never keeps the lab locked after we exit.
take_lock() {
  mkdir -p "${LOCK_FILE%/*}"
  exec 9>"$LOCK_FILE"
  flock -w 300 9 || die "another lab.sh is still running (lock $LOCK_FILE)"
}

# Runs a long-lived child with only stdin, stdout and stderr: any other descriptor it inherited
# (our lock on fd 9, or a caller's `flock FILE lab.sh ...`) would stay locked as long as it runs.
# Call it in the background (`detached cmd ... &`) or in a subshell: it closes them and execs `cmd`.
detached() {
  local fd
  for fd in "/proc/$BASHPID/fd"/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-"; fi
  done
  exec "$@"
}

check_lab_path() {
  # Overlay options use ',' and ':' as separators and mountinfo escapes
  # whitespace, so such characters would silently break the mounts.
  [[ $LAB != *[[:space:],:]* ]] || die "LAB_DIR must not contain whitespace, ',' or ':' ($LAB)"
}

# ---------------------------------------------------------------- naming

srv() { printf 'server%d' "$1"; }
srv_num() { printf '%d' "${1#server}"; }
pair_of() { echo $((($1 + 1) / 2)); }
mgmt_host_ip() { printf '%s.%d.1' "$MGMT_NET" "$1"; }
mgmt_srv_ip() { printf '%s.%d.2' "$MGMT_NET" "$1"; }
# Index of a data link in the topology (eno1 -> 0).
link_index() {
  local i
  for i in "${!LINK_NAMES[@]}"; do
    if [[ ${LINK_NAMES[$i]} == "$1" ]]; then
      echo "$i"
      return 0
    fi
  done
  die "unknown data link '$1'"
}
# Odd servers are the guide's Server1 (.1, runs the iperf3 server), even ones
# its Server2 (.2); pair k uses the (k-1)th /24 of each data subnet.
data_addr() {
  local n=$1 ifc=$2 k host i
  k=$(pair_of "$n")
  host=$((n % 2 == 1 ? 1 : 2))
  i=$(link_index "$ifc")
  printf '%s.%d.%d/24' "${LINK_NETS[$i]}" $((k - 1)) "$host"
}
role_of() { if (($1 % 2 == 1)); then echo "${ROLES[0]}"; else echo "${ROLES[1]}"; fi; }
# The data links of the current lab (eno1..enoL), from its state.
active_links() {
  local count
  count=$(cat "$LAB/links" 2>/dev/null || echo "$DEFAULT_LINKS")
  printf '%s\n' "${LINK_NAMES[@]:0:count}"
}
# The one-way delay of a data link in milliseconds (0: none), from the lab's state.
link_delay() {
  local list i
  i=$(link_index "$1")
  IFS=, read -ra list <<<"$(cat "$LAB/delays" 2>/dev/null || echo 0)"
  echo "${list[$i]:-${list[-1]}}"
}
# The rate of a data link in Mbit/s, from the lab's state (one per link, comma separated).
link_rate() {
  local rates i
  rates=$(cat "$LAB/rates" 2>/dev/null || echo "$DEFAULT_RATE")
  i=$(link_index "$1")
  IFS=, read -ra rates <<<"$rates"
  echo "${rates[$i]:-${rates[-1]}}"
}

# Namespace and host-side names of a server in this tier (tiers never share them).
netns_file() { printf '/run/netns/%s%s' "$NETNS_PREFIX" "$1"; }
mnt_file() { printf '%s/ns/%s' "$LAB" "$1"; }

# Run a command as the server sees the world: its netns and its mount
# namespace (own /etc overlay, own /sys).
in_srv() {
  local name=$1
  shift
  nsenter --net="$(netns_file "$name")" --mount="$(mnt_file "$name")" -- "$@"
}

# ---------------------------------------------------------------- probes

is_mounted() {
  awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo
}

netns_exists() { is_mounted "$(netns_file "$1")"; }
mntns_exists() { is_mounted "$(mnt_file "$1")"; }

# Lab servers present on the host, whatever the requested pair count.
discover_servers() {
  {
    ip netns list 2>/dev/null | awk -v p="$NETNS_PREFIX" '{ if (index($1, p) == 1) print substr($1, length(p) + 1) }'
    ip -o link show 2>/dev/null | awk -F': ' -v p="$HOST_LINK_PREFIX" '{ sub(/@.*/, "", $2); if (index($2, p) == 1) print substr($2, length(p) + 1) }'
    if [[ -d $LAB ]]; then
      find "$LAB" "$LAB/ns" -maxdepth 1 -mindepth 1 -name 'server*' -printf '%f\n' 2>/dev/null || true
    fi
  } | grep -E '^server[0-9]+$' | sort -u -V || true
}

# PIDs living in the server's netns or mount namespace: sshd, its sessions
# and anything a test left running (iperf3 -D, ...). `-ef` compares the
# namespace inodes without forking once per process.
server_pids() {
  local name=$1 net='' mnt='' d
  if netns_exists "$name"; then net=$(netns_file "$name"); fi
  if mntns_exists "$name"; then mnt=$(mnt_file "$name"); fi
  [[ -n $net || -n $mnt ]] || return 0
  for d in /proc/[0-9]*; do
    if [[ -n $net && $d/ns/net -ef $net ]] || [[ -n $mnt && $d/ns/mnt -ef $mnt ]]; then
      echo "${d#/proc/}"
    fi
  done
}

sshd_pid() {
  local pidfile=$LAB/$1/sshd.pid pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # The pid may have been reused after a crash; only trust a live sshd.
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sshd ]] || return 1
  echo "$pid"
}

KILLED_PIDS=()

kill_server_procs() {
  local name=$1 pid pids i
  if pid=$(sshd_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    KILLED_PIDS+=("$pid")
  fi
  pids=$(server_pids "$name")
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2206 # word splitting of the pid list is intended
  KILLED_PIDS+=($pids)
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    pids=$(server_pids "$name")
    [[ -n $pids ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  sleep 0.2
}

# Killed daemons were re-parented to PID 1, which may reap them only after a
# while; wait (bounded) so callers never see lab zombies after `down`.
wait_reaped() {
  local i pid left
  for ((i = 0; i < 50; i++)); do
    left=0
    for pid in "${KILLED_PIDS[@]}"; do
      if [[ -e /proc/$pid ]]; then
        left=1
        break
      fi
    done
    ((left)) || return 0
    sleep 0.1
  done
}

# ---------------------------------------------------------------- building

ensure_state_dirs() {
  mkdir -p "$LAB/ns"
  # unshare --mount=FILE needs FILE on a private mount, otherwise the nsfs
  # bind mount would propagate (and the kernel refuses shared parents).
  if ! is_mounted "$LAB/ns"; then mount --bind "$LAB/ns" "$LAB/ns"; fi
  mount --make-private "$LAB/ns"
  # sshd refuses to start without its privilege-separation directory; /run
  # is the host's in every server's mount namespace.
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
}

ensure_client_key() {
  if [[ ! -s $LAB/id_ed25519 || ! -s $LAB/id_ed25519.pub ]]; then
    rm -f "$LAB/id_ed25519" "$LAB/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C mptcp-pulumi-lab -f "$LAB/id_ed25519"
  fi
  chmod 0600 "$LAB/id_ed25519"
}

# Fresh netns with lo and the management veth; shared by `up` and `reboot`.
create_netns_mgmt() {
  local n=$1 name
  name=$(srv "$n")
  ip netns add "$NETNS_PREFIX$name"
  ip -n "$NETNS_PREFIX$name" link set lo up
  # A fixed MAC: the management NIC of a real server keeps its address (and its fe80::) across reboots.
  ip link add "$HOST_LINK_PREFIX$name" type veth peer name mgmt0 address "$(printf '02:6c:61:62:%02x:%02x' "${MGMT_NET#*.}" "$n")" netns "$NETNS_PREFIX$name"
  ip addr add "$(mgmt_host_ip "$n")/30" dev "$HOST_LINK_PREFIX$name"
  ip link set "$HOST_LINK_PREFIX$name" up
  ip -n "$NETNS_PREFIX$name" addr add "$(mgmt_srv_ip "$n")/30" dev mgmt0
  ip -n "$NETNS_PREFIX$name" link set mgmt0 up
}

# Persistent mount namespace: /etc is an overlay over the host's /etc, /sys
# is a sysfs of the server's netns so /sys/class/net lists its own links.
create_mntns() {
  local name=$1 dir=$LAB/$1 f
  f=$(mnt_file "$name")
  mkdir -p "$dir/etc-upper" "$dir/etc-work" "$dir/root"
  # Each server gets its own /root, with the stock Debian/Ubuntu .bashrc that returns early
  # for non-interactive shells (this machine's /root/.bashrc would add ~70 ms to every ssh).
  # shellcheck disable=SC2016 # the server's shell expands these, not this one
  printf '%s\n' '# ~/.bashrc of a lab server' '[ -z "$PS1" ] && return' 'PS1="\u@\h:\w\$ "' >"$dir/root/.bashrc"
  : >"$f"
  # Dropping /run/netns inside stops the server's namespace from pinning
  # other lab netns (its copies would be private and never unmounted).
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount="$f" --propagation private \
    nsenter --net="$(netns_file "$name")" -- /bin/sh -euc '
      mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc
      mount --bind "$3" /root
      mount -t sysfs sysfs /sys
      if mountpoint -q /run/netns; then umount -l /run/netns; fi
    ' sh "$dir/etc-upper" "$dir/etc-work" "$dir/root"
}

# After a reboot the old sysfs still describes the deleted netns.
remount_sys() {
  in_srv "$1" /bin/sh -ec 'umount -l /sys 2>/dev/null || true; mount -t sysfs sysfs /sys'
}

render_sshd_config() {
  local n=$1 name
  name=$(srv "$n")
  cat <<EOF
# Generated by test/lab/lab.sh for $name. Paths under /etc are the server's own
# overlay /etc; PidFile and the -E log live in the lab state dir.
ListenAddress $(mgmt_srv_ip "$n")
Port 22
HostKey $HOST_KEY
PidFile $LAB/$name/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile $AUTH_KEYS
LogLevel VERBOSE
# ControlMaster multiplexes many sessions over one connection.
MaxSessions 64
MaxStartups 64
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

ensure_server_keys() {
  local name=$1
  # shellcheck disable=SC2016 # expanded by the inner shell
  in_srv "$name" /bin/sh -ec '
    mkdir -p /etc/ssh
    [ -s "$1" ] && [ -s "$1.pub" ] || { rm -f "$1" "$1.pub"; ssh-keygen -q -t ed25519 -N "" -C "$3" -f "$1"; }
    umask 022
    cat >"$2"
  ' sh "$HOST_KEY" "$AUTH_KEYS" "$name" <"$LAB/id_ed25519.pub"
}

start_sshd() {
  local n=$1 name dir out
  name=$(srv "$n")
  dir=$LAB/$name
  render_sshd_config "$n" >"$dir/sshd_config"
  rm -f "$dir/sshd.pid"
  if ! out=$(in_srv "$name" "$SSHD" -t -f "$dir/sshd_config" 2>&1); then
    die "$name: sshd config test failed: $out"
  fi
  in_srv "$name" env -i PATH="$BOOT_PATH" "$SSHD" -f "$dir/sshd_config" -E "$dir/sshd.log" 9>&-
}

build_server() {
  local n=$1 name
  name=$(srv "$n")
  create_netns_mgmt "$n"
  create_mntns "$name"
  ensure_server_keys "$name"
  start_sshd "$n"
}

# Delete links explicitly: netns teardown is asynchronous and would leave
# lab-serverN / the peer's eno1 busy for a moment.
delete_server_links() {
  local name=$1 l
  if netns_exists "$name"; then
    for l in "${LINK_NAMES[@]}" mgmt0; do ip -n "$NETNS_PREFIX$name" link del "$l" 2>/dev/null || true; done
  fi
  ip link del "$HOST_LINK_PREFIX$name" 2>/dev/null || true
}

teardown_server() {
  local name=$1 f
  f=$(mnt_file "$name")
  kill_server_procs "$name"
  delete_server_links "$name"
  if is_mounted "$f"; then umount "$f" 2>/dev/null || umount -l "$f"; fi
  rm -f "$f"
  if [[ -e $(netns_file "$name") ]]; then ip netns del "$NETNS_PREFIX$name" 2>/dev/null || true; fi
  rm -rf --one-file-system "${LAB:?}/$name"
  # data-link ends parked by an interrupted reboot
  for l in "${LINK_NAMES[@]}"; do ip link del "$PARK_PREFIX${name#server}$l" 2>/dev/null || true; done
}

server_healthy() {
  local n=$1 name dir pid f
  name=$(srv "$n")
  dir=$LAB/$name
  f=$(mnt_file "$name")
  netns_exists "$name" && mntns_exists "$name" || return 1
  ip -o -4 addr show dev "$HOST_LINK_PREFIX$name" 2>/dev/null | grep -qF " $(mgmt_host_ip "$n")/30 " || return 1
  ip -o link show dev "$HOST_LINK_PREFIX$name" 2>/dev/null | grep -q 'state UP' || return 1
  ip -n "$NETNS_PREFIX$name" -o -4 addr show dev mgmt0 2>/dev/null | grep -qF " $(mgmt_srv_ip "$n")/30 " || return 1
  # /etc must be our overlay and /sys must belong to the current netns.
  # shellcheck disable=SC2016 # expanded by the inner shell
  in_srv "$name" /bin/sh -c '
    grep -q "^overlay /etc overlay .*upperdir=$1," /proc/self/mounts || exit 1
    idx=$(cat /sys/class/net/mgmt0/ifindex 2>/dev/null) || exit 1
    ip -o link show dev mgmt0 | grep -q "^$idx:" || exit 1
    [ -s "$2" ]
  ' sh "$dir/etc-upper" "$HOST_KEY" 2>/dev/null || return 1
  pid=$(sshd_pid "$name") || return 1
  [[ /proc/$pid/ns/net -ef $(netns_file "$name") && /proc/$pid/ns/mnt -ef $f ]] || return 1
  cmp -s "$dir/sshd_config" <(render_sshd_config "$n") || return 1
}

pair_links_ok() {
  local k=$1 a b ifc
  a=$(srv $((2 * k - 1)))
  b=$(srv $((2 * k)))
  for ifc in $(active_links); do
    ip -n "$NETNS_PREFIX$a" -o link show dev "$ifc" 2>/dev/null | grep -q "link-netns $NETNS_PREFIX$b\\b" || return 1
    ip -n "$NETNS_PREFIX$b" -o link show dev "$ifc" 2>/dev/null | grep -q "link-netns $NETNS_PREFIX$a\\b" || return 1
  done
  # links beyond the current --links must go
  for ifc in "${LINK_NAMES[@]}"; do
    grep -qx "$ifc" <(active_links) && continue
    ip -n "$NETNS_PREFIX$a" link show dev "$ifc" >/dev/null 2>&1 && return 1
  done
  return 0
}

# ", delayed 150,150 ms one way" for the log, or nothing when no link is delayed.
delay_summary() {
  local d
  d=$(cat "$LAB/delays" 2>/dev/null || echo 0)
  [[ $d =~ [1-9] ]] && printf ', delayed %s ms one way' "$d"
  return 0
}

# "eno1 10.0.0.0/24 200 Mbit/s, eno2 ..." for the log.
pair_link_summary() {
  local k=$1 ifc out=''
  for ifc in $(active_links); do
    out+="${out:+, }$ifc $(data_addr $((2 * k)) "$ifc" | sed 's/\.2\/24$/.0\/24/') $(link_rate "$ifc") Mbit/s"
  done
  echo "$out"
}

# The guide's two direct links as veth pairs straight between the two
# namespaces; deleting either end removes both.
create_pair_links() {
  local k=$1 a b ifc
  a=$(srv $((2 * k - 1)))
  b=$(srv $((2 * k)))
  for ifc in "${LINK_NAMES[@]}"; do
    ip -n "$NETNS_PREFIX$a" link del "$ifc" 2>/dev/null || true
    ip -n "$NETNS_PREFIX$b" link del "$ifc" 2>/dev/null || true
  done
  for ifc in $(active_links); do
    ip link add "$ifc" netns "$NETNS_PREFIX$a" type veth peer name "$ifc" netns "$NETNS_PREFIX$b"
  done
}

# Shapes one end of a data link to its rate (idempotent).
shape_link() {
  local name=$1 ifc=$2 rate burst delay
  rate=$(link_rate "$ifc")
  # Without GSO every packet is MTU sized, so the bucket only needs a couple
  # of milliseconds of traffic; 32 KiB floor keeps low rates smooth.
  burst=$((rate * 250))
  ((burst >= 32768)) || burst=32768
  # veth hands tbf 64 KiB GSO super-packets that a small bucket cannot
  # pass smoothly; segment in the stack instead.
  nsenter --net="$(netns_file "$name")" -- ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 || true
  delay=$(link_delay "$ifc")
  # The bottleneck's queue grows with the path: after a loss cubic keeps 0.7 of its window, so
  # the link stays busy only if the queue holds about 0.3/0.7 = 0.43 of the round trip. 20 ms
  # plus the one-way delay (half the round trip) gives that; 20 ms alone is for short links.
  if ((delay > 0)) && [[ $TIER != vm ]]; then
    # netem under tbf, on the same end: each end delays what it sends (the VM tier's guests
    # delay inside their own kernels instead, see tier-vm.sh).
    tc -n "$NETNS_PREFIX$name" qdisc del dev "$ifc" root 2>/dev/null || true
    tc -n "$NETNS_PREFIX$name" qdisc add dev "$ifc" root handle 1: tbf rate "${rate}mbit" burst "$burst" latency "$((20 + delay))ms"
    tc -n "$NETNS_PREFIX$name" qdisc add dev "$ifc" parent 1:1 handle 10: netem delay "${delay}ms" limit "$(netem_limit "$rate" "$delay")"
  else
    # tbf keeps its child on replace: a delay taken away takes the whole tree with it.
    if tc -n "$NETNS_PREFIX$name" qdisc show dev "$ifc" | grep -q '^qdisc netem '; then tc -n "$NETNS_PREFIX$name" qdisc del dev "$ifc" root; fi
    tc -n "$NETNS_PREFIX$name" qdisc replace dev "$ifc" root tbf rate "${rate}mbit" burst "$burst" latency "$((20 + delay))ms"
  fi
}

# Packets netem must hold for a link: what it delays (rate x delay), twice over for slow
# start's bursts, plus netem's own default of 1000. Too small a limit drops packets at the
# delay line and caps the path at limit x MTU per delay, whatever the buffers.
netem_limit() {
  local rate=$1 delay=$2
  echo $((2 * rate * 1000000 * delay / 8000 / 1514 + 1000))
}

# Dies unless this machine's kernel can delay packets (sch_netem): the netns and systemd tiers
# shape with it. Probed in a throwaway network namespace, so nothing here is touched.
require_host_netem() {
  local out
  if ! out=$(unshare --net tc qdisc add dev lo root netem delay 1ms 2>&1); then
    die "--delays needs sch_netem in the kernel that shapes the links: the $TIER tier shares this machine's kernel ($(uname -r)), which cannot add netem (tc: ${out:-failed}); the VM tier's guests have it: lab.sh --tier vm up --delays ..."
  fi
}

# Idempotent: addresses, link state and shaping of both sides of a pair.
configure_pair() {
  local k=$1 n name ifc
  for n in $((2 * k - 1)) $((2 * k)); do
    name=$(srv "$n")
    for ifc in $(active_links); do
      ip -n "$NETNS_PREFIX$name" addr replace "$(data_addr "$n" "$ifc")" dev "$ifc"
      ip -n "$NETNS_PREFIX$name" link set "$ifc" up
      shape_link "$name" "$ifc"
    done
  done
}

write_client_files() {
  local count=$1 n name tmp sep links ifc
  tmp=$(mktemp "$LAB/.tmp.XXXXXX")
  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    printf '%s %s\n' "$(mgmt_srv_ip "$n")" "$(host_key_pub "$name" | awk '{ print $1, $2 }')"
  done >"$tmp"
  mv "$tmp" "$LAB/known_hosts"

  tmp=$(mktemp "$LAB/.tmp.XXXXXX")
  {
    echo "# Generated by test/lab/lab.sh; use with: ssh -F $LAB/ssh_config server1"
    for ((n = 1; n <= count; n++)); do
      cat <<EOF

Host $(srv "$n")
  HostName $(mgmt_srv_ip "$n")
  Port 22
  User root
  IdentityFile $LAB/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
EOF
    done
  } >"$tmp"
  mv "$tmp" "$LAB/ssh_config"

  tmp=$(mktemp "$LAB/.tmp.XXXXXX")
  {
    echo '['
    for ((n = 1; n <= count; n++)); do
      if ((n == count)); then sep=''; else sep=','; fi
      links=''
      for ifc in $(active_links); do
        links+="${links:+,}{\"name\":\"$ifc\",\"address\":\"$(data_addr "$n" "$ifc")\",\"rateMbit\":$(link_rate "$ifc"),\"delayMs\":$(link_delay "$ifc")}"
      done
      printf '  {"name":"%s","tier":"%s","host":"%s","port":22,"user":"root","pair":%d,"role":"%s","links":[%s]}%s\n' \
        "$(srv "$n")" "$TIER" "$(mgmt_srv_ip "$n")" "$(pair_of "$n")" "$(role_of "$n")" "$links" "$sep"
    done
    echo ']'
  } >"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$LAB/hosts.json"
}

ssh_ok() {
  ssh -F "$LAB/ssh_config" -o ConnectTimeout="${2:-3}" "$1" true </dev/null >/dev/null 2>&1
}

wait_ssh() {
  local name=$1 i
  for ((i = 0; i < 50; i++)); do
    ssh_ok "$name" 2 && return 0
    sleep 0.2
  done
  log "$name: last sshd log lines:"
  tail -n 20 "$LAB/$name/sshd.log" >&2 2>/dev/null || true
  die "$name: ssh to $(mgmt_srv_ip "$(srv_num "$name")") did not come up"
}

# ---------------------------------------------------------------- commands

# Options of `up` shared by every tier: sets PAIRS, LINKS, RATES and DELAYS (one value per link,
# comma separated), or dies naming the bad option before anything is touched.
parse_up_options() {
  local rate='' rate_list='' delays='' r i
  PAIRS=${LAB_PAIRS:-$DEFAULT_PAIRS} LINKS=${LAB_LINKS:-$DEFAULT_LINKS} UP_REST=()
  while (($#)); do
    case $1 in
      --pairs | --links | --rate | --rates | --delays)
        (($# >= 2)) || die "$1 needs a value"
        set -- "$1=$2" "${@:3}"
        ;;
      --pairs=*) PAIRS=${1#*=} && shift ;;
      --links=*) LINKS=${1#*=} && shift ;;
      --rate=*) rate=${1#*=} && shift ;;
      --rates=*) rate_list=${1#*=} && shift ;;
      --delays=*) delays=${1#*=} && shift ;;
      *) UP_REST+=("$1") && shift ;;
    esac
  done
  if ! [[ $PAIRS =~ ^[0-9]+$ ]] || ((PAIRS < 1 || 2 * PAIRS > MAX_SERVERS)); then
    die "--pairs must be an integer from 1 to $((MAX_SERVERS / 2)) (got '$PAIRS')"
  fi
  if ! [[ $LINKS =~ ^[0-9]+$ ]] || ((LINKS < 1 || LINKS > ${#LINK_NAMES[@]})); then
    die "--links must be an integer from 1 to ${#LINK_NAMES[@]} (got '$LINKS')"
  fi
  [[ -z $rate || -z $rate_list ]] || die "--rate and --rates exclude each other (got both)"
  rate_list=${rate_list:-${rate:-${LAB_RATE_MBIT:-$DEFAULT_RATE}}}
  IFS=, read -ra r <<<"$rate_list"
  if ((${#r[@]} == 1)); then
    RATES=$(printf "${r[0]}%.0s," $(seq "$LINKS"))
    RATES=${RATES%,}
  elif ((${#r[@]} == LINKS)); then
    RATES=$rate_list
  else
    die "--rates needs one rate or one per link ($LINKS links), got ${#r[@]} ('$rate_list')"
  fi
  IFS=, read -ra r <<<"$RATES"
  for i in "${r[@]}"; do
    if ! [[ $i =~ ^[0-9]+$ ]] || ((i < 1 || i > 100000)); then
      die "--rate(s) must be integer Mbit/s from 1 to 100000 (got '$i')"
    fi
  done
  IFS=, read -ra r <<<"${delays:-0}"
  if ((${#r[@]} == 1)); then
    DELAYS=$(printf "${r[0]}%.0s," $(seq "$LINKS"))
    DELAYS=${DELAYS%,}
  elif ((${#r[@]} == LINKS)); then
    DELAYS=$delays
  else
    die "--delays needs one delay or one per link ($LINKS links), got ${#r[@]} ('$delays')"
  fi
  IFS=, read -ra r <<<"$DELAYS"
  for i in "${r[@]}"; do
    if ! [[ $i =~ ^[0-9]+$ ]] || ((i > 10000)); then
      die "--delays must be integer milliseconds (one way) from 0 to 10000 (got '$i')"
    fi
  done
  if [[ $DELAYS =~ [1-9] && $TIER != vm ]]; then require_host_netem; fi
}

cmd_up() {
  local count n k name start
  local -A dirty=()
  parse_up_options "$@"
  ((${#UP_REST[@]} == 0)) || usage
  require_root
  require_tools ip:iproute2 tc:iproute2 "$SSHD:openssh-server" ssh:openssh-client \
    ssh-keygen:openssh-client nsenter:util-linux unshare:util-linux flock:util-linux \
    mountpoint:util-linux mount:mount umount:mount ethtool:ethtool
  check_lab_path
  take_lock
  start=$(date +%s.%N)
  count=$((2 * PAIRS))

  mkdir -p "$LAB"
  echo "$LINKS" >"$LAB/links"
  echo "$RATES" >"$LAB/rates"
  echo "$DELAYS" >"$LAB/delays"
  ensure_state_dirs
  ensure_client_key

  # A smaller --pairs than last time: the lab should match what was asked.
  for name in $(discover_servers); do
    n=$(srv_num "$name")
    if ((n > count)); then
      log "$name: removing (beyond $PAIRS pair(s))"
      teardown_server "$name"
    fi
  done

  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    if server_healthy "$n"; then
      log "$name: already up"
      ensure_server_keys "$name" # the client key may have been regenerated
    else
      log "$name: building ($(mgmt_srv_ip "$n"))"
      teardown_server "$name"
      build_server "$n"
      dirty[$(pair_of "$n")]=1
    fi
  done

  for ((k = 1; k <= PAIRS; k++)); do
    if [[ -n ${dirty[$k]:-} ]] || ! pair_links_ok "$k"; then
      log "pair $k: linking $(srv $((2 * k - 1))) <-> $(srv $((2 * k))) ($(pair_link_summary "$k"))"
      create_pair_links "$k"
    fi
    configure_pair "$k"
  done

  echo "$PAIRS" >"$LAB/pairs"
  write_client_files "$count"
  for ((n = 1; n <= count; n++)); do wait_ssh "$(srv "$n")"; done
  log "up: $PAIRS pair(s), $LINKS data link(s) shaped to $RATES Mbit/s$(delay_summary), ssh OK ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s)"
}

cmd_down() {
  local name removed=0 mnt
  (($# == 0)) || usage
  require_root
  require_tools ip:iproute2 flock:util-linux umount:mount
  take_lock
  for name in $(discover_servers); do
    teardown_server "$name"
    log "$name: removed"
    removed=1
  done
  # Anything still mounted below the state dir (deepest first), then the dir.
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v p="$LAB" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  if [[ -e $LAB ]]; then
    rm -rf --one-file-system "$LAB"
    removed=1
  fi
  # `ip netns add` left /run/netns bind-mounted; drop it once no namespace
  # (ours or anyone's) is left in it.
  if is_mounted /run/netns && [[ -z $(ls -A /run/netns) ]]; then umount /run/netns 2>/dev/null || true; fi
  wait_reaped
  if ((removed)); then log "down: lab removed"; fi
}

cmd_status() {
  local pairs count n name ok=1 pid line ifc addr
  (($# == 0)) || usage
  require_root
  require_tools ip:iproute2 ssh:openssh-client nsenter:util-linux
  if [[ ! -s $LAB/pairs ]]; then
    echo "lab is down (no $LAB/pairs)"
    return 1
  fi
  pairs=$(<"$LAB/pairs")
  count=$((2 * pairs))
  for ((n = 1; n <= count; n++)); do
    name=$(srv "$n")
    line="$name role=$(role_of "$n")"
    if netns_exists "$name"; then line+=" netns=ok"; else
      line+=" netns=MISSING"
      ok=0
    fi
    if pid=$(sshd_pid "$name"); then line+=" sshd=ok(pid $pid)"; else
      line+=" sshd=DOWN"
      ok=0
    fi
    if ssh_ok "$name"; then line+=" ssh=ok"; else
      line+=" ssh=FAIL"
      ok=0
    fi
    if netns_exists "$name"; then
      for ifc in mgmt0 $(active_links); do
        addr=$(link_ipv4 "$name" "$ifc")
        if [[ -z $addr ]]; then
          addr=MISSING
          ok=0
        fi
        line+=" $ifc=$addr"
      done
    fi
    echo "$line"
  done
  if ((ok)); then echo "lab is up: $pairs pair(s), $(active_links | paste -sd, -) at $(cat "$LAB/rates" 2>/dev/null || echo '?') Mbit/s$(delay_summary)"; else
    echo "lab is NOT fully up"
    return 1
  fi
}

# A server's IPv4 addresses on one link, comma-separated (empty when it has none), for `status`.
link_ipv4() {
  ip -n "$NETNS_PREFIX$1" -o -4 addr show dev "$2" 2>/dev/null | awk '{ print $4 }' | paste -sd, -
}

check_host_arg() {
  [[ ${1:-} =~ ^server[0-9]+$ ]] || usage
  if ! netns_exists "$1" || ! mntns_exists "$1"; then
    die "$1 is not up (try: bash test/lab/lab.sh up)"
  fi
}

cmd_ssh() {
  local host=${1:-}
  (($# >= 1)) || usage
  shift
  [[ $host =~ ^server[0-9]+$ ]] || usage
  require_root
  require_tools ssh:openssh-client
  [[ -s $LAB/ssh_config ]] || die "lab is not up (no $LAB/ssh_config)"
  if (($# == 0)); then exec ssh -F "$LAB/ssh_config" "$host"; fi
  # ssh joins its arguments with spaces and the remote shell re-parses them,
  # so quote exactly once here.
  exec ssh -F "$LAB/ssh_config" "$host" -- "$(printf '%q ' "$@")"
}

cmd_exec() {
  local host=${1:-}
  (($# >= 2)) || usage
  shift
  require_root
  require_tools nsenter:util-linux
  check_host_arg "$host"
  exec nsenter --net="$(netns_file "$host")" --mount="$(mnt_file "$host")" -- "$@"
}

cmd_reboot() {
  local name=${1:-} n k rc=0 status
  (($# == 1)) || usage
  require_root
  require_tools ip:iproute2 tc:iproute2 "$SSHD:openssh-server" ssh:openssh-client \
    nsenter:util-linux flock:util-linux mount:mount umount:mount ethtool:ethtool sysctl:procps
  check_host_arg "$name"
  n=$(srv_num "$name")
  k=$(pair_of "$n")
  if [[ ! -s $LAB/pairs ]] || ((n > 2 * $(<"$LAB/pairs"))); then
    die "$name is not part of the current lab"
  fi
  take_lock

  log "$name: rebooting (processes killed, netns recreated, /etc kept)"
  kill_server_procs "$name"
  power_cycle_netns "$n" remount_sys
  configure_pair "$k"

  # What boot runs: systemd-sysctl, then the mptcp-pulumi.service replay.
  if in_srv "$name" env -i PATH="$BOOT_PATH" sysctl --system >/dev/null 9>&-; then status=0; else status=$?; fi
  echo "$name: boot: ran 'sysctl --system' (exit $status)"
  if in_srv "$name" test -f "$BOOT_UNIT"; then
    exec_start=$(in_srv "$name" sed -n 's/^ExecStart=//p' "$BOOT_UNIT")
    if in_srv "$name" env -i PATH="$BOOT_PATH" HOME=/root sh -c "$exec_start" >&2 9>&-; then status=0; else status=$?; fi
    echo "$name: boot: ran '$exec_start' (exit $status)"
    rc=$status
  else
    echo "$name: boot: no $BOOT_UNIT, skipped"
  fi

  start_sshd "$n"
  wait_ssh "$name"
  log "$name: back up"
  return "$rc"
}

# A power cycle loses all kernel network state: a fresh namespace and management link (then
# `$2 NAME` if given). This server's ends of the data links are parked in the root namespace
# meanwhile and moved back: deleting a veth end deletes the peer too, and the peer did not
# reboot, so its NICs (and the routes on them) must survive, as a real NIC would.
power_cycle_netns() {
  local n=$1 after=${2:-} name k ifc parked=1
  name=$(srv "$n")
  k=$(pair_of "$n")
  for ifc in $(active_links); do
    if ip -n "$NETNS_PREFIX$name" link show dev "$ifc" >/dev/null 2>&1; then
      ip -n "$NETNS_PREFIX$name" link set dev "$ifc" down
      ip -n "$NETNS_PREFIX$name" link set dev "$ifc" name "$PARK_PREFIX$n$ifc"
      ip -n "$NETNS_PREFIX$name" link set dev "$PARK_PREFIX$n$ifc" netns "$$"
    else
      parked=0
    fi
  done
  delete_server_links "$name"
  ip netns del "$NETNS_PREFIX$name"
  create_netns_mgmt "$n"
  if [[ -n $after ]]; then "$after" "$name"; fi
  if ((parked)); then
    for ifc in $(active_links); do
      ip link set dev "$PARK_PREFIX$n$ifc" netns "$NETNS_PREFIX$name"
      ip -n "$NETNS_PREFIX$name" link set dev "$PARK_PREFIX$n$ifc" name "$ifc"
    done
  else
    log "pair $k: relinking $(srv $((2 * k - 1))) <-> $(srv $((2 * k)))"
    for ifc in $(active_links); do ip link del "$PARK_PREFIX$n$ifc" 2>/dev/null || true; done
    create_pair_links "$k"
  fi
}

# Fault injection: sshd stopped (with every session it serves) and started again, the rest of
# the server untouched.
cmd_sshd() {
  local action=${1:-} name=${2:-} n pid
  (($# == 2)) || usage
  require_root
  check_host_arg "$name"
  n=$(srv_num "$name")
  case $action in
    stop)
      if pid=$(sshd_pid "$name"); then kill -TERM "$pid" 2>/dev/null || true; fi
      # Sessions are sshd processes of this server's namespaces too: a crash takes them all.
      for pid in $(server_pids "$name"); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sshd* ]] && kill -KILL "$pid" 2>/dev/null
      done
      log "$name: sshd stopped"
      ;;
    start)
      sshd_pid "$name" >/dev/null || start_sshd "$n"
      wait_ssh "$name"
      log "$name: sshd running"
      ;;
    *) usage ;;
  esac
}

# The netns tier's host key as it serves it.
host_key_pub() { in_srv "$1" cat "$HOST_KEY.pub"; }

main() {
  local cmd tier=netns
  while [[ ${1:-} == --tier || ${1:-} == --tier=* ]]; do
    if [[ $1 == --tier ]]; then
      tier=${2:-}
      shift 2 || usage
    else
      tier=${1#*=}
      shift
    fi
  done
  cmd=${1:-}
  if (($#)); then shift; fi
  # `up --tier systemd ...` works too for the commands that take no remote command.
  case $cmd in
    up | down | status | reboot)
      local args=()
      while (($#)); do
        case $1 in
          --tier)
            (($# >= 2)) || usage
            tier=$2
            shift 2
            ;;
          --tier=*) tier=${1#*=} && shift ;;
          *) args+=("$1") && shift ;;
        esac
      done
      set -- "${args[@]+"${args[@]}"}"
      ;;
  esac
  load_topology "$tier"
  if [[ $tier == systemd || $tier == vm ]]; then
    # shellcheck source=test/lab/tier-systemd.sh
    source "$SCRIPT_DIR/tier-systemd.sh"
  fi
  if [[ $tier == vm ]]; then
    # shellcheck source=test/lab/tier-vm.sh
    source "$SCRIPT_DIR/tier-vm.sh"
  fi
  case $cmd in
    __supervise) [[ $tier == systemd ]] && cmd_supervise "$@" ;;
    link)
      [[ $tier == vm ]] || die "link HOST IFC up|down is the VM tier's (QEMU set_link)"
      cmd_link "$@"
      ;;
    relink)
      [[ $tier != netns ]] || die "relink HOST is the systemd and VM tiers'"
      cmd_relink "$@"
      ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    ssh) cmd_ssh "$@" ;;
    exec) cmd_exec "$@" ;;
    reboot) cmd_reboot "$@" ;;
    sshd-stop | sshd-start)
      [[ $tier == netns ]] || die "$cmd is the netns tier's fault injection (systemd tier: lab.sh --tier systemd exec HOST systemctl stop ssh)"
      cmd_sshd "${cmd#sshd-}" "$@"
      ;;
    *) usage ;;
  esac
}

main "$@"
