#!/usr/bin/env bash
# How NetworkManager applies a connection change on the lab's client (server2, networkmanager
# flavor): `nmcli device reapply eno2` against `nmcli connection up eno2`, three runs each: the
# command's duration and how many of 80 pings (50 ms apart, from 192.168.0.2 over eno2) arrive.
# Usage (root, under the lab lock): bash bench/nm-reapply.sh
set -euo pipefail
cd "$(dirname "$0")/.."
L=(bash test/lab/lab.sh --tier systemd)
"${L[@]}" up --flavor networkmanager >&2
for how in "nmcli device reapply eno2" "nmcli connection up eno2"; do
  for run in 1 2 3; do
    # shellcheck disable=SC2016 # expanded on the server
    "${L[@]}" exec server2 sh -c 'ping -q -I 192.168.0.2 -i 0.05 -c 80 -W 1 192.168.0.1 >/tmp/ping.out 2>&1 & sleep 1
      s=$(date +%s%N); $1 >/dev/null; e=$(date +%s%N); wait
      echo "$1 run $2: $(((e - s) / 1000000)) ms, $(grep -o "[0-9]* received" /tmp/ping.out) of 80 pings"' sh "$how" "$run"
  done
done
"${L[@]}" down >&2
