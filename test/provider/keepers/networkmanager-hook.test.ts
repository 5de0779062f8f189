import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APPLY_SCRIPT_PATH, NM_HOOK_PATH } from "../../../provider/hostpaths";
import { NM_HOOK } from "../../../provider/keepers/networkmanager";
import { endpointDefinition, endpointSchema, planEndpoint } from "../../../provider/resources/endpoint";
import { CONNECTION, hostState } from "../../support/fixtures";
import { nmHostState } from "../../support/nm";

const ENDPOINT = endpointSchema.parse({ connection: CONNECTION, address: "192.168.0.2", dev: "eno2", flags: ["subflow"] });
const hookWrites = (ops: ReturnType<typeof planEndpoint>) => ops.filter((op) => op.type === "file" && op.path === NM_HOOK_PATH);

describe("the NetworkManager dispatcher hook", () => {
  it("is installed, executable, with the boot replay where NetworkManager runs, and not elsewhere", () => {
    expect(hookWrites(planEndpoint(ENDPOINT, nmHostState()))).toEqual([expect.objectContaining({ action: "write", content: NM_HOOK, mode: "0755" })]);
    expect(hookWrites(planEndpoint(ENDPOINT, hostState()))).toEqual([]);
  });

  it("counts for persisted, and goes with the last part", () => {
    const state = nmHostState();
    const outs = endpointDefinition.outputs(ENDPOINT, state, state, undefined);
    expect(outs.persisted).toBe(false);
    state.files[NM_HOOK_PATH] = NM_HOOK;
    const part = "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.part";
    state.files[part] = "endpoint address=192.168.0.2 dev=eno2 flags=subflow\n";
    // The host removes the hook with the replay, under the lock, once no part is left.
    const removal = (ops: ReturnType<typeof planEndpoint>) => ops.find((op) => op.type === "bootUnit");
    expect(removal(endpointDefinition.remove(outs, state))).toEqual({ type: "bootUnit", action: "removeIfUnused", hooks: [NM_HOOK_PATH] });
    expect(hookWrites(endpointDefinition.remove(outs, state))).toEqual([]);
  });

  // The hook run by sh with a stand-in replay script that logs its runs.
  function runHook(device: string, event: string, installed = true): number {
    const dir = mkdtempSync(join(tmpdir(), "nm-hook-"));
    if (installed) writeFileSync(join(dir, "apply.sh"), `echo ran >> "${dir}/log"\n`);
    const hook = NM_HOOK.replaceAll(APPLY_SCRIPT_PATH, join(dir, "apply.sh"));
    const r = spawnSync("sh", ["-c", hook, "hook", device, event], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const runs = existsSync(join(dir, "log")) ? readFileSync(join(dir, "log"), "utf8").trim().split("\n").length : 0;
    rmSync(dir, { recursive: true });
    return runs;
  }

  it("runs the replay (endpoints, limits) when NM brings any device up: mptcpd resets the limits on every new address", () => {
    expect(runHook("eno2", "up")).toBe(1);
    expect(runHook("wlan0", "up")).toBe(1);
  });

  it("does nothing on other events, or once the replay is gone", () => {
    expect(runHook("eno2", "down")).toBe(0);
    expect(runHook("eno2", "pre-up")).toBe(0);
    expect(runHook("eno2", "up", false)).toBe(0);
  });
});
