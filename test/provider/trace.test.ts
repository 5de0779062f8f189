import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseTrace } from "../../bench/profile";
import { currentCall, fileTracer, noTracer, tracedProvider, tracerFromEnv, TRACE_ENV } from "../../provider/trace";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function traceFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "trace-test-"));
  dirs.push(dir);
  return join(dir, "trace.jsonl");
}

describe("the operation trace", () => {
  it("is off unless the environment names a file", () => {
    expect(tracerFromEnv({})).toBe(noTracer);
    expect(tracerFromEnv({ [TRACE_ENV]: "/x" }).on).toBe(true);
  });

  it("leaves the provider as it is when off", () => {
    const provider = { create: async () => ({ id: "a" }) };
    expect(tracedProvider(provider, noTracer, () => ({ kind: "K", id: "a", host: "h" }))).toBe(provider);
  });

  it("records each call with its resource, and the work inside it knows which resource it runs for", async () => {
    const file = traceFile();
    const seen: unknown[] = [];
    const provider = {
      async create(_inputs: unknown) {
        seen.push(currentCall());
        return { id: "x" };
      },
      async delete(_id: string, _props: unknown) {
        throw new Error("refused");
      },
    };
    const traced = tracedProvider(provider, fileTracer(file), (props) => ({ kind: "Endpoint", id: String((props as { address: string }).address), host: "root@h:22" }));
    await traced.create({ address: "10.0.0.1" });
    await expect(traced.delete("id", { address: "10.0.0.2" })).rejects.toThrow("refused");
    expect(seen).toEqual([{ kind: "Endpoint", id: "10.0.0.1", host: "root@h:22" }]);
    expect(currentCall()).toBeUndefined();
    const events = parseTrace(readFileSync(file, "utf8"));
    expect(events.map((e) => (e.ev === "call" ? [e.method, e.id, e.ok] : e.ev))).toEqual([
      ["create", "10.0.0.1", true],
      ["delete", "10.0.0.2", false],
    ]);
  });
});
