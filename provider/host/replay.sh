# shellcheck shell=sh
# The boot replay: puts back what no network manager keeps (limits, addresses, links, policy
# rules and routes, MPTCP endpoints) from the parts the provider wrote, one record per line
# (`KIND key=value ...`, provider/keepers/kernel.ts writes them). Runs at boot, when a network
# device appears, and from the network managers' hooks. Needs lib.sh; the installed program
# ends with `replay_main "$@"`. Arguments: the run folder, the parts folder, how long to wait
# for the host lock.
#
# Idempotent: on a configured host it succeeds and changes nothing. An object the kernel already
# has is left alone (a rule is looked for by its selector, so one without a priority is not added
# again with the next free priority); an endpoint that differs (left on a dead ifindex by a
# re-created NIC, added by mptcpd without our flags) is replaced. It holds the host lock, since
# NetworkManager's hook, the device unit and the boot unit may all run at once at boot; mptcpd
# takes no lock, so an endpoint it adds meanwhile counts as there (the kernel's EEXIST).

replay_main() {
  MPTCP_PULUMI_RUN=$1
  rm_parts=$2
  if ! take_lock "$3"; then
    echo "mptcp-pulumi: the host lock ($(ns_dir)/lock) is still held after $3 s; replaying anyway" >&2
  fi
  rm_status=0
  for rm_part in "$rm_parts"/*.part; do
    [ -f "$rm_part" ] || continue
    while read -r rm_kind rm_fields; do
      [ -n "$rm_kind" ] || continue
      # Fields are words without blanks (the provider checks them): split, never globbed.
      set -f
      # shellcheck disable=SC2086
      set -- $rm_fields
      set +f
      if ! rm_out=$(replay_record "$rm_kind" "$@" 2>&1); then
        printf 'mptcp-pulumi: %s: %s %s: %s\n' "$rm_part" "$rm_kind" "$rm_fields" "$rm_out" >&2
        rm_status=1
      fi
    done <"$rm_part"
  done
  return "$rm_status"
}

# Puts back one record: $1 its kind, then its key=value fields.
replay_record() {
  rr_kind=$1
  shift
  # The fields, by key (empty when absent).
  f_family='' f_table='' f_dst='' f_via='' f_dev='' f_scope='' f_src='' f_metric='' f_type='' f_from='' f_to=''
  f_iif='' f_oif='' f_fwmark='' f_priority='' f_cidr='' f_mtu='' f_state='' f_address='' f_port='' f_id=''
  f_flags='' f_subflows='' f_add_addr_accepted=''
  for rr_field in "$@"; do
    case ${rr_field%%=*} in
      family | table | dst | via | dev | scope | src | metric | type | from | to | iif | oif | fwmark | priority | cidr | mtu | state | address | port | id | flags | subflows | add_addr_accepted)
        eval "f_${rr_field%%=*}=\${rr_field#*=}"
        ;;
      *)
        echo "unknown field ${rr_field%%=*}"
        return 1
        ;;
    esac
  done
  case $rr_kind in
    limits) as_root ip mptcp limits set subflows "$f_subflows" add_addr_accepted "$f_add_addr_accepted" ;;
    link)
      if [ -n "${f_mtu:-}" ]; then as_root ip link set dev "$f_dev" mtu "$f_mtu"; else as_root ip link set dev "$f_dev" "$f_state"; fi
      ;;
    address) as_root ip address replace "$f_cidr" dev "$f_dev" ;;
    route) replay_route ;;
    rule) replay_rule ;;
    endpoint) replay_endpoint ;;
    *)
      echo "unknown record kind $rr_kind"
      return 1
      ;;
  esac
}

# A route: `ip route replace`, which leaves an identical route as it is.
replay_route() {
  set -- route replace ${f_type:+"$f_type"} "$f_dst"
  [ -n "${f_via:-}" ] && set -- "$@" via "$f_via"
  [ -n "${f_dev:-}" ] && set -- "$@" dev "$f_dev"
  [ -n "${f_scope:-}" ] && set -- "$@" scope "$f_scope"
  [ -n "${f_src:-}" ] && set -- "$@" src "$f_src"
  [ -n "${f_metric:-}" ] && set -- "$@" metric "$f_metric"
  as_root ip "-$f_family" "$@" table "$f_table"
}

# A rule, unless the kernel has one with exactly this selector (and the priority, where the
# record names one): `ip rule list` filters a source by prefix, so its lines are compared whole.
replay_rule() {
  set -- table "$f_table"
  [ -n "${f_priority:-}" ] && set -- priority "$f_priority" "$@"
  rr_want="from ${f_from:-all}${f_to:+ to $f_to}${f_fwmark:+ fwmark $f_fwmark}${f_iif:+ iif $f_iif}${f_oif:+ oif $f_oif} lookup $f_table"
  ip -N "-$f_family" rule list "$@" 2>/dev/null | sed 's/^[0-9]*:[[:space:]]*//' | grep -qxF "$rr_want" && return 0
  set --
  [ -n "${f_priority:-}" ] && set -- "$@" priority "$f_priority"
  set -- "$@" from "${f_from:-all}"
  [ -n "${f_to:-}" ] && set -- "$@" to "$f_to"
  [ -n "${f_fwmark:-}" ] && set -- "$@" fwmark "$f_fwmark"
  [ -n "${f_iif:-}" ] && set -- "$@" iif "$f_iif"
  [ -n "${f_oif:-}" ] && set -- "$@" oif "$f_oif"
  as_root ip "-$f_family" rule add "$@" table "$f_table"
}

# An endpoint, replacing one at the same address and port that differs in anything but its id
# (unless the record names the id).
replay_endpoint() {
  set -- "$f_address"
  [ -n "${f_port:-}" ] && set -- "$@" port "$f_port"
  [ -n "${f_id:-}" ] && set -- "$@" id "$f_id"
  [ -n "${f_dev:-}" ] && set -- "$@" dev "$f_dev"
  # shellcheck disable=SC2046 # flags are words
  set -- "$@" $(echo "${f_flags:-}" | tr ',' ' ')
  re_have=$(endpoints_at "$f_address" "${f_port:-}")
  if [ -n "$re_have" ]; then
    same_endpoint "$re_have" "$@" && return 0
    for re_id in $(endpoints_at "$f_address" "${f_port:-}" id); do as_root ip mptcp endpoint delete id "$re_id"; done
  fi
  re_out=$(as_root ip mptcp endpoint add "$@" 2>&1) && return 0
  # The kernel's EEXIST ("File exists"; "duplicate one: -17" on 6.x; older kernels say "already
  # assigned" for a taken address or id alike) means someone added it since we looked.
  case $re_out in *"File exists"* | *"duplicate one: -17"* | *"already assigned"*) return 0 ;; esac
  echo "$re_out"
  return 1
}

# Whether the kernel's endpoint line $1 has exactly the words of the record ($2...), its id
# aside unless the record names it.
same_endpoint() {
  se_line=$1
  shift
  se_have=$(echo "$se_line" | awk -v keep="$f_id" '{ for (i = 1; i <= NF; i++) if ($i == "id" && keep == "") i++; else print $i }' | sort | tr '\n' ' ')
  se_want=$(for w in "$@"; do echo "$w"; done | sort | tr '\n' ' ')
  [ "$se_have" = "$se_want" ]
}
