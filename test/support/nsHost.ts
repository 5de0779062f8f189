/**
 * A host for the engine's tests without SSH: a user, network and mount namespace held open by a
 * sleeping process, with private tmpfs over /run and /etc (the provider's files never reach this
 * machine's), veth pairs for NICs (the peer ends p-NAME stay in the host). Scripts run in it through nsenter, as the real host programs
 * the provider sends; a failed run becomes the HostError SshTransport would raise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { HostError } from "../../provider/errors";
import type { RemoteResult } from "../../provider/transport/ssh";
import type { ScriptTransport } from "../../provider/state/session";

/** A namespace host: its transport, and commands run in it directly (the tests' own view). */
export class NamespaceHost implements ScriptTransport {
  private readonly holder: ChildProcess;
  /** Scripts the transport ran, in order (what the provider sent). */
  readonly scripts: string[] = [];
  /** When set, the next script for which it returns a result gets that result instead of running. */
  intercept: ((script: string) => RemoteResult | HostError | undefined) | undefined;

  private constructor(holder: ChildProcess) {
    this.holder = holder;
  }

  /** Starts a host whose links (veths, up) are named `links`. */
  static async start(links: readonly string[] = ["eno1", "eno2"]): Promise<NamespaceHost> {
    // An empty /etc of its own, but for the alternatives every Debian host has (awk is a link there).
    const etc = ["mkdir /run/alternatives", "mount --bind /etc/alternatives /run/alternatives", "mount -t tmpfs none /etc", "mkdir /etc/alternatives", "mount --move /run/alternatives /etc/alternatives"];
    const setup = ["mount -t tmpfs none /run", ...etc, "ip link set lo up", ...links.map((l) => `ip link add ${l} type veth peer name p-${l} && ip link set ${l} up && ip link set p-${l} up`), "echo ready", "exec sleep infinity"].join(" && ");
    const holder = spawn("unshare", ["-rnm", "--propagation", "private", "sh", "-c", setup], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      holder.once("error", reject);
      holder.once("exit", (code) => reject(new Error(`the namespace host exited ${code} before it was ready`)));
      holder.stdout!.once("data", () => resolve());
    });
    return new NamespaceHost(holder);
  }

  /** Runs a command in the host (the test's own reading, not the provider's). */
  sh(command: string): string {
    const r = spawnSync("nsenter", this.enter(["sh", "-c", command]), { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`in the namespace host: ${command} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  describe(): string {
    return "namespace-host";
  }

  async run(script: string, what: string, timeoutMs = 60_000): Promise<RemoteResult> {
    this.scripts.push(script);
    const canned = this.intercept?.(script);
    if (canned instanceof HostError) throw canned;
    if (canned) return canned;
    const r = spawnSync("nsenter", this.enter(["sh", "-s"]), { input: script, encoding: "utf8", timeout: timeoutMs });
    if (r.status === 0) return { stdout: r.stdout, stderr: r.stderr };
    throw new HostError({ reason: "command", host: this.describe(), operation: what, argv: ["sh", "-s"], exitCode: r.status, stdout: r.stdout, stderr: r.stderr });
  }

  /** Ends the host (its namespaces go with the holder). */
  stop(): void {
    this.holder.kill("SIGKILL");
  }

  private enter(command: readonly string[]): string[] {
    return ["-t", String(this.holder.pid), "-U", "-n", "-m", "--preserve-credentials", ...command];
  }
}
