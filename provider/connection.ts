/**
 * How every resource reaches its host: the SSH connection inputs, their schema, and the
 * translation to an SshTarget. The private key is a separate top-level input so Pulumi keeps it
 * a secret on its own (outputs inherit secrecy by property name).
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { hostSpelling } from "./errors";
import type { SshTarget } from "./transport/ssh";

const hostName = z
  .string()
  .min(1, "host is empty")
  .max(253, "host names are at most 253 characters")
  .regex(/^[A-Za-z0-9_.:%-]+$/, "host must be a host name or an IP address (letters, digits, '.', ':', '-', '_')")
  .refine((h) => !h.startsWith("-"), "host cannot start with '-' (it would be read as an ssh option)");

const filePath = z
  .string()
  .min(1, "path is empty")
  .refine((p) => !/[\r\n\0]/.test(p), "paths cannot contain newlines or NUL");

/**
 * The Pulumi project directory (where Pulumi.yaml is), found from the working directory: the
 * engine starts the program in the project but the dynamic provider in the program's folder.
 * Relative key and known_hosts paths are relative to it.
 */
export function projectRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/** Why a local file cannot be used, or undefined when it can (checked where pulumi runs: no host is touched). */
export function unreadableFile(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${path} is not a file`;
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${path} does not exist` : code === "EACCES" ? `${path} is not readable` : `${path}: ${String(error)}`;
  }
}

/** The SSH connection to one host. */
export const connectionSchema = z.strictObject({
  host: hostName,
  port: z.number().int("port is an integer").min(1, "port is 1..65535").max(65535, "port is 1..65535").default(22),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "user must be a POSIX user name (lowercase letters, digits, '_', '-', '.')")
    .default("root"),
  privateKeyPath: filePath.optional(),
  knownHostsPath: filePath.optional(),
  hostKey: z
    .string()
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+$/, "hostKey must be one public key line: '<type> <base64>' (as in known_hosts, without the host name)")
    .optional(),
  proxyJump: z
    .string()
    .regex(/^[A-Za-z0-9_.@:,\[\]-]+$/, "proxyJump is [user@]host[:port][,...] without spaces")
    .refine((j) => !j.startsWith("-"), "proxyJump cannot start with '-'")
    .optional(),
  sshConfigPath: filePath.optional(),
  hostKeyPolicy: z.enum(["strict", "accept-new"]).default("strict"),
  /**
   * Run privileged commands through `sudo -n` (passwordless sudo for the commands listed in the
   * README). Unset: on for any user but root.
   */
  sudo: z.boolean().optional(),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
  /**
   * Commit-confirmed: the host undoes a change set by itself unless the provider reaches it again
   * within this many seconds after applying. 0 turns it off.
   */
  confirmTimeoutSeconds: z.number().int().min(0).max(3600).default(120),
});

/**
 * Problems with the connection's local files, checked at preview where pulumi runs (no host is
 * touched). Kept out of the schema: state read back on another machine must still parse, so
 * that refresh and destroy work there.
 */
export function connectionFileProblems(c: Connection, base: string): Array<{ property: string; reason: string }> {
  const problems: Array<{ property: string; reason: string }> = [];
  if (c.privateKeyPath !== undefined) {
    const problem = unreadableFile(resolve(base, c.privateKeyPath));
    if (problem) problems.push({ property: "privateKeyPath", reason: `the private key ${problem}` });
  }
  // With accept-new, ssh creates the file on first contact; strict checking needs it now.
  if (c.knownHostsPath !== undefined && c.hostKeyPolicy === "strict") {
    const problem = unreadableFile(resolve(base, c.knownHostsPath));
    if (problem) problems.push({ property: "knownHostsPath", reason: `known_hosts ${problem} (strict host-key checking needs it; or pin hostKey, or set hostKeyPolicy: accept-new)` });
  }
  return problems;
}

/** A validated connection. */
export type Connection = z.infer<typeof connectionSchema>;
/** Connection as users write it (defaults optional). */
export type ConnectionInput = z.input<typeof connectionSchema>;

/** The private key input: PEM/OpenSSH text, passed as a Pulumi secret. */
export const privateKeySchema = z
  .string()
  .refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k), "privateKey must be a PEM or OpenSSH private key (the key file's text, not its path)")
  .optional();

/** Inputs every resource carries: where its host is. */
export const hostedSchema = {
  connection: connectionSchema,
  privateKey: privateKeySchema,
};

/** Builds the transport target from validated inputs; relative paths are resolved against `root`. */
export function toSshTarget(connection: Connection, privateKey: string | undefined, root: string): SshTarget {
  const target: SshTarget = {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    hostKeyPolicy: connection.hostKeyPolicy,
    connectTimeoutSeconds: connection.connectTimeoutSeconds,
  };
  if (privateKey) target.privateKey = privateKey;
  // Relative paths stay relative in the state (portable between checkouts) and are resolved
  // here, against the project directory.
  if (connection.privateKeyPath) target.privateKeyPath = resolve(root, connection.privateKeyPath);
  if (connection.knownHostsPath) target.knownHostsPath = resolve(root, connection.knownHostsPath);
  if (connection.sshConfigPath) target.sshConfigPath = resolve(root, connection.sshConfigPath);
  if (connection.hostKey) target.hostKey = connection.hostKey;
  if (connection.proxyJump) target.proxyJump = connection.proxyJump;
  return target;
}

/**
 * What identifies the machine a connection lands on. Everything else in a connection (user, keys,
 * host keys, ssh config, timeouts, sudo) says how we log in: it may change (a rotated key, a new
 * deploy user) without changing anything we manage, so diff never compares it as desired state.
 */
export function machineOf(c: Pick<Connection, "host" | "port" | "proxyJump">): string {
  return `${c.host}:${c.port}${c.proxyJump ? ` via ${c.proxyJump}` : ""}`;
}

/** Whether privileged commands on this connection go through sudo. */
export function usesSudo(c: Pick<Connection, "user" | "sudo">): boolean {
  return c.sudo ?? c.user !== "root";
}

/** A stable key for "the same host", used to share one session and in every message about it. */
export function hostKeyOf(connection: Connection): string {
  return hostSpelling(connection);
}
