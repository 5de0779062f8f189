# shellcheck shell=sh
# A change set's life on the host: the lock and the preconditions it was planned on, its steps'
# progress, the commit-confirmed timer and its confirm. Needs lib.sh. The protocol's words and
# exit codes come from the environment the provider sets (provider/protocol.ts).

# Starts a change set: takes the host lock (waiting up to $1 seconds), settles change sets that
# were never confirmed, and checks that each part of the state named as PART=SUM ($2...) is as
# the plan saw it. Returns the protocol's exit code for what stops it.
begin_change() {
  bc_wait=$1
  shift
  take_lock "$bc_wait"
  case $? in
    0) ;;
    1)
      echo "another mptcp-pulumi operation holds $lock on this host" >&2
      return "$MPTCP_PULUMI_EXIT_LOCK_BUSY"
      ;;
    *) return "$MPTCP_PULUMI_EXIT_LOCK_UNUSABLE" ;;
  esac
  settle_pending
  case $? in
    0) ;;
    1)
      echo "a change set applied earlier is awaiting its confirm or its rollback (in $(ns_dir)/pending); retry once it settles" >&2
      return "$MPTCP_PULUMI_EXIT_AWAITING_ROLLBACK"
      ;;
    *)
      mark changed pending
      return "$MPTCP_PULUMI_EXIT_HOST_CHANGED"
      ;;
  esac
  if ! bc_changed=$(expect_unchanged "$@"); then
    # shellcheck disable=SC2086 # one word per part
    mark changed $bc_changed
    return "$MPTCP_PULUMI_EXIT_HOST_CHANGED"
  fi
}

# Records the end of steps $1..$2 of the change set: applied, or failed with status $3 (then the
# script stops: what follows is not attempted).
step_done() {
  if [ "$3" -ne 0 ]; then
    mark failed "$1" "$2" "$3"
    exit "$MPTCP_PULUMI_EXIT_STEP_FAILED"
  fi
  mark applied "$1" "$2"
}

# Arms the commit-confirmed timer of change set $1: the rollback program on stdin runs after $2
# seconds unless the change set is confirmed first. The program lives in this login's folder, its
# pending mark (the timer's pid and start) in the namespace's root-owned folder.
arm() {
  a_work=$(work_dir) || return 1
  a_program="$a_work/$1.rollback"
  cat >"$a_program" || return 1
  # Detached from this session, so a cut SSH connection cannot take the timer with it; without
  # the lock's descriptor, or the host would stay locked until it fires.
  setsid sh "$a_program" timer "$2" 9<&- </dev/null >/dev/null 2>&1 &
  a_pid=$!
  if printf '%s %s %s\n' "$a_pid" "$(started "$a_pid")" "$a_work" | as_root tee "$(ns_dir)/pending/$1" >/dev/null; then
    mark armed
    return 0
  fi
  kill "$a_pid" 2>/dev/null
  rm -f "$a_program"
  return 1
}

# Disarms the timer of change set $1 once the provider reached the host again. Claiming the
# pending mark (a rename) decides it: either this confirm or the timer wins, never both.
confirm() {
  c_pending="$(ns_dir)/pending/$1"
  if [ -f "$c_pending" ] && read -r c_pid c_start _ <"$c_pending" && as_root mv -f "$c_pending" "$c_pending.confirmed" 2>/dev/null; then
    # Only our timer: a pid another process reuses is left alone.
    if alive "$c_pid" "$c_start"; then kill "$c_pid" 2>/dev/null; fi
    as_root rm -f "$c_pending.confirmed"
    rm -f "$(work_dir)/$1.rollback"
    mark confirmed
  else
    mark expired
  fi
}

# The rollback program's main (the program is this library, its `undo` function and this call):
# `timer SECONDS` waits, takes the lock and claims the pending mark before undoing; `now` undoes
# at once (settle_pending runs it, already holding the lock).
rollback_main() {
  r_program=$1
  r_token=${r_program##*/}
  r_token=${r_token%.rollback}
  r_pending="$(ns_dir)/pending/$r_token"
  if [ "$2" = timer ]; then
    sleep "$3"
    take_lock "$MPTCP_PULUMI_LOCK_WAIT"
    if ! as_root mv -f "$r_pending" "$r_pending.firing" 2>/dev/null; then
      # Confirmed meanwhile.
      rm -f "$r_program"
      return 0
    fi
  fi
  { undo; echo "rolled back at $(date)"; } >>"${r_program%.rollback}.log" 2>&1
  as_root rm -f "$r_pending" "$r_pending.firing"
  rm -f "$r_program"
}
