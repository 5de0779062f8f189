/**
 * One session per host per provider process: the shared SSH transport, the host's state read
 * once and shared by all of that host's resources, and a queue so this process applies one
 * change set at a time per host while different hosts proceed in parallel.
 */
import { compileScript, PartialApplyError, readOutcome, scriptReportedFailure, type Change } from "../changes";
import { hostKeyOf, toSshTarget, type Connection } from "../connection";
import { RemoteCommandError, SshTransport } from "../transport/ssh";
import { parseProbe, PROBE_SCRIPT } from "./probe";
import type { HostState } from "./types";

/** A host as this provider process sees it during one operation. */
export class HostSession {
  private cached: Promise<HostState> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Round trips made, by purpose; reported in debug logs and used by tests. */
  readonly roundTrips = { read: 0, apply: 0 };

  constructor(readonly transport: SshTransport) {}

  /** "user@host:port". */
  get name(): string {
    return this.transport.describe();
  }

  /** The host's state, read at most once until something changes it. */
  state(): Promise<HostState> {
    this.cached ??= this.readState().catch((error: unknown) => {
      this.cached = undefined;
      throw error;
    });
    return this.cached;
  }

  /** Forgets the cached state; the next `state()` reads the host again. */
  invalidate(): void {
    this.cached = undefined;
  }

  /** Runs `work` after every earlier exclusive work on this host has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Applies a change set in one round trip; on failure says exactly what was applied. */
  async apply(changes: readonly Change[], what: string): Promise<void> {
    if (changes.length === 0) return;
    this.invalidate();
    this.roundTrips.apply++;
    try {
      await this.transport.run(compileScript(changes), what);
    } catch (error) {
      if (error instanceof RemoteCommandError && scriptReportedFailure(error.stdout)) {
        // The script ran: its markers tell what was applied before the failure.
        throw new PartialApplyError(this.name, readOutcome(changes, error.stdout, error.stderr), {
          cause: error,
        });
      }
      throw error;
    } finally {
      this.invalidate();
    }
  }

  private async readState(): Promise<HostState> {
    this.roundTrips.read++;
    const { stdout } = await this.transport.run(PROBE_SCRIPT, "read host state (uname, sysctl -a, ip mptcp/addr/rule/route)");
    return parseProbe(stdout);
  }
}

const sessions = new Map<string, HostSession>();

/** The session for a connection, created on first use in this process. */
export function sessionFor(connection: Connection, privateKey: string | undefined): HostSession {
  const key = `${hostKeyOf(connection)}#${connection.privateKeyPath ?? ""}#${privateKey ? "inline" : ""}`;
  let session = sessions.get(key);
  if (!session) {
    session = new HostSession(new SshTransport(toSshTarget(connection, privateKey)));
    sessions.set(key, session);
  }
  return session;
}

/** Closes every session's master connection and deletes key files (tests and process exit). */
export async function closeAllSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map((s) => s.transport.close()));
}

process.once("exit", () => {
  // Key material must not outlive the process; masters time out on their own (ControlPersist).
  for (const session of sessions.values()) session.transport.removeKeyMaterial();
});

/** Forgets every cached host state (tests changing hosts behind the provider's back use this). */
export function invalidateAllSessions(): void {
  for (const session of sessions.values()) session.invalidate();
}
