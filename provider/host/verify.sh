# shellcheck shell=sh
# The verification's host side (provider/verify/): the iperf3 server, the failover's restore
# timer and the sampler's stop flag. Their files live in this login's own folder (work_dir), never
# in world-writable /tmp: there another local user could plant a pid file that makes us signal
# the processes they choose, or end a measurement early. Needs lib.sh.

# Prints the pid in our file $1 when it names a live process of this login whose command is $2
# (any command when $2 is empty). A file that says anything else is not acted on.
our_pid() {
  op_pid=$(cat "$1" 2>/dev/null) || return 1
  case $op_pid in '' | *[!0-9]*) return 1 ;; esac
  [ "$(stat -c %u "/proc/$op_pid" 2>/dev/null)" = "$(id -u)" ] || return 1
  if [ -n "$2" ] && [ "$(cat "/proc/$op_pid/comm" 2>/dev/null)" != "$2" ]; then return 1; fi
  echo "$op_pid"
}

# Starts the MPTCP iperf3 server on port $1 for the pair named $2, after stopping one a
# verification of that pair left running.
iperf_server_start() {
  is_dir=$(work_dir) || return 1
  iperf_server_stop "$2" || return 1
  mptcpize run iperf3 -s -D -p "$1" -I "$is_dir/iperf3-$2.pid" || return 1
  # iperf3 -D returns before it listens.
  sleep 0.3
}

# Stops the iperf3 server of the pair named $1, if one of ours runs.
iperf_server_stop() {
  ist_file="$(work_dir)/iperf3-$1.pid" || return 1
  if ist_pid=$(our_pid "$ist_file" iperf3); then kill "$ist_pid" 2>/dev/null; fi
  rm -f "$ist_file"
}

# Arms the failover's guard named $1: after $2 seconds, unless disarmed, it runs the restore
# command (the remaining arguments) by itself, so a path stays failed no longer than that.
failover_arm() {
  fa_file="$(work_dir)/failover-$1.guard" || return 1
  fa_seconds=$2
  shift 2
  # shellcheck disable=SC2016 # expanded by the guard's own shell
  setsid sh -c 'sleep "$0"; exec "$@"' "$fa_seconds" "$@" </dev/null >/dev/null 2>&1 &
  echo "$!" >"$fa_file"
}

# Restores the path with the command of the remaining arguments, then disarms the guard named $1
# (even when the folder cannot be read: the restore comes first). Returns the restore's status.
failover_disarm() {
  fd_name=$1
  shift
  "$@"
  fd_status=$?
  if fd_file="$(work_dir)/failover-$fd_name.guard" && fd_pid=$(our_pid "$fd_file" ""); then kill "$fd_pid" 2>/dev/null; fi
  rm -f "$fd_file"
  return "$fd_status"
}

# The sampler of the measurement named $1: every $4 seconds, the bytes each link of the
# remaining arguments sent and the established subflows to port $2, for at most $3 seconds or
# until sampler_stop. Prints "E <epoch ns>" once, then "S <uptime> <bytes per link> <locals,>".
# Each measurement names its own sampler, so no file of an earlier one is mistaken for its own.
sampler() {
  sa_dir=$(work_dir) || return 1
  sa_flag="$sa_dir/sampler-$1.stop"
  sa_ready="$sa_dir/sampler-$1.ready"
  sa_port=$2
  sa_max=$3
  sa_interval=$4
  shift 4
  rm -f "$sa_flag"
  echo "E $(date +%s%N)"
  # sampler_ready returns once this exists: the transfer starts only while we sample.
  : >"$sa_ready"
  read -r sa_up _ </proc/uptime
  sa_end=$((${sa_up%.*} + sa_max))
  while [ ! -e "$sa_flag" ] && [ "${sa_up%.*}" -lt "$sa_end" ]; do
    read -r sa_up _ </proc/uptime
    sa_bytes=''
    for sa_dev in "$@"; do
      read -r sa_b <"/sys/class/net/$sa_dev/statistics/tx_bytes" || sa_b=0
      sa_bytes="$sa_bytes $sa_b"
    done
    echo "S $sa_up$sa_bytes $(ss -tnH state established "( dport = :$sa_port )" | awk '{ printf "%s,", $3 }')"
    sleep "$sa_interval"
  done
  rm -f "$sa_flag" "$sa_ready"
}

# Returns once the sampler named $1 samples (at most $2 seconds; fails after that).
sampler_ready() {
  sr_ready="$(work_dir)/sampler-$1.ready" || return 1
  sr_i=0
  while [ ! -e "$sr_ready" ]; do
    sr_i=$((sr_i + 1))
    [ "$sr_i" -le $(($2 * 20)) ] || return 1
    sleep 0.05
  done
}

# Ends the sampler named $1.
sampler_stop() {
  ss_flag="$(work_dir)/sampler-$1.stop" || return 1
  : >"$ss_flag"
}

# The kernel, then each sysctl of the arguments as `key=value` (empty when the kernel lacks it):
# what the window verdict reads.
buffers() {
  uname -r
  for bu_key in "$@"; do
    printf '%s=%s\n' "$bu_key" "$(sysctl -n "$bu_key" 2>/dev/null)"
  done
}
