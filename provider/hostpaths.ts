/**
 * Where the provider keeps run-time files on a host, as shell words to be expanded there. Both
 * are per network namespace, the scope of everything we manage (lab servers share one /run).
 */

/** The host lock (flock): in /run/lock, outside every folder the provider may delete. */
export const LOCK_FILE_SHELL = `/run/lock/mptcp-pulumi-$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo 0).lock`;

/** The folder of armed commit-confirmed timers (tmpfs: a real reboot disarms them, as it should). */
export const ROLLBACK_DIR_SHELL = `/run/mptcp-pulumi/$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo 0)`;
