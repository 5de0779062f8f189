/**
 * The picture of one operation: a self-contained HTML page with an SVG timeline, one row per
 * process (the CLI, the program, the provider) and one per host, where each resource's provider
 * calls are bars coloured by kind and each SSH round trip a dark tick beneath them, on one axis
 * of seconds since the command started. Drawn from the trace (provider/trace.ts), no libraries.
 */
import type { TraceEvent } from "../provider/trace";
import { DEPENDS_ON, purposeOf, type CommandRun, type Profile } from "./profile";

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
  const exits = events.filter((e): e is Extract<TraceEvent, { ev: "exit" }> => e.ev === "exit");
  const calls = events.filter((e): e is Extract<TraceEvent, { ev: "call" }> => e.ev === "call");
  const ssh = events.filter((e): e is Extract<TraceEvent, { ev: "ssh" }> => e.ev === "ssh");
  const hosts = [...new Set([...calls.map((c) => c.host), ...ssh.map((x) => x.host)])].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const m = { l: 190, r: 16, t: 34, b: 58 };
  const row = 16;
  const rows = 3 + hosts.length;
  const end = (run.endMs - run.startMs) / 1000;
  const x = (ms: number) => m.l + ((ms - run.startMs) / 1000 / end) * (width - m.l - m.r);
  const y = (i: number) => m.t + i * row;
  const height = m.t + rows * row + m.b;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  const step = niceStep(end, 12);
  for (let t = 0; t <= end + 1e-9; t += step) {
    const xx = (m.l + (t / end) * (width - m.l - m.r)).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${y(rows)}" stroke="#eee"/>`, `<text x="${xx}" y="${y(rows) + 12}" text-anchor="middle">${Number(t.toFixed(2))}</text>`);
  }
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${y(rows) + 25}" text-anchor="middle" fill="#555">seconds since the command started</text>`);
  const bar = (i: number, from: number, to: number, colour: string, tip: string, inset = 2, h = row - 4) =>
    `<rect x="${x(from).toFixed(1)}" y="${(y(i) + inset).toFixed(1)}" width="${Math.max(0.8, x(to) - x(from)).toFixed(1)}" height="${h}" fill="${colour}"><title>${esc(tip)}</title></rect>`;
  const label = (i: number, text: string) => `<text x="${m.l - 6}" y="${y(i) + row - 4}" text-anchor="end">${esc(text)}</text>`;
  parts.push(label(0, "pulumi (CLI and engine)"), bar(0, run.startMs, run.endMs, "#dddddd", `the command: ${end.toFixed(2)} s`));
  for (const [i, role] of (["program", "provider"] as const).entries()) {
    parts.push(label(i + 1, role === "program" ? "program (Node.js)" : "provider process"));
    for (const p of procs.filter((q) => q.role === role)) {
      const exit = exits.find((e) => e.pid === p.pid)?.atMs ?? run.endMs;
      parts.push(bar(i + 1, p.startedMs, p.loadedMs, "#bbbbbb", `${role} ${p.pid}: start to its code loaded, ${((p.loadedMs - p.startedMs) / 1000).toFixed(2)} s`));
      parts.push(bar(i + 1, p.loadedMs, exit, "#e5e5e5", `${role} ${p.pid}: running`));
    }
  }
  hosts.forEach((host, h) => {
    const i = 3 + h;
    parts.push(label(i, host.replace(/:22$/, "")));
    for (const c of calls.filter((q) => q.host === host)) {
      const colour = KIND_COLOURS[c.kind] ?? "#888888";
      const work = c.method === "create" || c.method === "update" || c.method === "delete" || c.method === "read";
      parts.push(bar(i, c.start, c.end, colour, `${c.kind} ${c.id}: ${c.method} ${(c.end - c.start).toFixed(0)} ms${c.ok ? "" : " (failed)"}`, work ? 1 : 5, work ? row - 6 : 3));
    }
    for (const r of ssh.filter((q) => q.host === host)) {
      const purpose = purposeOf(r.what);
      parts.push(bar(i, r.start, r.end, PURPOSE_COLOURS[purpose]!, `ssh ${purpose} (${r.call ? `${r.call.kind} ${r.call.id}` : "no call"}): ${r.what}, ${(r.end - r.start).toFixed(0)} ms`, row - 5, 3));
    }
  });
  // Legend: kinds, then round-trip purposes.
  let lx = m.l;
  const ly = height - 14;
  for (const kind of Object.keys(DEPENDS_ON)) {
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${KIND_COLOURS[kind]}"/>`, `<text x="${lx + 16}" y="${ly}">${kind}</text>`);
    lx += 26 + kind.length * 6.2;
  }
  for (const [purpose, colour] of Object.entries(PURPOSE_COLOURS)) {
    parts.push(`<rect x="${lx}" y="${ly - 3}" width="12" height="3" fill="${colour}"/>`, `<text x="${lx + 16}" y="${ly}">ssh ${purpose}</text>`);
    lx += 40 + purpose.length * 6.2;
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
    "<p>Hover a bar for what it is. Tall bars: a resource's create, update, delete or read; thin bars above them: its check and diff; ticks at the bottom of a row: SSH round trips.</p>",
    timelineSvg(run, events, title),
    "",
  ].join("\n");
}
