/**
 * What one provider process shares across its resources: the project root (where relative key
 * paths are resolved) and one session per host. Passed to every resource's provider, so no
 * module keeps hidden state and nothing looks at the working directory but the process's start.
 */
import { createHash } from "node:crypto";
import { hostKeyOf, toSshTarget, type Connection } from "./connection";
import { HostSession } from "./state/session";
import { SshTransport } from "./transport/ssh";

/** The project root and the host sessions of one provider process. */
export class ProviderContext {
  private readonly sessions = new Map<string, HostSession>();

  /** `projectRoot` is the Pulumi project directory (where Pulumi.yaml is). */
  constructor(readonly projectRoot: string) {
    // Key material must not outlive the process; masters time out on their own (ControlPersist).
    process.once("exit", () => this.removeAllScratch());
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      process.once(signal, () => {
        this.removeAllScratch();
        process.kill(process.pid, signal);
      });
    }
  }

  /** The session for a connection, created on first use in this process. */
  sessionFor(connection: Connection, privateKey: string | undefined): HostSession {
    // Every connection setting is part of the key: resources that differ in any of them (a
    // pinned key, a confirm timeout) never share a session by accident.
    const key = `${hostKeyOf(connection)}#${JSON.stringify(Object.entries(connection).sort())}#${privateKey ? createHash("sha256").update(privateKey).digest("hex") : ""}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = new HostSession(new SshTransport(toSshTarget(connection, privateKey, this.projectRoot)), connection.confirmTimeoutSeconds);
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

  /** Forgets every cached host state (tests changing hosts behind the provider's back use this). */
  invalidateAll(): void {
    for (const session of this.sessions.values()) session.invalidate();
  }

  private removeAllScratch(): void {
    for (const session of this.sessions.values()) session.transport.removeScratch();
  }
}
