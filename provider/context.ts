/**
 * What one provider process shares across its resources: the project root (where relative key
 * paths are resolved) and one session per host. Passed to every resource's provider, so no
 * module keeps hidden state and nothing looks at the working directory but the process's start.
 */
import { createHash } from "node:crypto";
import { hostKeyOf, machineOf, toSshTarget, usesSudo, type Connection } from "./connection";
import { memorySightings, type Sightings } from "./sightings";
import { HostSession } from "./state/session";
import { noTracer, type Tracer } from "./trace";
import { SshTransport } from "./transport/ssh";

/** How to log in to a machine: the connection and the secret key, if any. */
export interface Login {
  connection: Connection;
  privateKey: string | undefined;
}

/** The project root and the host sessions of one provider process. */
export class ProviderContext {
  private readonly sessions = new Map<string, HostSession>();
  /** The program's current login per machine, seen this operation (check, create, update). */
  private readonly current = new Map<string, Login>();
  /** The stack's `privateKey` config value, the current secret key for refresh and destroy. */
  private configuredKey: string | undefined;
  /** Objects on hosts that a new resource adopted in this operation. */
  private readonly converged = new Set<string>();
  /** Objects new URNs declare in this process, and those already reported as adopted. */
  private readonly declared = new Set<string>();
  private readonly reported = new Set<string>();

  /**
   * `projectRoot` is the Pulumi project directory (where Pulumi.yaml is); `sightings` holds what
   * refresh read, shared with the CLI command's other provider processes (sightings.ts);
   * `tracer` records calls and round trips for the benchmark's profile (trace.ts).
   */
  constructor(
    readonly projectRoot: string,
    private readonly sightings: Sightings = memorySightings(),
    readonly tracer: Tracer = noTracer,
  ) {
    // Key material must not outlive the process; masters time out on their own (ControlPersist).
    process.once("exit", () => this.removeAllScratch());
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      process.once(signal, () => {
        this.removeAllScratch();
        process.kill(process.pid, signal);
      });
    }
  }

  /**
   * Takes the stack's configuration (a dynamic provider receives all of it): `privateKey` in the
   * project's namespace, when set, is the current secret key, even where the program does not run.
   */
  configure(config: { get(key: string): string | undefined }): void {
    const key = config.get("privateKey");
    this.configuredKey = typeof key === "string" && key !== "" ? key : undefined;
  }

  /** Remembers how the program now logs in to a machine (its inputs at check, create, update). */
  noteCurrent(login: Login): void {
    this.current.set(machineOf(login.connection), login);
  }

  /**
   * How to log in to the machine of a stored resource. The state holds the credentials of the
   * last update, which a rotation makes stale without changing the resource: prefer the
   * program's current login for that machine, else replace a stored secret key with the
   * configured one.
   */
  loginFor(stored: Login): Login {
    const now = this.current.get(machineOf(stored.connection));
    if (now) return now;
    return { connection: stored.connection, privateKey: stored.privateKey !== undefined ? (this.configuredKey ?? stored.privateKey) : undefined };
  }

  /** Records that a new resource adopted `object` (found it already there) in this operation. */
  claim(object: string): void {
    this.converged.add(object);
  }

  /**
   * Whether a live resource took `object` over in this operation. A resource renamed without
   * aliases gets a new URN whose create adopts the object; the old URN's delete comes after,
   * in the same operation, and must then leave the object alone.
   */
  claimed(object: string): boolean {
    return this.converged.has(object);
  }

  /**
   * Notes who manages `object`: a resource of the state read by refresh (`stored`, with its id)
   * or a new URN the program declares (`declared`). Returns the stored resource's id the first
   * time both have been seen for the object: a new URN is about to adopt what an old one
   * manages, the mark of a rename without aliases. Refresh and the program's registrations
   * may come in either order, even from different processes, so whichever comes second
   * reports it.
   */
  sighted(object: string, by: { stored: string } | "declared"): string | undefined {
    if (by === "declared") this.declared.add(object);
    else this.sightings.record(object, by.stored);
    if (!this.declared.has(object) || this.reported.has(object)) return undefined;
    const stored = this.sightings.lookup(object);
    if (stored !== undefined) this.reported.add(object);
    return stored;
  }

  /** The session for a connection, created on first use in this process. */
  sessionFor(connection: Connection, privateKey: string | undefined): HostSession {
    // Every connection setting is part of the key: resources that differ in any of them (a
    // pinned key, a confirm timeout) never share a session by accident.
    const key = `${hostKeyOf(connection)}#${JSON.stringify(Object.entries(connection).sort())}#${privateKey ? createHash("sha256").update(privateKey).digest("hex") : ""}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = new HostSession(new SshTransport(toSshTarget(connection, privateKey, this.projectRoot), undefined, this.tracer), connection.confirmTimeoutSeconds, usesSudo(connection), this.tracer);
      this.sessions.set(key, session);
    }
    return session;
  }

  /** Closes every session's master connection and deletes key files (tests and process exit). */
  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.transport.close()));
  }

  /**
   * Forgets what this process learned about hosts in an operation: cached states and the
   * objects resources took over (tests use it to start a new operation, as a new provider
   * process would, or after changing hosts behind the provider's back).
   */
  invalidateAll(): void {
    for (const session of this.sessions.values()) session.invalidate();
    this.converged.clear();
  }

  private removeAllScratch(): void {
    for (const session of this.sessions.values()) session.transport.removeScratch();
  }
}
