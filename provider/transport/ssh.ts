/**
 * SSH transport: the system OpenSSH client, one multiplexed connection per host.
 *
 * We run `ssh` rather than an SSH library so users' ssh_config, agents, known_hosts and jump
 * hosts keep working. ControlMaster lets every command of an operation share one TCP/SSH
 * connection per host; scripts travel on stdin to `sh -s`, so the remote command line itself
 * is a constant and no input is ever spliced into it.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostError, hostSpelling } from "../errors";
import { currentCall, noTracer, nowMs, type Tracer } from "../trace";
import { parseJumps, proxyCommand } from "./jump";

/** Where and how to reach a host; all fields are validated by the connection schema first. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  /** Key material held in memory only; written to a private temporary file for `ssh -i`. */
  privateKey?: string;
  knownHostsPath?: string;
  /** A pinned host key ("ssh-ed25519 AAAA..."), checked instead of known_hosts. */
  hostKey?: string;
  proxyJump?: string;
  sshConfigPath?: string;
  /** "strict" refuses unknown keys; "accept-new" trusts a host's key on first use (TOFU). */
  hostKeyPolicy: "strict" | "accept-new";
  connectTimeoutSeconds: number;
}

/** Output of a remote command that exited 0. */
export interface RemoteResult {
  stdout: string;
  stderr: string;
}

/** Explains the usual reasons `ssh` itself (exit 255) failed, so users know what to fix. */
export function sshFailureHint(stderr: string, target: SshTarget): string | undefined {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    return target.hostKeyPolicy === "strict"
      ? "the host key is unknown or changed: add it to known_hosts or pin it with hostKey, or set hostKeyPolicy: accept-new to trust it on first use"
      : "the host key changed since it was first trusted: verify the host and fix known_hosts";
  }
  if (/Permission denied/i.test(stderr)) return "authentication failed: check user, privateKey/privateKeyPath or the SSH agent";
  if (/Connection refused/i.test(stderr)) return "nothing listens on the SSH port: is sshd running?";
  if (/timed out|No route to host|Network is unreachable|Could not resolve/i.test(stderr)) {
    return "the host is unreachable from here";
  }
  if (/Load key|invalid format|bad permissions|No such file/i.test(stderr)) return "the private key could not be read";
  return undefined;
}

let privateDir: string | undefined;
/** A private directory (0700, ours) for control sockets, key files and per-operation notes, short enough for socket paths. */
export function runtimeDir(): string {
  if (privateDir) return privateDir;
  const dir = join(process.env["XDG_RUNTIME_DIR"] ?? tmpdir(), `mptcp-pulumi-${process.getuid?.() ?? "u"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // In a shared /tmp someone else could have made this folder first: use it only if it is ours
  // and closed to others, else a fresh one (control sockets and keys must not be reachable).
  const st = lstatSync(dir);
  const ours = st.isDirectory() && !st.isSymbolicLink() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
  privateDir = ours ? dir : mkdtempSync(join(tmpdir(), "mptcp-pulumi-"));
  return privateDir;
}

/** Runs scripts on one host over a shared OpenSSH connection. */
export class SshTransport {
  private connected: Promise<void> | undefined;
  private scratchDir: string | undefined;
  private keyFile: string | undefined;
  private masterGone: Promise<void> = Promise.resolve();

  constructor(
    readonly target: SshTarget,
    // Long enough that a master stays up through an operation's quiet stretches.
    private readonly controlPersistSeconds = 300,
    private readonly tracer: Tracer = noTracer,
  ) {}

  /** "user@host:port", used in every message about this host. */
  describe(): string {
    return hostSpelling(this.target);
  }

  /** The ssh options for this target; the destination and remote command are added by callers. */
  sshOptions(): string[] {
    const t = this.target;
    const args: string[] = [];
    if (t.sshConfigPath) args.push("-F", t.sshConfigPath);
    args.push(
      "-p", String(t.port),
      "-l", t.user,
      ...this.policyOptions(),
      "-o", `StrictHostKeyChecking=${t.hostKeyPolicy === "strict" ? "yes" : "accept-new"}`,
      "-o", "ControlMaster=auto",
      "-o", `ControlPath=${this.controlPath()}`,
      "-o", `ControlPersist=${this.controlPersistSeconds}`,
    );
    const knownHosts = this.knownHostsFile();
    if (knownHosts) args.push("-o", `UserKnownHostsFile=${knownHosts}`);
    args.push(...this.keyOptions());
    if (t.proxyJump) args.push("-o", `ProxyCommand=${proxyCommand(parseJumps(t.proxyJump), this.jumpOptions())}`);
    return args;
  }

  /** What every ssh of ours says, the target's and each jump hop's: never prompt, time out, notice a dead peer. */
  private policyOptions(): string[] {
    return ["-o", "BatchMode=yes", "-o", `ConnectTimeout=${this.target.connectTimeoutSeconds}`, "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"];
  }

  private keyOptions(): string[] {
    const key = this.identityFile();
    return key ? ["-i", key, "-o", "IdentitiesOnly=yes"] : [];
  }

  /**
   * A jump hop's options: the target's config file, policy, key and host-key policy, checked
   * against the user's known_hosts file (a pinned hostKey names the target alone).
   */
  private jumpOptions(): string[] {
    const t = this.target;
    return [
      ...(t.sshConfigPath ? ["-F", t.sshConfigPath] : []),
      // With ControlPersist, ssh sends a ProxyCommand's stderr to /dev/null: a hop's refusal
      // ("Host key verification failed.") would reach nobody, so the hops write it to a file.
      "-E", this.hopLogPath(),
      ...this.policyOptions(),
      "-o", `StrictHostKeyChecking=${t.hostKeyPolicy === "strict" ? "yes" : "accept-new"}`,
      ...(t.knownHostsPath ? ["-o", `UserKnownHostsFile=${t.knownHostsPath}`] : []),
      ...this.keyOptions(),
    ];
  }

  /** Runs a POSIX sh script on the host (sent on stdin); resolves on exit 0, else throws. */
  async run(script: string, what: string, timeoutMs = 300_000): Promise<RemoteResult> {
    if (this.connected === undefined && !this.target.privateKey) return this.openWith(script, what, timeoutMs);
    await this.connect();
    try {
      return await this.exec(script, what, timeoutMs);
    } catch (error) {
      // The master expired between commands and ssh had to authenticate anew, without the
      // key file (it exists only while connecting): nothing ran, so connect again and retry.
      if (error instanceof HostError && error.exitCode === 255 && this.target.privateKey && /Permission denied|not accessible/.test(error.stderr)) {
        await this.connect();
        return this.exec(script, what, timeoutMs);
      }
      throw error;
    }
  }

  /**
   * Opens (once) the shared master connection, so concurrent callers do not each dial. A key
   * given as a secret exists on disk only while the master authenticates: later commands ride
   * the master and never read it.
   */
  connect(): Promise<void> {
    this.connected ??= this.masterGone
      .then(() => {
        this.writeKeyFile();
        return this.exec("exit 0", "connect");
      })
      .then(
      () => {
        this.removeKeyMaterial();
      },
      (error: unknown) => {
        this.connected = undefined;
        this.removeKeyMaterial();
        throw error;
      },
    );
    return this.connected;
  }

  /**
   * The host's first command opens the shared master itself: one round trip fewer than a
   * separate `exit 0`. Commands that come meanwhile wait for it, as they would for `connect`.
   * Not with a secret key, which must leave the disk as soon as the master has authenticated.
   */
  private openWith(script: string, what: string, timeoutMs: number): Promise<RemoteResult> {
    const opening = this.masterGone.then(() => this.exec(script, what, timeoutMs));
    // Connected once ssh itself got through: any exit of the script but ssh's own 255.
    this.connected = opening.then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof HostError && error.exitCode !== 255 && error.exitCode !== null) return;
        this.connected = undefined;
        throw error;
      },
    );
    // The caller sees the script's own outcome; this copy only tells others when to go on.
    this.connected.catch(() => undefined);
    return opening;
  }

  /** Closes the master connection and removes key material written for this host. */
  async close(): Promise<void> {
    if (this.connected) {
      await new Promise<void>((resolve) => {
        const child = spawn("ssh", [...this.sshOptions(), "-O", "exit", this.target.host], { stdio: "ignore" });
        child.on("close", () => resolve());
        child.on("error", () => resolve());
      });
      this.connected = undefined;
    }
    this.removeScratch();
  }

  /** Deletes the private key written for authentication (synchronous). */
  removeKeyMaterial(): void {
    if (this.keyFile) rmSync(this.keyFile, { force: true });
  }

  /** Deletes every file written for this host: key and pinned known_hosts (synchronous). */
  removeScratch(): void {
    if (this.scratchDir) rmSync(this.scratchDir, { recursive: true, force: true });
    this.scratchDir = undefined;
    this.keyFile = undefined;
  }

  private exec(script: string, what: string, timeoutMs = 60_000): Promise<RemoteResult> {
    if (!this.tracer.on) return this.spawnSsh(script, what, timeoutMs);
    const start = nowMs();
    const call = currentCall();
    const done = (ok: boolean) => this.tracer.emit({ ev: "ssh", host: this.describe(), what, call, start, end: nowMs(), ok, bytes: Buffer.byteLength(script) });
    return this.spawnSsh(script, what, timeoutMs).then(
      (result) => (done(true), result),
      (error: unknown) => {
        done(false);
        throw error;
      },
    );
  }

  /** One `ssh ... sh -s` with the script on stdin. */
  private spawnSsh(script: string, what: string, timeoutMs: number): Promise<RemoteResult> {
    const args = [...this.sshOptions(), "--", this.target.host, "sh -s"];
    return new Promise((resolve, reject) => {
      // A control master forked by this ssh inherits our pipes; closing is judged on exit instead.
      const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let settled = false;
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        finish(this.failure(what, args, null, stdout, `${stderr}\ntimed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve({ stdout, stderr });
      };
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("error", (cause) =>
        finish(this.failure(what, args, null, "", String(cause), "could not start ssh: is openssh-client installed?", cause)),
      );
      // 'exit' can come before the last output is read: wait for both streams to end, but not
      // forever, in case a forked control master were ever to keep our pipes open.
      let open = 2;
      let drained: () => void = () => undefined;
      const ended = new Promise<void>((resolve) => (drained = resolve));
      const streamEnded = () => {
        if (--open === 0) drained();
      };
      child.stdout.on("end", streamEnded);
      child.stderr.on("end", streamEnded);
      child.on("exit", (code) => {
        const grace = setTimeout(drained, 2000);
        void ended.then(() => {
          clearTimeout(grace);
          if (code === 0) return finish();
          // A broken connection leaves a master that would hang every later command: drop it.
          if (code === 255 || code === null) this.dropMaster();
          const all = code === 255 ? stderr + this.takeHopLog() : stderr;
          finish(this.failure(what, args, code, stdout, all, code === 255 ? sshFailureHint(all, this.target) : undefined));
        });
      });
      child.stdin.on("error", () => undefined);
      child.stdin.end(script);
    });
  }

  /** A failed run of `ssh ARGS` (the script itself travelled on stdin). */
  private failure(what: string, args: readonly string[], exitCode: number | null, stdout: string, stderr: string, hint?: string, cause?: unknown): HostError {
    return new HostError({ reason: "command", host: this.describe(), operation: what, argv: ["ssh", ...args], exitCode, stdout, stderr, hint, cause });
  }

  /** Asks the control master to exit and forgets it; the next command dials afresh. */
  private dropMaster(): void {
    const args = [...this.sshOptions(), "-O", "exit", this.target.host];
    this.connected = undefined;
    this.masterGone = new Promise((resolve) => {
      const child = spawn("ssh", args, { stdio: "ignore" });
      child.on("close", () => resolve());
      child.on("error", () => resolve());
    });
  }

  private controlPath(): string {
    const t = this.target;
    // One socket per destination and identity, so two keys for one host never share a master.
    const key = createHash("sha256")
      .update(
        [t.user, t.host, t.port, t.proxyJump ?? "", t.privateKeyPath ?? "", t.privateKey ? createHash("sha256").update(t.privateKey).digest("hex") : "", t.sshConfigPath ?? "", t.knownHostsPath ?? "", t.hostKey ?? "", t.hostKeyPolicy].join("\0"),
      )
      .digest("hex")
      .slice(0, 32);
    return join(runtimeDir(), `cm-${key}`);
  }

  /** The file the jump hops' ssh write their messages to (in this host's scratch folder). */
  private hopLogPath(): string {
    return join(this.scratch(), "jump.log");
  }

  /** What the jump hops wrote since the last failure, labelled, then forgotten. */
  private takeHopLog(): string {
    if (!this.target.proxyJump) return "";
    const file = this.hopLogPath();
    const text = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    rmSync(file, { force: true });
    return text ? `\njump host ${this.target.proxyJump}: ${text}` : "";
  }

  private scratch(): string {
    this.scratchDir ??= mkdtempSync(join(runtimeDir(), "k-"));
    return this.scratchDir;
  }

  private identityFile(): string | undefined {
    const t = this.target;
    if (!t.privateKey) return t.privateKeyPath;
    this.keyFile ??= join(this.scratch(), "id");
    return this.keyFile;
  }

  /** Puts a secret key on disk for the command that opens the master; the others ride it. */
  private writeKeyFile(): void {
    const t = this.target;
    const file = this.identityFile();
    if (t.privateKey && file && !existsSync(file)) {
      writeFileSync(file, t.privateKey.endsWith("\n") ? t.privateKey : `${t.privateKey}\n`, { mode: 0o600 });
    }
  }

  private knownHostsFile(): string | undefined {
    const t = this.target;
    if (t.hostKey) {
      const file = join(this.scratch(), "known_hosts");
      const name = t.port === 22 ? t.host : `[${t.host}]:${t.port}`;
      writeFileSync(file, `${name} ${t.hostKey.trim()}\n`, { mode: 0o600 });
      return file;
    }
    return t.knownHostsPath;
  }
}
