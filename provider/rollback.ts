/**
 * Commit-confirmed for hosts reached only over SSH. Before a change set runs, the host arms a
 * timer holding the inverse of every change; the provider disarms it once it can reach the host
 * again afterwards. If a change cut the provider off, the host puts itself back on its own.
 */
import { ipCommand, shellText } from "./changes";
import { LOCK_FILE_SHELL, ROLLBACK_DIR_SHELL } from "./hostpaths";
import { render, type Operation } from "./operations";
import { shellCommand } from "./transport/quote";

/** One undo operation as a best-effort shell line (a failed line must not stop the rest). */
function undoLine(op: Operation): string {
  const r = render(op);
  if (r.kind === "ip") return `${shellCommand(ipCommand(r))} || true`;
  // A file is restored with printf: a here-document inside the rollback script would need a
  // marker of its own; one quoted word does not.
  if (r.kind === "writeFile") return `printf '%s' ${shellCommand([r.content])} > ${shellCommand([r.path])} || true`;
  return `{ ${shellText(r)}; } || true`;
}

/** Tokens name timer files; they are generated, but check anyway before they reach a shell. */
function checkToken(token: string): string {
  if (!/^[a-z0-9-]+$/.test(token)) throw new Error(`invalid rollback token ${JSON.stringify(token)}`);
  return token;
}

/** Script text that arms the timer: writes the rollback, starts a detached sleeper. */
export function armScript(token: string, seconds: number, undo: readonly Operation[]): string {
  const base = `"$rb/${checkToken(token)}`;
  const rollback = ["#!/bin/sh", "# mptcp-pulumi rollback: runs when the provider could not confirm the change set", ...undo.map(undoLine), ""].join("\n");
  return [
    `rb="${ROLLBACK_DIR_SHELL}"`,
    `mkdir -p "$rb" && chmod 700 "$rb"`,
    `printf '%s' ${shellCommand([rollback])} > ${base}.rollback"`,
    `: > ${base}.pending"`,
    // Detached from this session, so a cut SSH connection cannot take the timer with it.
    // It must not inherit the lock (fd 9), or the host would stay locked until it fires.
    `setsid sh -c ${shellCommand([
      // Claim the token by renaming it: a confirm that comes later finds it gone, and one that
      // came first removed it, so exactly one of the two wins.
      `sleep ${seconds}; exec 9>${LOCK_FILE_SHELL}; flock -w 120 9; b="$1"; if mv "$b.pending" "$b.firing" 2>/dev/null; then { sh "$b.rollback"; echo "rolled back at $(date)"; } > "$b.log" 2>&1; fi; rm -f "$b.firing" "$b.rollback" "$b.pid"`,
    ])} sh ${base}" 9>&- </dev/null >/dev/null 2>&1 &`,
    `echo $! > ${base}.pid"`,
  ].join("\n");
}

/** Printed by the confirm script: the timer was still armed, and now is not. */
export const CONFIRMED = "confirmed";
/** Printed by the confirm script: too late, the timer had fired and the host rolled back. */
export const EXPIRED = "expired";

/** Script text that disarms the timer once the provider reached the host again. */
export function confirmScript(token: string): string {
  const b = `"$rb/${checkToken(token)}`;
  // rm succeeding is the claim; the timer's mv cannot then fire the rollback.
  return [
    `rb="${ROLLBACK_DIR_SHELL}"`,
    `if rm ${b}.pending" 2>/dev/null; then [ -f ${b}.pid" ] && kill "$(cat ${b}.pid")" 2>/dev/null; rm -f ${b}.rollback" ${b}.pid"; echo ${CONFIRMED}; else echo ${EXPIRED}; fi`,
    "exit 0",
    "",
  ].join("\n");
}
