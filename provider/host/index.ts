/**
 * The shell programs that run on a host, as real files beside this module (*.sh: POSIX sh,
 * shellchecked in the tests), read once at run time, and the environment every program gets:
 * the protocol's words and exit codes and the host paths, set before the library's text. Values
 * reach the programs as that environment or as arguments, never spliced into their text.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shellQuote } from "../transport/quote";

/** The library's functions operations call (provider/host/ops.sh, the keepers' host.sh files). */
export type HostFunction = "endpoint_delete_at" | "nm_apply" | "manager_config" | "boot_unit";

/** The files of the library, by name, relative to provider/ (the build copies them beside dist/provider's modules, the package ships them). */
export const HOST_FILES = {
  lib: "host/lib.sh",
  session: "host/session.sh",
  ops: "host/ops.sh",
  probe: "host/probe.sh",
  replay: "host/replay.sh",
  verify: "host/verify.sh",
  networkd: "keepers/networkd/host.sh",
  netplan: "keepers/netplan/host.sh",
  networkmanager: "keepers/networkmanager/host.sh",
  ifupdown: "keepers/ifupdown/host.sh",
} as const;

/** One file of the library. */
export type HostFile = keyof typeof HOST_FILES;

/** The network managers' host files: every program that reads or changes what they keep includes them. */
export const MANAGER_FILES: readonly HostFile[] = ["networkd", "netplan", "networkmanager", "ifupdown"];

const cache = new Map<HostFile, string>();

/** The text of one host file. */
export function hostFile(name: HostFile): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(__dirname, "..", HOST_FILES[name]), "utf8");
    cache.set(name, text);
  }
  return text;
}

/** Environment a program starts with: `export NAME='value'` lines, each value quoted once. */
export function environment(values: Readonly<Record<string, string | number>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!/^MPTCP_PULUMI_[A-Z0-9_]+$/.test(name)) throw new Error(`not one of our variables: ${name}`);
      return `export ${name}=${shellQuote(String(value))}`;
    })
    .join("\n");
}

/** A whole program: the shebang, the environment, the given library files, then its main lines. */
export function program(env: Readonly<Record<string, string | number>>, files: readonly HostFile[], main: readonly string[]): string {
  // A library: each program calls only some of its functions, which shellcheck would call unreachable.
  return ["#!/bin/sh", "# shellcheck disable=SC2317", environment(env), ...files.map(hostFile), ...main, ""].join("\n");
}
