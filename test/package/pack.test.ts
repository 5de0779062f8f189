/**
 * The npm package as a user gets it: `npm pack` ships the compiled provider API with its
 * declarations and nothing of the lab's program, scripts or tests; requiring the packed package
 * declares nothing; its dynamic-provider shim loads the provider from the package's own location
 * whatever the working directory; and its types compile in a consumer (with `skipLibCheck`, as
 * zod's own declarations need `esModuleInterop` otherwise).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_FILES } from "../../provider/host";
import { REPO_ROOT } from "../../scripts/tempProject";

const work = mkdtempSync(join(tmpdir(), "mptcp-pack-"));
const installed = join(work, "project", "node_modules", "mptcp-pulumi");
let files: string[] = [];

/** Runs a node script in the consumer project, from `cwd`; returns its parsed JSON output. */
function inProject(script: string, cwd = join(work, "project")): Record<string, unknown> {
  const r = spawnSync(process.execPath, ["-e", script], { cwd, encoding: "utf8", env: { ...process.env, NODE_PATH: join(work, "project", "node_modules") } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

beforeAll(() => {
  // `npm pack` runs `prepack` (the declaration build) like a publish does.
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [pack] = JSON.parse(out.slice(out.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = pack!.files.map((f) => f.path).sort();
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, pack!.filename), "-C", installed, "--strip-components=1"]);
  // The dependencies and the peer (@pulumi/pulumi) as the user's project would hold them.
  for (const dep of ["@pulumi", "zod", "@types", "typescript"]) symlinkSync(join(REPO_ROOT, "node_modules", dep), join(work, "project", "node_modules", dep));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the npm package", () => {
  it("ships the compiled API and its declarations, and nothing of the lab", () => {
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/provider/host/lib.sh", "dist/provider/host/replay.sh", "dist/provider/package.js", "dist/provider/package.d.ts", "dist/provider/runtime.js", "dist/provider/components/group.d.ts"]));
    const stray = files.filter((f) => f !== "package.json" && f !== "README.md" && !/^dist\/provider\/.+\.(js|d\.ts|sh)$/.test(f));
    expect(stray).toEqual([]);
  });

  it("ships every host program the provider reads at run time (the keepers' too)", () => {
    expect(files).toEqual(expect.arrayContaining(Object.values(HOST_FILES).map((f) => `dist/provider/${f}`)));
  });

  it("its provider runtime writes Node's compile cache at load, as the engine kills the process at the end", async () => {
    const cache = join(work, "compile-cache");
    const runtime = join(installed, "dist", "provider", "runtime.js");
    const child = spawn(process.execPath, ["-e", `require(${JSON.stringify(runtime)}); console.log("loaded"); setInterval(() => {}, 1000)`], {
      cwd: join(work, "project"),
      env: { ...process.env, NODE_PATH: join(work, "project", "node_modules"), NODE_COMPILE_CACHE: cache },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const ended = once(child, "exit");
    await once(child.stdout, "data");
    // From outside, like the engine: Node's own write at exit never runs.
    child.kill("SIGKILL");
    expect((await ended)[1]).toBe("SIGKILL");
    const written = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && statSync(join(e.parentPath, e.name)).size > 0);
    expect(written.length).toBeGreaterThan(0);
  });

  it("exposes the resources and components on require, and declares nothing", () => {
    const seen = inProject(`
      require("@pulumi/pulumi"); // the SDK's own listeners are not the package's
      const before = { uncaught: process.listenerCount("uncaughtException"), exit: process.listenerCount("exit") };
      const api = require("mptcp-pulumi");
      console.log(JSON.stringify({
        exports: Object.keys(api).sort(),
        kinds: ["MptcpGroup", "MptcpServer", "MptcpHost", "Endpoint"].map((k) => typeof api[k]),
        listenersAdded: process.listenerCount("uncaughtException") - before.uncaught + process.listenerCount("exit") - before.exit,
        runtimeLoaded: Object.keys(require.cache).some((p) => p.endsWith("runtime.js")),
        entry: require.resolve("mptcp-pulumi"),
      }));`);
    expect(seen["exports"]).toEqual(expect.arrayContaining(["MptcpGroup", "MptcpServer", "MptcpHost", "NetworkInterface", "PolicyRoute", "Endpoint", "SysctlTuning", "MptcpVerification", "checkGroup"]));
    expect(seen["kinds"]).toEqual(["function", "function", "function", "function"]);
    expect(seen["listenersAdded"]).toBe(0);
    expect(seen["runtimeLoaded"]).toBe(false);
    expect(seen["entry"]).toBe(join(installed, "dist/provider/package.js"));
  });

  it("its dynamic-provider shim loads the provider from the package, from any working directory", () => {
    const seen = inProject(
      `
      const text = require(${JSON.stringify(join(installed, "dist/provider/shim.js"))}).providerModule("Endpoint");
      const m = { exports: {} };
      new Function("exports", "require", "module", text)(m.exports, require, m);
      const provider = m.exports.handler();
      console.log(JSON.stringify({ methods: ["check", "diff", "create", "read", "update", "delete"].map((k) => typeof provider[k]), loaded: Object.keys(require.cache).filter((p) => p.endsWith("runtime.js")) }));
      process.exit(0);`,
      "/",
    );
    expect(seen["methods"]).toEqual(Array(6).fill("function"));
    expect(seen["loaded"]).toEqual([join(installed, "dist/provider/runtime.js")]);
  });

  it("its type declarations compile in a consumer's program", () => {
    writeFileSync(
      join(work, "project", "index.ts"),
      [
        'import { MptcpGroup, type MptcpGroupArgs, type HostConfigInput } from "mptcp-pulumi";',
        'const host: HostConfigInput = { name: "a", role: "server", connection: { host: "192.0.2.1" }, interfaces: [{ name: "eno1", addresses: ["10.0.0.1/24"] }], limits: { subflows: 2, addAddrAccepted: 2 } };',
        "const args: MptcpGroupArgs = { hosts: [host], verify: { seconds: 2 } };",
        "export const make = () => new MptcpGroup(\"g\", args);",
        "",
      ].join("\n"),
    );
    const tsc = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "commonjs", "--moduleResolution", "node", "--target", "es2020", "--types", "node", "--skipLibCheck", "index.ts"], { cwd: join(work, "project"), encoding: "utf8" });
    expect(r.status, r.stdout).toBe(0);
  }, 60_000);
});
