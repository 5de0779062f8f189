/**
 * How a script on a host takes the host lock. Everything that writes MPTCP state there takes it
 * (the provider's sessions, the boot replay, NetworkManager's hook), so none of them reads the
 * endpoints and then adds one that another just added.
 */
import { LOCK_FILE_SHELL } from "./hostpaths";

/**
 * Shell lines that open the host lock on fd 9 and wait up to `seconds` for it, running `onBusy`
 * if it stays held. Read-only: flock needs no write access, and a lock file another login created
 * stays usable (fs.protected_regular refuses O_CREAT on it in sticky /run/lock).
 */
export function takeHostLock(seconds: number, onBusy: string): string[] {
  return [
    "mkdir -p /run/lock || exit 1",
    `lock="${LOCK_FILE_SHELL}"`,
    `[ -e "$lock" ] || : > "$lock"; exec 9<"$lock"`,
    // flock(1) is util-linux, present on every distribution we support; without it we still run.
    `if command -v flock >/dev/null 2>&1; then flock -w ${seconds} 9 || ${onBusy}; fi`,
  ];
}
