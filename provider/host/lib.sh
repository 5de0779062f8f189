# shellcheck shell=sh
# The library every program the provider runs on a host starts with (the provider's sessions,
# the rollback timer, the boot replay). POSIX sh. Every value comes from the caller: paths and
# the protocol's words as environment variables set before this text (provider/protocol.ts,
# provider/hostpaths.ts), the rest as arguments. Nothing here is ever edited per run.
#
# The provider's files on a host live under $MPTCP_PULUMI_RUN (/run/mptcp-pulumi), per network
# namespace (the scope of everything we manage):
#   ns-INODE/          root, 0755   no other user can create or replace anything in it
#     lock             root, 0644   the host lock (flock), opened read-only by every program
#     pending/         root, 0755   one file per armed change set: "PID START WORKDIR" of its timer
#     work-UID/        UID,  0755   the login's own files: rollback programs, logs, verification pids

# Runs a command as root: directly, or through `sudo -n` for a non-root login.
as_root() {
  if [ "${MPTCP_PULUMI_SUDO:-0}" = 1 ]; then sudo -n -- "$@"; else "$@"; fi
}

# Starts a section of the host's state on stdout (the provider splits its output there).
section() {
  echo "$MPTCP_PULUMI_MARK section $*"
}

# Prints one protocol line: the marker, then the words given.
mark() {
  echo "$MPTCP_PULUMI_MARK $*"
}

# The folder of this network namespace, under the run folder. Found once per program: ns_ready
# runs in the program's own shell, so the subshells of later `$(ns_dir)` inherit it (every
# command a program forks costs the host a process).
ns_dir() {
  [ -n "${ns_found:-}" ] || ns_found="$MPTCP_PULUMI_RUN/ns-$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo 0)"
  echo "$ns_found"
}

# Makes sure $1 is a directory owned by uid $2 that nobody else may write, with mode $3,
# creating it when missing. Refuses a symbolic link, or a root folder (uid 0) that someone else
# owns or may write. A login's own folder (uid not 0) lives inside root's folder, where only root
# could have made it: a wrong owner there (a chown that failed) is set right.
safe_dir() {
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then
    as_root mkdir -p "$1" || return 1
  fi
  if [ -L "$1" ] || [ ! -d "$1" ]; then
    echo "mptcp-pulumi: $1 is not a plain directory; refusing to use it" >&2
    return 1
  fi
  # Owner and mode in one stat, split by the shell.
  sd_stat=$(stat -c '%u %a' "$1")
  sd_owner=${sd_stat% *} sd_mode=${sd_stat#* }
  if [ "$sd_owner" != "$2" ] && [ "$2" != 0 ]; then
    as_root chown "$2" "$1" || return 1
    sd_owner=$2
  fi
  if [ "$sd_owner" != "$2" ] || [ $((0$sd_mode & 022)) -ne 0 ]; then
    echo "mptcp-pulumi: $1 belongs to uid $sd_owner with mode $sd_mode (wanted uid $2, writable by it alone); refusing to use it" >&2
    return 1
  fi
  [ "$sd_mode" = "${3#0}" ] || as_root chmod "$3" "$1"
}

# The run folder and this namespace's folder, both root's alone.
ns_ready() {
  ns_dir >/dev/null
  # Every change set starts here: when all three are already root's plain 0755 folders, one stat
  # says so (stat does not follow a link: a link shows as one and takes the checks below).
  nr_want='0 755 directory
0 755 directory
0 755 directory'
  [ "$(stat -c '%u %a %F' "$MPTCP_PULUMI_RUN" "$ns_found" "$ns_found/pending" 2>/dev/null)" = "$nr_want" ] && return 0
  safe_dir "$MPTCP_PULUMI_RUN" 0 0755 && safe_dir "$ns_found" 0 0755 && safe_dir "$ns_found/pending" 0 0755
}

# This login's own folder (rollback programs, logs, the verification's pid files), printed.
work_dir() {
  w="$(ns_dir)/work-$(id -u)"
  ns_ready && safe_dir "$w" "$(id -u)" 0755 && echo "$w"
}

# Opens the host lock on fd 9 and waits up to $1 seconds for it. Returns 1 when it stays busy,
# 2 when it cannot be opened. Read-only: flock needs no write access.
take_lock() {
  ns_ready || return 2
  lock="$(ns_dir)/lock"
  if [ ! -e "$lock" ] && [ ! -L "$lock" ]; then
    as_root tee "$lock" </dev/null >/dev/null && as_root chmod 0644 "$lock" || return 2
  fi
  if [ -L "$lock" ] || [ ! -f "$lock" ]; then
    echo "mptcp-pulumi: $lock is not a regular file; refusing to open it" >&2
    return 2
  fi
  exec 9<"$lock" || return 2
  # flock(1) is util-linux, on every distribution we support; without it we still run.
  command -v flock >/dev/null 2>&1 || return 0
  flock -w "$1" 9 || return 1
}

# Writes file $1 with mode $2 from stdin, whole or not at all: a failed write (a full disk)
# leaves the old file in place and fails.
write_file() {
  tmp="$1.mptcp-pulumi-tmp"
  # The folder by the shell, and made only when missing: each command costs the host a process.
  wf_dir=${1%/*}
  if { [ -d "${wf_dir:-/}" ] || as_root mkdir -p "$wf_dir"; } && write_text "$tmp" "$2" && as_root mv -f "$tmp" "$1"; then
    return 0
  fi
  as_root rm -f "$tmp"
  return 1
}

# Writes stdin (text, every line ending in a newline) to new file $1 with mode $2. Root's shell
# writes it itself, created with its mode through the umask where one gives it, instead of a tee
# and a chmod (two processes); a login that is not root, and a file already there, go through
# them, as the sudoers lines allow.
write_text() {
  case "${MPTCP_PULUMI_SUDO:-0}:$2" in
    0:0644) wt_mask=022 ;;
    0:0640) wt_mask=027 ;;
    0:0600) wt_mask=077 ;;
    *) wt_mask= ;;
  esac
  if [ -z "$wt_mask" ] || [ -e "$1" ] || [ -L "$1" ]; then
    as_root tee "$1" >/dev/null && as_root chmod "$2" "$1"
    return
  fi
  (
    umask "$wt_mask"
    while IFS= read -r wt_line; do printf '%s\n' "$wt_line" || exit 1; done >"$1"
  )
}

# Whether process $1 still runs and is the one that started at clock tick $2 (pids are reused).
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  # Field 22 of stat; the command name (field 2) may hold spaces, so count after its ')'.
  [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)" = "$2" ]
}

# The start tick of process $1.
started() {
  sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

# Under the host lock: settles change sets that were applied but never confirmed. Returns 0 when
# none is pending, 1 when one still waits for its live timer (its confirm or rollback will come),
# and 2 when a timer had died (OOM, a killed session): its rollback runs now, as it should have.
settle_pending() {
  dir="$(ns_dir)/pending"
  settled=0
  for p in "$dir"/*; do
    [ -f "$p" ] || continue
    # A confirm that stopped between its claim and its clean-up: confirmed, nothing to undo.
    case $p in *.confirmed)
      as_root rm -f "$p"
      continue
      ;;
    esac
    read -r pid start work <"$p" || continue
    if alive "$pid" "$start"; then return 1; fi
    token=${p##*/}
    token=${token%.firing}
    echo "mptcp-pulumi: change set $token was never confirmed and its rollback timer (pid $pid) is gone; rolling it back now" >&2
    { sh "$work/$token.rollback" now; } >>"$work/$token.log" 2>&1
    as_root rm -f "$p"
    settled=2
  done
  return "$settled"
}

# Checks, under the lock, that each part of the host's state named as PART=SUM is as the plan
# saw it (the provider read it before taking the lock). Prints the parts that changed.
expect_unchanged() {
  changed=
  for want in "$@"; do
    [ "$(part_text "${want%%=*}" | checksum)" = "${want#*=}" ] || changed="$changed ${want%%=*}"
  done
  [ -z "$changed" ] || { echo "$changed"; return 1; }
}

# A checksum of stdin (md5sum's first word, split by the shell rather than another process):
# the provider sums some parts from the probe's text itself, with the same function.
checksum() {
  # shellcheck disable=SC2046 # its words, split on purpose
  set -- $(md5sum)
  echo "$1"
}

# The text of one part of the state a plan depends on: MPTCP endpoints and limits, policy rules,
# routes in policy tables, addresses, our files, NetworkManager's connection settings. Only what
# a change depends on and nobody else churns (address lifetimes, route expiry and link states
# are left out), so an unchanged host always gives the same text. The mptcp and rules parts are,
# byte for byte, what the probe prints in its sections (the provider sums those itself).
part_text() {
  case $1 in
    mptcp)
      ip -j mptcp endpoint show 2>/dev/null || ip mptcp endpoint show 2>&1
      ip mptcp limits show 2>&1
      ;;
    rules) ip -N -4 -j rule show 2>/dev/null; ip -N -6 -j rule show 2>/dev/null ;;
    routes) { ip -N -4 route show table all; ip -N -6 route show table all; } 2>&1 |
      sed -n -E -e '/ table (253|254|255)( |$)/d' -e '/ table [0-9]+( |$)/!d' -e 's/ expires [0-9]*sec//' -e p ;;
    addrs) ip -br addr show 2>&1 | awk '{ $2 = ""; print }' ;;
    files) our_files ;;
    nm) nm_devices | nm_settings ;;
    *) echo "unknown part $1" ;;
  esac
}

# Our files on the host ($MPTCP_PULUMI_FILES: paths and globs; $MPTCP_PULUMI_LINKS: symlinks),
# each as a section `file PATH` holding its text (a link's target).
our_files() {
  # shellcheck disable=SC2086 # split into words and expanded as globs, on purpose
  file_sections file $MPTCP_PULUMI_FILES
  # shellcheck disable=SC2086
  for l in $MPTCP_PULUMI_LINKS; do
    [ -L "$l" ] && { section file "$l"; readlink "$l"; }
  done
}

# Prints each existing file of $2... as a section `$1 PATH` holding its text, ending in a newline.
# One process for them all, since every command costs the host one: the empty ones by the shell,
# the rest by one awk. Those this login cannot read (our netplan files are root's 0600 like every
# netplan file) go one by one through `sudo cat FILE`: the README's sudoers lines allow that, and
# only that, for our files.
file_sections() {
  fs_kind=$1
  shift
  for f do
    shift
    if [ ! -f "$f" ]; then continue; fi
    if [ ! -s "$f" ]; then section "$fs_kind" "$f"; continue; fi
    if [ -r "$f" ]; then set -- "$@" "$f"; continue; fi
    # The trailing dot keeps the file's own last newlines from $(...); a missing one is added, as awk does.
    fs_text=$(as_root cat "$f" && echo .) || continue
    fs_text=${fs_text%.}
    section "$fs_kind" "$f"
    case $fs_text in *"
") printf '%s' "$fs_text" ;; *) printf '%s\n' "$fs_text" ;; esac
  done
  [ $# -gt 0 ] || return 0
  awk -v head="$MPTCP_PULUMI_MARK section $fs_kind" 'FNR == 1 { print head " " FILENAME } { print }' "$@"
}
