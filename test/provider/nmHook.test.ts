import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NM_HOOK_PATH, PARTS_DIR } from "../../provider/hostpaths";
import { NM_HOOK } from "../../provider/nmHook";
import { endpointDefinition, endpointSchema, planEndpoint } from "../../provider/resources/endpoint";
import { runWhileLocked } from "../support/hostLock";
import { CONNECTION, hostState } from "../support/fixtures";
import { nmHostState } from "../support/nm";

const ENDPOINT = endpointSchema.parse({ connection: CONNECTION, address: "192.168.0.2", dev: "eno2", flags: ["subflow"] });
const hookWrites = (ops: ReturnType<typeof planEndpoint>) => ops.filter((op) => op.type === "file" && op.path === NM_HOOK_PATH);

describe("the NetworkManager dispatcher hook", () => {
  it("is installed, executable, with an endpoint on a device NM manages, and not elsewhere", () => {
    expect(hookWrites(planEndpoint(ENDPOINT, nmHostState()))).toEqual([expect.objectContaining({ action: "write", content: NM_HOOK, mode: "0755" })]);
    expect(hookWrites(planEndpoint(ENDPOINT, hostState()))).toEqual([]);
  });

  it("counts for persisted, and goes with the last endpoint part", () => {
    const state = nmHostState();
    const outs = endpointDefinition.outputs(ENDPOINT, state, state, undefined);
    expect(outs.persisted).toBe(false);
    state.files[NM_HOOK_PATH] = NM_HOOK;
    const part = "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.2.batch";
    state.files[part] = "mptcp endpoint add 192.168.0.2 dev eno2 subflow\n";
    expect(hookWrites(endpointDefinition.remove(outs, state))).toEqual([expect.objectContaining({ action: "remove" })]);
    state.files["/etc/mptcp-pulumi/parts/40-endpoint-10.0.0.2.batch"] = "mptcp endpoint add 10.0.0.2 dev eno1 subflow\n";
    expect(hookWrites(endpointDefinition.remove(outs, state))).toEqual([]);
  });

  // The hook run by sh against a stand-in `ip` that lists `endpoints` and logs every other call.
  function runHook(event: string, endpoints: string, part = "mptcp endpoint add 192.168.0.2 dev eno2 subflow", limits?: string): string[] {
    const dir = mkdtempSync(join(tmpdir(), "nm-hook-"));
    mkdirSync(join(dir, "parts"));
    writeFileSync(join(dir, "parts", "40-endpoint-192.168.0.2.batch"), `${part}\n`);
    if (limits) writeFileSync(join(dir, "parts", "10-limits.batch"), `${limits}\n`);
    writeFileSync(join(dir, "ip"), `#!/bin/sh\nif [ "$*" = "mptcp endpoint show" ]; then printf '%s' "$ENDPOINTS"; else echo "$*" >> "${dir}/log"; fi\n`, { mode: 0o755 });
    const hook = NM_HOOK.replaceAll(PARTS_DIR, join(dir, "parts"));
    const r = spawnSync("sh", ["-c", hook, "hook", "eno2", event], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, ENDPOINTS: endpoints } });
    expect(r.status, r.stderr).toBe(0);
    const log = existsSync(join(dir, "log")) ? readFileSync(join(dir, "log"), "utf8").trim().split("\n") : [];
    rmSync(dir, { recursive: true });
    return log;
  }

  it("re-adds an endpoint left on a dead ifindex or added without our flags (mptcpd), on NM's up event", () => {
    expect(runHook("up", "192.168.0.2 id 1 subflow dev if546 \n")).toEqual(["mptcp endpoint delete id 1", "mptcp endpoint add 192.168.0.2 dev eno2 subflow"]);
    expect(runHook("up", "10.0.0.2 id 3 dev eno1 \n192.168.0.2 id 4 dev eno2 \n")).toEqual(["mptcp endpoint delete id 4", "mptcp endpoint add 192.168.0.2 dev eno2 subflow"]);
    expect(runHook("up", "")).toEqual(["mptcp endpoint add 192.168.0.2 dev eno2 subflow"]);
  });

  it("puts the stack's limits back after mptcpd reset them", () => {
    expect(runHook("up", "192.168.0.2 id 1 subflow dev eno2 \n", undefined, "mptcp limits set subflows 2 add_addr_accepted 2")).toEqual([expect.stringMatching(/^-force -batch .*\/10-limits\.batch$/)]);
  });

  it("waits for the host lock, as the boot replay and the provider add the same endpoints", () => {
    const r = runWhileLocked(NM_HOOK, ["eno2", "up"], (hook, dir) => hook.replaceAll(PARTS_DIR, dir));
    expect(r.status, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });

  it("leaves a right endpoint alone (whatever its id), other devices' endpoints, and other events", () => {
    expect(runHook("up", "192.168.0.2 id 7 subflow dev eno2 \n", "mptcp endpoint add 192.168.0.2 id 1 dev eno2 subflow")).toEqual([]);
    expect(runHook("up", "", "mptcp endpoint add 10.0.0.2 dev eno1 subflow")).toEqual([]);
    expect(runHook("down", "")).toEqual([]);
  });
});
