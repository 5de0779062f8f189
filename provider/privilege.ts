/**
 * How privileged commands run on a host: directly when we log in as root, else through
 * `sudo -n` (passwordless, never prompting) for a non-root login. Every script defines the
 * shell function below once and prefixes exactly the commands that need root with it, so the
 * sudoers rules a site grants are the short list in the README and nothing else.
 */

/** The word that prefixes a privileged command in our scripts. */
export const AS_ROOT = "as_root";

/** Environment variable, exported by every script, that turns sudo on for it and its children. */
const SUDO_VARIABLE = "MPTCP_PULUMI_SUDO";

/**
 * Shell text defining `as_root`. Child shells (the boot-unit script, the rollback timer) inherit
 * the variable, not the function, so each defines the function again from this text.
 */
export const AS_ROOT_FUNCTION = `${AS_ROOT}() { if [ "\${${SUDO_VARIABLE}:-0}" = 1 ]; then sudo -n -- "$@"; else "$@"; fi; }`;

/** Script lines that choose the mode for this script and everything it starts, then define `as_root`. */
export function privilegePrelude(sudo: boolean): string[] {
  return [`export ${SUDO_VARIABLE}=${sudo ? 1 : 0}`, AS_ROOT_FUNCTION];
}

/** The argv that runs `argv` as root. */
export function asRoot(argv: readonly string[]): string[] {
  return [AS_ROOT, ...argv];
}
