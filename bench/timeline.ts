/**
 * The picture of one operation: a self-contained HTML page with an SVG timeline, one row per
 * process (the CLI, the program, the provider) and a block per host, with a lane per resource
 * where its provider calls are bars coloured by kind and the host's SSH round trips beneath, on
 * one axis of seconds since the command started. Drawn from the trace (provider/trace.ts), no libraries.
 */
import type { TraceEvent } from "../provider/trace";
import { WAITS_FOR } from "../provider/components/levels";
import { purposeOf, type CommandRun, type Profile } from "./profile";

/** Resource kinds' colours (colour-blind-safe palette), in dependency order. */
const KIND_COLOURS: Record<string, string> = {
  Preflight: "#999999",
  MptcpHost: "#0072b2",
  NetworkInterface: "#e69f00",
  SysctlTuning: "#cc79a7",
  PolicyRoute: "#009e73",
  Endpoint: "#d55e00",
};
const PURPOSE_COLOURS: Record<string, string> = { connect: "#000000", read: "#56b4e9", apply: "#333333", confirm: "#d62728", undo: "#f0e442" };
const kindOrder = (kind: string) => Object.keys(KIND_COLOURS).indexOf(kind);
const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A round step (1, 2, 5 x 10^n) for about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? 10 * mag;
}

/** The timeline as one SVG. */
export function timelineSvg(run: CommandRun, events: readonly TraceEvent[], title: string, width = 1100): string {
  const procs = events.filter((e): e is Extract<TraceEvent, { ev: "process" }> => e.ev === "process");
  const exits = events.filter((e): e is Extract<TraceEvent, { ev: "exit" | "cpu" }> => e.ev === "exit" || e.ev === "cpu");
  const calls = events.filter((e): e is Extract<TraceEvent, { ev: "call" }> => e.ev === "call");
  const ssh = events.filter((e): e is Extract<TraceEvent, { ev: "ssh" }> => e.ev === "ssh");
  const hosts = [...new Set([...calls.map((c) => c.host), ...ssh.map((x) => x.host)])].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const waits = events.filter((e): e is Extract<TraceEvent, { ev: "wait" }> => e.ev === "wait");
  // Each host is a block: one lane per resource (its calls), then a strip of its round trips.
  const lane = 5;
  const blocks = hosts.map((host) => {
    const resources = [...new Map(calls.filter((c) => c.host === host).map((c) => [`${c.kind} ${c.id}`, c])).values()];
    resources.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind) || a.id.localeCompare(b.id));
    return { host, lanes: resources.map((r) => ({ kind: r.kind, id: r.id })), height: Math.max(1, resources.length) * lane + 8 };
  });
  const m = { l: 190, r: 16, t: 34, b: 58 };
  const row = 16;
  const top = m.t + 3 * row;
  const bottom = top + blocks.reduce((n, b) => n + b.height, 0);
  const end = (run.endMs - run.startMs) / 1000;
  const x = (ms: number) => m.l + ((ms - run.startMs) / 1000 / end) * (width - m.l - m.r);
  const height = bottom + m.b;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  const step = niceStep(end, 12);
  for (let t = 0; t <= end + 1e-9; t += step) {
    const xx = (m.l + (t / end) * (width - m.l - m.r)).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${bottom}" stroke="#eee"/>`, `<text x="${xx}" y="${bottom + 12}" text-anchor="middle">${Number(t.toFixed(2))}</text>`);
  }
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${bottom + 25}" text-anchor="middle" fill="#555">seconds since the command started</text>`);
  const rect = (yy: number, from: number, to: number, h: number, colour: string, tip: string, opacity = 1) =>
    `<rect x="${x(from).toFixed(1)}" y="${yy.toFixed(1)}" width="${Math.max(0.8, x(to) - x(from)).toFixed(1)}" height="${h}" fill="${colour}"${opacity < 1 ? ` fill-opacity="${opacity}"` : ""}><title>${esc(tip)}</title></rect>`;
  const label = (yy: number, text: string) => `<text x="${m.l - 6}" y="${yy}" text-anchor="end">${esc(text)}</text>`;
  parts.push(label(m.t + row - 4, "pulumi (CLI and engine)"), rect(m.t + 2, run.startMs, run.endMs, row - 4, "#dddddd", `the command: ${end.toFixed(2)} s`));
  for (const [i, role] of (["program", "provider"] as const).entries()) {
    const yy = m.t + (i + 1) * row;
    parts.push(label(yy + row - 4, role === "program" ? "program (Node.js)" : "provider process"));
    for (const p of procs.filter((q) => q.role === role)) {
      const exit = exits.find((e) => e.pid === p.pid && e.ev === "exit")?.atMs ?? run.endMs;
      parts.push(rect(yy + 2, p.startedMs, p.loadedMs, row - 4, "#bbbbbb", `${role} ${p.pid}: start to its code loaded, ${((p.loadedMs - p.startedMs) / 1000).toFixed(2)} s`));
      parts.push(rect(yy + 2, p.loadedMs, exit, row - 4, "#e5e5e5", `${role} ${p.pid}: running`));
    }
  }
  let yy = top;
  for (const block of blocks) {
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${yy}" y2="${yy}" stroke="#f3f3f3"/>`, label(yy + block.height / 2 + 4, block.host.replace(/:22$/, "")));
    block.lanes.forEach((r, i) => {
      const ly = yy + 2 + i * lane;
      const colour = KIND_COLOURS[r.kind] ?? "#888888";
      for (const c of calls.filter((q) => q.host === block.host && q.kind === r.kind && q.id === r.id)) {
        const tip = `${c.kind} ${c.id}: ${c.method} ${(c.end - c.start).toFixed(0)} ms${c.ok ? "" : " (failed)"}`;
        const work = c.method === "create" || c.method === "update" || c.method === "delete" || c.method === "read";
        // Light while it waits for the host's queue (another resource of the host is busy).
        const got = waits.find((w) => w.host === block.host && w.call?.kind === c.kind && w.call.id === c.id && w.start >= c.start - 1 && w.end <= c.end + 1)?.end ?? c.start;
        if (work && got > c.start) parts.push(rect(ly, c.start, got, lane - 1, colour, `${tip}: waiting for the host's queue ${(got - c.start).toFixed(0)} ms`, 0.3));
        parts.push(rect(ly, work ? got : c.start, c.end, lane - 1, colour, tip, work ? 1 : 0.45));
      }
    });
    for (const r of ssh.filter((q) => q.host === block.host)) {
      const purpose = purposeOf(r.what);
      parts.push(rect(yy + block.height - 5, r.start, r.end, 3, PURPOSE_COLOURS[purpose]!, `ssh ${purpose} (${r.call ? `${r.call.kind} ${r.call.id}` : "no call"}): ${r.what}, ${(r.end - r.start).toFixed(0)} ms`));
    }
    yy += block.height;
  }
  // Legend: kinds, then round-trip purposes.
  let lx = m.l;
  const ly = height - 14;
  for (const kind of Object.keys(WAITS_FOR)) {
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${KIND_COLOURS[kind]}"/>`, `<text x="${lx + 16}" y="${ly}">${kind}</text>`);
    lx += 26 + kind.length * 6.2;
  }
  for (const [purpose, colour] of Object.entries(PURPOSE_COLOURS)) {
    parts.push(`<rect x="${lx}" y="${ly - 3}" width="12" height="3" fill="${colour}"/>`, `<text x="${lx + 16}" y="${ly}">ssh ${purpose}</text>`);
    lx += 44 + purpose.length * 6.2;
  }
  parts.push("</svg>");
  return parts.join("\n");
}

/** A self-contained page: the timeline and the operation's profile in a table. */
export function timelineHtml(run: CommandRun, events: readonly TraceEvent[], profile: Profile, title: string): string {
  const p = profile.phases;
  const rows: Array<[string, string]> = [
    ["wall", `${profile.wallSeconds.toFixed(2)} s`],
    ["CLI and engine start", `${p.cliStart.toFixed(2)} s`],
    ["program: start to its first resource at the provider", p.program === null ? "-" : `${p.program.toFixed(2)} s`],
    ["provider process: start to code loaded", p.providerLoad === null ? "-" : `${p.providerLoad.toFixed(2)} s`],
    ["resources' work (first provider call to last)", `${p.work.toFixed(2)} s`],
    ["wrap-up (last call to exit)", `${p.wrapUp.toFixed(2)} s`],
    ["CPU: total / provider / program / CLI, engine, ssh", `${profile.cpu.total.toFixed(2)} / ${profile.cpu.provider.toFixed(2)} / ${profile.cpu.program.toFixed(2)} / ${profile.cpu.other.toFixed(2)} s`],
    ["SSH round trips: total, per host (max), median", `${profile.roundTrips.total}, ${profile.roundTrips.perHostMax}, ${profile.roundTrips.medianMs.toFixed(0)} ms`],
  ];
  return [
    "<!doctype html>",
    `<meta charset="utf-8"><title>${esc(title)}</title>`,
    "<style>body{font-family:sans-serif;margin:16px}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}</style>",
    `<h1>${esc(title)}</h1>`,
    `<table>${rows.map(([a, b]) => `<tr><td>${esc(a)}</td><td>${esc(b)}</td></tr>`).join("")}</table>`,
    "<p>Hover a bar for what it is. Each host has one lane per resource: faint, its check and diff; light, its change waiting for the host's queue; solid, its change at work. Under the lanes, the host's SSH round trips by purpose.</p>",
    timelineSvg(run, events, title),
    "",
  ].join("\n");
}
