/**
 * The timeline of a measurement: the client's bytes sent on each link and its established
 * subflows per link, sampled on the client about ten times a second while traffic flows. The
 * sampler is a plain sh loop (reads of /sys and one `ss` per sample), so it costs the host
 * little and needs nothing installed.
 */
import { bareAddress } from "./parse";

/** Seconds between samples (the sampler in provider/host/verify.sh takes it as an argument). */
export const SAMPLE_INTERVAL_SECONDS = 0.1;

/** One sample: seconds since the timeline's start, cumulative bytes sent and subflows per link. */
export interface Sample {
  t: number;
  bytes: Record<string, number>;
  subflows: Record<string, number>;
}

/** A measurement's samples; `startEpochMs` ties `t` to wall-clock time on the client. */
export interface Timeline {
  label: string;
  startEpochMs: number;
  samples: Sample[];
  /** Marks such as a failure and a restore, in seconds on the same axis. */
  events: Array<{ t: number; label: string }>;
}

/** Which link a local address belongs to, given each link's addresses. */
export function devOf(address: string, addresses: Record<string, string[]>): string | undefined {
  const bare = bareAddress(address).toLowerCase();
  // ss names the device when a subflow is bound to one: "192.168.0.2%eno2:50967".
  const bound = /%([^%:\]]+)/.exec(address)?.[1];
  if (bound && addresses[bound]) return bound;
  return Object.entries(addresses).find(([, list]) => list.includes(bare))?.[0];
}

/** Parses the sampler's output into a timeline (times relative to the first sample). */
export function parseTimeline(output: string, devs: readonly string[], addresses: Record<string, string[]>, label: string): Timeline {
  let epochNs = 0;
  const raw: Array<{ up: number; bytes: number[]; locals: string[] }> = [];
  for (const line of output.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] === "E") epochNs = Number(words[1]);
    if (words[0] !== "S" || words.length < 2 + devs.length) continue;
    raw.push({ up: Number(words[1]), bytes: words.slice(2, 2 + devs.length).map(Number), locals: (words[2 + devs.length] ?? "").split(",").filter(Boolean) });
  }
  const t0 = raw[0]?.up ?? 0;
  const samples = raw.map((r) => {
    const subflows: Record<string, number> = Object.fromEntries(devs.map((d) => [d, 0]));
    for (const local of r.locals) {
      const dev = devOf(local, addresses);
      if (dev && dev in subflows) subflows[dev]! += 1;
    }
    return { t: round(r.up - t0, 2), bytes: Object.fromEntries(devs.map((d, i) => [d, r.bytes[i] ?? 0])), subflows };
  });
  return { label, startEpochMs: Math.round(epochNs / 1e6), samples, events: [] };
}

/** Throughput per link between consecutive samples, in Mbit/s, stamped at each interval's start. */
export function rates(timeline: Timeline): Array<{ t: number; end: number; mbps: Record<string, number> }> {
  const out: Array<{ t: number; end: number; mbps: Record<string, number> }> = [];
  const s = timeline.samples;
  for (let i = 1; i < s.length; i++) {
    const dt = s[i]!.t - s[i - 1]!.t;
    if (dt <= 0) continue;
    const mbps = Object.fromEntries(Object.keys(s[i]!.bytes).map((d) => [d, ((s[i]!.bytes[d]! - (s[i - 1]!.bytes[d] ?? 0)) * 8) / dt / 1e6]));
    out.push({ t: s[i - 1]!.t, end: s[i]!.t, mbps });
  }
  return out;
}

/** Bytes each link sent between two times (nearest samples). */
export function bytesBetween(timeline: Timeline, from: number, to: number): Record<string, number> {
  const s = timeline.samples;
  if (s.length === 0) return {};
  const at = (t: number) => s.reduce((best, x) => (Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best), s[0]!);
  const a = at(from);
  const b = at(to);
  return Object.fromEntries(Object.keys(b.bytes).map((d) => [d, Math.max(0, b.bytes[d]! - (a.bytes[d] ?? 0))]));
}

/** Bytes each link sent over the whole timeline. */
export function sentBytes(timeline: Timeline): Record<string, number> {
  const first = timeline.samples[0];
  const last = timeline.samples.at(-1);
  if (!first || !last) return {};
  return Object.fromEntries(Object.keys(last.bytes).map((d) => [d, Math.max(0, last.bytes[d]! - (first.bytes[d] ?? 0))]));
}

/** Average Mbit/s of all links together between two times. */
export function mbpsBetween(timeline: Timeline, from: number, to: number, devs?: readonly string[]): number {
  if (to <= from) return 0;
  const bytes = bytesBetween(timeline, from, to);
  const total = Object.entries(bytes).filter(([d]) => !devs || devs.includes(d)).reduce((n, [, b]) => n + b, 0);
  return (total * 8) / (to - from) / 1e6;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
