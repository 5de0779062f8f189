/**
 * The jump hosts of a connection as ssh's ProxyCommand. `ssh -J` passes none of our `-o` options
 * to the jump hop (BatchMode, the host-key policy and known_hosts file, the key), so the hop
 * could prompt or trust a key on other terms than the target. Each hop here is an ssh of its own
 * with the same options, `-W %h:%p` to the next one, nested for `a,b` (a first).
 */
import { shellCommand } from "./quote";

/** One hop of a proxyJump list: [user@]host[:port], IPv6 hosts in brackets. */
export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** Parses "[user@]host[:port][,...]"; throws on a hop it cannot read (the schema refuses those first). */
export function parseJumps(proxyJump: string): JumpHop[] {
  return proxyJump.split(",").map((hop) => {
    const m = /^(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:@[\]\s]+)(?::(\d{1,5}))?$/.exec(hop);
    if (!m) throw new Error(`proxyJump: cannot read the hop '${hop}' ([user@]host[:port])`);
    const host = m[2]!.replace(/^\[(.*)\]$/, "$1");
    return { ...(m[1] ? { user: m[1] } : {}), host, ...(m[3] ? { port: Number(m[3]) } : {}) };
  });
}

/** ssh expands %-tokens in a ProxyCommand: a literal % of ours must reach it doubled. */
const literal = (word: string) => word.replace(/%/g, "%%");

/**
 * The ProxyCommand that reaches the target through `hops`, every hop's ssh given `options`
 * (the target's own: config file, BatchMode, host-key policy and file, key; never its
 * ControlMaster). The result is for the target's `-o ProxyCommand=`.
 */
export function proxyCommand(hops: readonly JumpHop[], options: readonly string[]): string {
  let inner: string | undefined;
  for (const hop of hops) {
    const words = ["ssh", ...options.map(literal), "-o", "ControlMaster=no", "-o", "ControlPath=none"];
    // The previous hop's command is expanded by this hop's ssh, one level further in.
    if (inner !== undefined) words.push("-o", `ProxyCommand=${literal(inner)}`);
    if (hop.port !== undefined) words.push("-p", String(hop.port));
    if (hop.user !== undefined) words.push("-l", literal(hop.user));
    words.push("-W", "%h:%p", "--", literal(hop.host));
    inner = shellCommand(words);
  }
  if (inner === undefined) throw new Error("proxyCommand: no hops");
  return inner;
}
