/**
 * A real browser for tests: Debian's chromium, headless, with a fresh profile per run and every
 * background service off (no network is reachable from here).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function chromium(args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  try {
    const r = spawnSync("chromium", [...FLAGS, `--user-data-dir=${profile}`, ...args], { encoding: "utf8", timeout: 90_000, maxBuffer: 1 << 26 });
    if (r.error) throw new Error(`chromium: ${r.error.message} (apt-get install chromium; scripts/setup.sh does)`, { cause: r.error });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM of the page as the browser parsed it. */
export function renderedDom(url: string): string {
  return chromium(["--dump-dom", url]);
}

/** Screenshots the page into `file` (PNG); returns the image's width and height. */
export function screenshot(url: string, file: string, width = 1400, height = 1100): { width: number; height: number } {
  chromium([`--window-size=${width},${height}`, `--screenshot=${file}`, url]);
  const png = readFileSync(file);
  if (png.subarray(1, 4).toString() !== "PNG") throw new Error(`${file} is not a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
