/**
 * Commit-confirmed for hosts reached only over SSH. Before a change set runs, the host arms a
 * timer holding the inverse of every change; the provider disarms it once it can reach the host
 * again afterwards. If a change cut the provider off, the host puts itself back on its own.
 */
import type { Change } from "./changes";
import { LOCK_FILE_SHELL, ROLLBACK_DIR_SHELL } from "./hostpaths";
import type { ActualRoute, HostState } from "./state/types";
import { shellCommand } from "./transport/quote";


const ip = (args: string[], summary: string): Change => ({ kind: "ip", args, summary });

function routeAddArgs(route: ActualRoute): string[] {
  const args = ["route", "replace", route.dst];
  if (route.via !== undefined) args.push("via", route.via);
  if (route.dev !== undefined) args.push("dev", route.dev);
  if (route.scope !== undefined) args.push("scope", route.scope);
  if (route.src !== undefined) args.push("src", route.src);
  if (route.metric !== undefined) args.push("metric", String(route.metric));
  args.push("table", route.table);
  return args;
}

function argAfter(args: readonly string[], word: string): string | undefined {
  const i = args.indexOf(word);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The changes that undo one change, given the host's state before it. */
export function undoOf(change: Change, before: HostState): Change[] {
  switch (change.kind) {
    case "sysctl": {
      const old = before.sysctls[change.key];
      return old === undefined ? [] : [{ kind: "sysctl", key: change.key, value: old, summary: `restore ${change.key}` }];
    }
    case "writeFile": {
      const old = before.files[change.path];
      return old === undefined
        ? [{ kind: "removeFile", path: change.path, summary: `remove ${change.path}` }]
        : [{ kind: "writeFile", path: change.path, content: old, summary: `restore ${change.path}` }];
    }
    case "removeFile": {
      const old = before.files[change.path];
      return old === undefined ? [] : [{ kind: "writeFile", path: change.path, content: old, summary: `restore ${change.path}` }];
    }
    case "shell":
      return [];
    case "ip":
      return undoIp(change.args, before);
  }
}

function undoIp(args: readonly string[], before: HostState): Change[] {
  const [object, verb] = args;
  const rest = args.slice(2);
  if (object === "address" && (verb === "add" || verb === "del")) {
    return [ip(["address", verb === "add" ? "del" : "add", ...rest], `undo address ${verb} ${rest[0]}`)];
  }
  if (object === "rule" && (verb === "add" || verb === "del")) {
    return [ip(["rule", verb === "add" ? "del" : "add", ...rest], `undo rule ${verb}`)];
  }
  if (object === "link" && verb === "set") {
    const dev = argAfter(args, "dev");
    const link = before.links.find((l) => l.name === dev);
    if (!dev || !link) return [];
    if (args.includes("mtu")) return [ip(["link", "set", "dev", dev, "mtu", String(link.mtu)], `restore mtu of ${dev}`)];
    return [ip(["link", "set", "dev", dev, link.up ? "up" : "down"], `restore ${dev} ${link.up ? "up" : "down"}`)];
  }
  if (object === "route") {
    const table = argAfter(args, "table") ?? "main";
    if (verb === "flush") {
      return before.routes.filter((r) => r.table === table).map((r) => ip(routeAddArgs(r), `restore route ${r.dst} table ${table}`));
    }
    const dst = args[2]!;
    const metric = Number(argAfter(args, "metric") ?? 0);
    const old = before.routes.filter((r) => r.table === table && r.dst === dst && (r.metric ?? 0) === metric);
    if (verb === "del") return old.map((r) => ip(routeAddArgs(r), `restore route ${dst} table ${table}`));
    if (verb === "replace") {
      if (old.length) return old.map((r) => ip(routeAddArgs(r), `restore route ${dst} table ${table}`));
      const del = ["route", "del", dst];
      if (metric) del.push("metric", String(metric));
      del.push("table", table);
      return [ip(del, `remove route ${dst} table ${table}`)];
    }
  }
  if (object === "mptcp" && verb === "limits" && before.limits) {
    return [ip(["mptcp", "limits", "set", "subflows", String(before.limits.subflows), "add_addr_accepted", String(before.limits.addAddrAccepted)], "restore limits")];
  }
  if (object === "mptcp" && verb === "endpoint") {
    const action = args[2];
    if (action === "add") {
      const address = args[3]!;
      const port = argAfter(args, "port") ?? "";
      // The kernel may have chosen the id: find it by address (and port) when undoing.
      return [
        {
          kind: "shell",
          args: [
            "sh",
            "-c",
            `ip mptcp endpoint show | awk -v a="$1" -v p="$2" '{ port = ""; id = ""; for (i = 2; i < NF; i++) { if ($i == "port") port = $(i + 1); if ($i == "id") id = $(i + 1) } if ($1 == a && port == p && id != "") print id }' | while read -r id; do ip mptcp endpoint delete id "$id"; done`,
            "undo-endpoint",
            address,
            port,
          ],
          summary: `remove endpoint ${address}`,
        },
      ];
    }
    const id = Number(argAfter(args, "id"));
    const old = before.endpoints.find((e) => e.id === id);
    if (!old) return [];
    if (action === "delete") {
      const add = ["mptcp", "endpoint", "add", old.address];
      if (old.port !== undefined) add.push("port", String(old.port));
      add.push("id", String(old.id));
      if (old.dev !== undefined) add.push("dev", old.dev);
      add.push(...old.flags.filter((f) => f !== "implicit"));
      return [ip(add, `restore endpoint ${old.address}`)];
    }
    if (action === "change") {
      const flip = args.slice(5).map((word) => (word.startsWith("no") ? word.slice(2) : `no${word}`));
      return [ip(["mptcp", "endpoint", "change", "id", String(id), ...flip], `restore flags of endpoint ${old.address}`)];
    }
  }
  return [];
}

/** The undo of a whole change set: each change's inverse, last change first. */
export function rollbackChanges(changes: readonly Change[], before: HostState): Change[] {
  return [...changes].reverse().flatMap((change) => undoOf(change, before));
}

/** One undo change as a best-effort shell line (a failed line must not stop the rest). */
function undoLine(change: Change): string {
  switch (change.kind) {
    case "ip":
      return `${shellCommand(["ip", ...change.args])} || true`;
    case "sysctl":
      return `${shellCommand(["sysctl", "-q", "-w", `${change.key}=${change.value}`])} || true`;
    case "removeFile":
      return `${shellCommand(["rm", "-f", change.path])} || true`;
    case "writeFile":
      return `printf '%s' ${shellCommand([change.content])} > ${shellCommand([change.path])} || true`;
    case "shell":
      return `${shellCommand(change.args)} || true`;
  }
}

/** Tokens name timer files; they are generated, but check anyway before they reach a shell. */
function checkToken(token: string): string {
  if (!/^[a-z0-9-]+$/.test(token)) throw new Error(`invalid rollback token ${JSON.stringify(token)}`);
  return token;
}

/** Script text that arms the timer: writes the rollback, starts a detached sleeper. */
export function armScript(token: string, seconds: number, undo: readonly Change[]): string {
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
