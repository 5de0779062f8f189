/**
 * The picture of a verification: a self-contained HTML page (or one SVG) that plots, for each
 * pair, the throughput each link carried over time (from the client's own counters) with any
 * failure and restore marked, and the subflows per link below it, beside the summary table.
 * The same results go to a JSON file next to it.
 */
import { writeFileSync } from "node:fs";
import type { PairResult } from "./measure";
import { rates, type Timeline } from "./timeline";
import { fmtMB, type WindowAnalysis } from "./window";

/** Link colours, in path order (colour-blind-safe palette). */
const COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Where the report's data goes: FILE with its extension replaced by .json. */
export function dataPathOf(file: string): string {
  return /\.(html?|svg)$/i.test(file) ? file.replace(/\.(html?|svg)$/i, ".json") : `${file}.json`;
}

/** A round step (1, 2, 5 x 10^n) for about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** The window in one line for a chart: each path's round trip, and need against what the buffers allow. */
export function windowNote(w: WindowAnalysis): string {
  const rtts = w.paths.map((p) => `${p.dev} rtt ${p.rttMs === null ? "?" : Math.round(p.rttMs)} ms`).join(", ");
  return `${rtts}; ${w.windowLimited ? "window-limited" : "not window-limited"}: need ${fmtMB(w.needBytes)} in flight, buffers allow ${fmtMB(w.allowedBytes)}`;
}

/** One timeline as an SVG chart: Mbit/s per link and in total, subflows per link underneath; `note` goes under the title. */
export function timelineSvg(timeline: Timeline, devs: readonly string[], width = 760, note?: string): string {
  const intervals = rates(timeline);
  const h = 230;
  const strip = 70;
  const m = { l: 52, r: 16, t: 28, b: 30 };
  const end = Math.max(timeline.samples.at(-1)?.t ?? 1, 1);
  const totals = intervals.map((r) => devs.reduce((n, d) => n + (r.mbps[d] ?? 0), 0));
  const yStep = niceStep(Math.max(50, ...totals), 5);
  const yMax = Math.ceil(Math.max(50, ...totals) / yStep) * yStep;
  const maxSub = Math.max(1, ...timeline.samples.flatMap((s) => devs.map((d) => s.subflows[d] ?? 0)));
  const x = (t: number) => m.l + (t / end) * (width - m.l - m.r);
  const y = (v: number) => m.t + h - (v / yMax) * h;
  const ys = (n: number) => m.t + h + m.b + strip - (n / maxSub) * (strip - 8);
  const parts: string[] = [];
  const total = m.t + h + m.b + strip + 22;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(timeline.label)}</text>`);
  if (note) parts.push(`<text x="${width - m.r}" y="16" text-anchor="end" fill="#555">${esc(note)}</text>`);
  // The failure window, shaded, between the first two events.
  const [fail, restore] = timeline.events;
  if (fail && restore) parts.push(`<rect x="${x(fail.t).toFixed(1)}" y="${m.t}" width="${Math.max(0, x(restore.t) - x(fail.t)).toFixed(1)}" height="${h}" fill="#d62728" fill-opacity="0.08"/>`);
  for (let v = 0; v <= yMax; v += yStep) {
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`, `<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  const tStep = niceStep(end, 10);
  for (let t = 0; t <= end + 1e-9; t += tStep) parts.push(`<text x="${x(t).toFixed(1)}" y="${m.t + h + 14}" text-anchor="middle">${Number(t.toFixed(2))}</text>`);
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${m.t + h + 26}" text-anchor="middle" fill="#555">seconds</text>`);
  parts.push(`<text transform="translate(12 ${m.t + h / 2}) rotate(-90)" text-anchor="middle" fill="#555">Mbit/s sent</text>`);
  const line = (points: Array<[number, number]>, colour: string, extra = "") =>
    `<polyline fill="none" stroke="${colour}" stroke-width="1.8" ${extra} points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`;
  const mid = (r: { t: number; end: number }) => (r.t + r.end) / 2;
  parts.push(line(intervals.map((r, i) => [x(mid(r)), y(totals[i]!)]), "#444", 'stroke-dasharray="4 3" stroke-width="1.2"'));
  devs.forEach((d, i) => parts.push(line(intervals.map((r) => [x(mid(r)), y(r.mbps[d] ?? 0)]), COLOURS[i % COLOURS.length]!)));
  // Subflows per link: steps, slightly offset so equal counts stay visible.
  const stripTop = m.t + h + m.b;
  parts.push(`<text transform="translate(12 ${stripTop + strip / 2}) rotate(-90)" text-anchor="middle" fill="#555">subflows</text>`, `<line x1="${m.l}" x2="${width - m.r}" y1="${ys(0)}" y2="${ys(0)}" stroke="#ddd"/>`);
  parts.push(`<text x="${m.l - 6}" y="${ys(maxSub) + 4}" text-anchor="end">${maxSub}</text>`, `<text x="${m.l - 6}" y="${ys(0) + 4}" text-anchor="end">0</text>`);
  devs.forEach((d, i) => {
    const pts: Array<[number, number]> = [];
    timeline.samples.forEach((s, k) => {
      const yy = ys(s.subflows[d] ?? 0) - i * 2;
      if (k > 0) pts.push([x(s.t), pts.at(-1)![1]]);
      pts.push([x(s.t), yy]);
    });
    parts.push(line(pts, COLOURS[i % COLOURS.length]!, 'stroke-width="1.4"'));
  });
  for (const e of timeline.events) {
    parts.push(`<line x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${m.t}" y2="${ys(0)}" stroke="#d62728" stroke-dasharray="3 2"/>`);
    parts.push(`<text x="${(x(e.t) + 3).toFixed(1)}" y="${m.t + 12}" fill="#d62728">${esc(e.label)}</text>`);
  }
  // Legend.
  let lx = m.l;
  const ly = total - 6;
  for (const [i, d] of devs.entries()) {
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${COLOURS[i % COLOURS.length]}"/>`, `<text x="${lx + 18}" y="${ly - 4}">${esc(d)}</text>`);
    lx += 30 + d.length * 7;
  }
  parts.push(`<line x1="${lx}" x2="${lx + 14}" y1="${ly - 7}" y2="${ly - 7}" stroke="#444" stroke-dasharray="4 3"/>`, `<text x="${lx + 18}" y="${ly - 4}">all links</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

function summaryHtml(r: PairResult): string {
  const rows = r.paths.map((p) => {
    const w = r.window.paths.find((x) => x.dev === p.dev);
    const rtt = w && w.rttMs !== null ? `${Math.round(w.rttMs)} (${Math.round(w.minRttMs ?? w.rttMs)})` : "?";
    const tcp = r.tcpByPath[p.dev];
    return `<tr><td>${esc(p.dev)}</td><td>${p.role}</td><td>${(p.share * 100).toFixed(1)}%</td><td>${(p.bytes / 1e6).toFixed(1)}</td><td>${p.subflows.client} / ${p.subflows.server}</td><td>${p.subflows.clientBackup} / ${p.subflows.serverBackup}</td><td>${tcp === undefined ? "" : tcp.toFixed(1)}</td><td>${rtt}</td><td>${w ? fmtMB(w.bdpBytes) : "?"}</td></tr>`;
  });
  const remedies = (r.remedies ?? []).map((x) => `<tr><td>${esc(x.label)}</td><td>${x.mptcpMbps.toFixed(1)} Mbit/s</td></tr>`);
  const fo = r.failover.map(
    (f) =>
      `<tr><td>${f.kind} on ${esc(f.path)}</td><td>${f.stallSeconds.toFixed(2)}</td><td>${f.beforeMbps.toFixed(0)} / ${f.duringMbps.toFixed(0)} / ${f.afterMbps.toFixed(0)}</td><td>${esc(f.tookOver.join(", ") || "none")}</td><td>${f.recovered ? `yes${f.recoveredAfterSeconds !== null ? ` (${f.recoveredAfterSeconds.toFixed(2)} s)` : ""}` : "<b>no</b>"}</td></tr>`,
  );
  return [
    `<table><tr><th colspan="2">${esc(r.client)} &rarr; ${esc(r.server)} (${esc(r.target)})</th></tr>`,
    `<tr><td>TCP (one path)</td><td>${r.tcpMbps.toFixed(1)} Mbit/s</td></tr><tr><td>MPTCP</td><td>${r.mptcpMbps.toFixed(1)} Mbit/s</td></tr><tr><td>ratio</td><td>${r.ratio.toFixed(2)}x</td></tr>`,
    `<tr><td>MP_JOIN (client SYN/ACK rx; server SYN rx, ACK rx)</td><td>${r.joins.clientSynAckRx}; ${r.joins.serverSynRx}, ${r.joins.serverAckRx}</td></tr></table>`,
    `<table><tr><th>path</th><th>role</th><th>share</th><th>MB sent</th><th>subflows client / server</th><th>flagged backup</th><th>TCP alone, Mbit/s</th><th>rtt ms (min)</th><th>BDP</th></tr>${rows.join("")}</table>`,
    `<p class="${r.window.windowLimited ? "fail" : "ok"}">${esc(r.window.verdict)}</p>`,
    remedies.length ? `<table><tr><th>remedy</th><th>MPTCP with it</th></tr>${remedies.join("")}</table>` : "",
    fo.length ? `<table><tr><th>failure</th><th>stall s</th><th>Mbit/s before / during / after</th><th>took over</th><th>failed path back</th></tr>${fo.join("")}</table>` : "",
    `<p class="${r.ok ? "ok" : "fail"}">${r.ok ? "OK: every path works in its role" : `FAIL: ${r.problems.map(esc).join("<br>")}`}</p>`,
  ].join("\n");
}

/** Which timelines a report plots: each pair's first MPTCP run and every failover. */
export function plotted(r: PairResult): Timeline[] {
  const mptcp = r.timelines.find((t) => t.label.startsWith("MPTCP"));
  return [...(mptcp ? [mptcp] : []), ...r.failover.map((f) => f.timeline)];
}

/** The whole report as one HTML page with inline SVG and no external resources. */
export function reportHtml(results: readonly PairResult[], meta: { stack: string; date: string }): string {
  const pairs = results.map((r) => {
    const devs = r.paths.map((p) => p.dev);
    const charts = plotted(r).map((t) => timelineSvg(t, devs, 760, windowNote(r.window))).join("\n");
    return `<section><div class="charts">${charts}</div><div class="summary">${summaryHtml(r)}</div></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MPTCP verification: ${esc(meta.stack)}</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } .meta { color: #666; margin: 0 0 12px; font-size: 12px; }
section { display: flex; gap: 20px; align-items: flex-start; margin-bottom: 24px; }
.charts { display: flex; flex-direction: column; gap: 8px; }
.summary { font-size: 12px; min-width: 360px; }
table { border-collapse: collapse; margin-bottom: 10px; } td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
th { background: #f3f3f3; } .ok { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
</style></head><body>
<h1>MPTCP verification: stack ${esc(meta.stack)}</h1>
<p class="meta">${esc(meta.date)}. Throughput is what each of the client's links sent (its own counters), sampled every 0.1 s; the shaded band is the failure.</p>
${pairs.join("\n")}
</body></html>
`;
}

/** Writes the report (HTML, or SVG when FILE ends in .svg) and its JSON data; returns the files written. */
export function writeReport(file: string, results: readonly PairResult[], meta: { stack: string; date: string }): string[] {
  const data = dataPathOf(file);
  writeFileSync(data, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
  if (/\.svg$/i.test(file)) {
    const charts = results.flatMap((r) => plotted(r).map((t) => timelineSvg(t, r.paths.map((p) => p.dev), 760, windowNote(r.window))));
    const heights = charts.map((c) => Number(/height="(\d+)"/.exec(c)![1]));
    let offset = 0;
    const body = charts.map((c, i) => {
      const g = `<g transform="translate(0 ${offset})">${c}</g>`;
      offset += heights[i]!;
      return g;
    });
    writeFileSync(file, `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${offset}">\n${body.join("\n")}\n</svg>\n`);
  } else {
    writeFileSync(file, reportHtml(results, meta));
  }
  return [file, data];
}
