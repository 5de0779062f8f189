/**
 * Prepares the `lab` test project: root check, the compiled provider (the dynamic-provider
 * process loads dist/), the Pulumi engine, the lab images the suite boots, and a fresh lab;
 * tears the lab down afterwards.
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { lab, ROOT } from "./harness";

/**
 * The images the default suite boots: the systemd tier's Debian 12 (matrix, systemd, NM), the VM
 * tier's Debian 12 and 13 (vm.test.ts). `MATRIX=all` adds the systemd tier's trixie, built on use.
 */
const SUITE_IMAGES = ["bookworm", "bookworm-vm", "trixie-vm"];

/** How many images build at once: each build keeps about one core busy (dpkg), for 2-3 minutes. */
const IMAGE_BUILDERS = 2;

/** Builds `name` (image.sh returns at once when it is cached); rejects with its log when it fails. */
function buildImage(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(ROOT, "test/lab/image.sh"), name], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      log = (log + text).slice(-8000);
      // Only a build that runs says so: a cached image is silent.
      for (const line of text.split("\n")) if (/^image: (building the|\S+ image ready)/.test(line)) process.stderr.write(`${line}\n`);
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`test/lab/image.sh ${name} exited ${code}: ${log}`))));
  });
}

/**
 * Builds the suite's images side by side before any test: built one by one, each by the first
 * test that boots it, a fresh machine spent about 8 minutes on them in a row.
 */
async function buildImages(names: readonly string[], builders: number): Promise<void> {
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await buildImage(name);
  };
  await Promise.all(Array.from({ length: Math.min(builders, names.length) }, worker));
}

export default async function setup(): Promise<() => void> {
  if (process.getuid?.() !== 0) {
    throw new Error("the lab tests need root (network namespaces, veth, mounts): run them as root, e.g. in CI via .ci/run");
  }
  execFileSync("bash", [join(ROOT, "scripts/build.sh")], { stdio: "inherit" });
  execFileSync("bash", [join(ROOT, "scripts/engine.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  await buildImages(SUITE_IMAGES, IMAGE_BUILDERS);
  lab("down");
  lab("up");
  return () => {
    lab("down");
  };
}
