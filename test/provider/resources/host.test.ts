import { describe, expect, it } from "vitest";
import { sysctlFilePath } from "../../../provider/persist";
import { hostDefinition, hostSchema, hostSysctls, MAX_LIMIT, planHost, type HostInputs, type HostOutputs } from "../../../provider/resources/host";
import type { HostState } from "../../../provider/state/types";
import { describe as describeOp } from "../../../provider/operations";
import { applyFileChanges, checkFailures, CONNECTION, hostState, ipLines, planErrorOf, removedPaths, writtenContent, writtenPaths } from "../../support/fixtures";

const host = (input: Record<string, unknown> = {}): HostInputs => hostSchema.parse({ connection: CONNECTION, ...input });
const LIMITS_PART = "/etc/mptcp-pulumi/parts/10-limits.part";
const HOST_CONF = sysctlFilePath("host");

/** Outputs as `outputs` would build them for `desired` on `state`. */
function outputsFor(desired: HostInputs, state: HostState): HostOutputs {
  return hostDefinition.outputs(desired, state, state, undefined);
}

const sysctlChanges = (changes: ReturnType<typeof planHost>) =>
  changes.flatMap((c) => (c.type === "sysctl" ? [`${c.key}=${c.value}`] : []));

describe("hostSchema", () => {
  it("defaults to enabled and persisted", () => {
    expect(host()).toMatchObject({ enabled: true, persist: true });
  });

  it("accepts limits of 8", () => {
    expect(checkFailures(hostSchema, { limits: { subflows: MAX_LIMIT, addAddrAccepted: MAX_LIMIT } })).toEqual([]);
  });

  it("refuses more than 8 subflows on limits.subflows", () => {
    const failures = checkFailures(hostSchema, { limits: { subflows: 9, addAddrAccepted: 2 } });
    expect(failures).toEqual([{ property: "limits.subflows", reason: expect.stringContaining("at most 8") }]);
  });

  it("refuses more than 8 accepted ADD_ADDRs on limits.addAddrAccepted", () => {
    const failures = checkFailures(hostSchema, { limits: { subflows: 2, addAddrAccepted: 9 } });
    expect(failures).toEqual([{ property: "limits.addAddrAccepted", reason: expect.stringContaining("at most 8") }]);
  });

  it("refuses a negative limit", () => {
    const failures = checkFailures(hostSchema, { limits: { subflows: -1, addAddrAccepted: 2 } });
    expect(failures.map((f) => f.property)).toEqual(["limits.subflows"]);
  });

  it("refuses an unknown path manager on pathManager", () => {
    const failures = checkFailures(hostSchema, { pathManager: "fullmesh" });
    expect(failures.map((f) => f.property)).toEqual(["pathManager"]);
  });

  it("refuses a scheduler name with shell metacharacters on scheduler", () => {
    const failures = checkFailures(hostSchema, { scheduler: "default;reboot" });
    expect(failures).toEqual([{ property: "scheduler", reason: expect.stringContaining("kernel scheduler name") }]);
  });

  it("refuses limits missing one of the two on limits.addAddrAccepted", () => {
    const failures = checkFailures(hostSchema, { limits: { subflows: 2 } });
    expect(failures.map((f) => f.property)).toEqual(["limits.addAddrAccepted"]);
  });
});

describe("hostSysctls", () => {
  it("sets net.mptcp.enabled from enabled", () => {
    expect(hostSysctls(host({ enabled: false }), hostState("6.1"))).toEqual({ "net.mptcp.enabled": "0" });
  });

  it("uses net.mptcp.path_manager on kernels that have it", () => {
    expect(hostSysctls(host({ pathManager: "userspace" }), hostState("6.1"))).toMatchObject({ "net.mptcp.path_manager": "userspace" });
  });

  it("uses net.mptcp.pm_type on kernels with pm_type but no path_manager", () => {
    const state = hostState("6.1");
    delete state.sysctls["net.mptcp.path_manager"];
    expect(hostSysctls(host({ pathManager: "userspace" }), state)).toEqual({ "net.mptcp.enabled": "1", "net.mptcp.pm_type": "1" });
  });

  it("needs no sysctl for the kernel path manager on kernel 5.15", () => {
    expect(hostSysctls(host({ pathManager: "kernel" }), hostState("5.15"))).toEqual({ "net.mptcp.enabled": "1" });
  });

  it("refuses the userspace path manager on kernel 5.15", () => {
    const message = planErrorOf(() => hostSysctls(host({ pathManager: "userspace" }), hostState("5.15")));
    expect(message).toContain("has only the in-kernel path manager");
  });

  it("refuses a path manager the kernel does not offer", () => {
    const state = hostState("6.1");
    state.facts.pathManagers = ["kernel"];
    const message = planErrorOf(() => hostSysctls(host({ pathManager: "userspace" }), state));
    expect(message).toContain("path manager userspace is not offered");
  });

  it("sets an offered scheduler", () => {
    expect(hostSysctls(host({ scheduler: "default" }), hostState("6.1"))).toMatchObject({ "net.mptcp.scheduler": "default" });
  });

  it("refuses a scheduler the kernel does not offer", () => {
    const message = planErrorOf(() => hostSysctls(host({ scheduler: "bpf_rr" }), hostState("6.1")));
    expect(message).toContain("scheduler bpf_rr is not offered");
  });

  it("refuses any scheduler on kernel 5.15, which has none", () => {
    const message = planErrorOf(() => hostSysctls(host({ scheduler: "default" }), hostState("5.15")));
    expect(message).toContain("none: no net.mptcp.scheduler");
  });
});

describe("planHost", () => {
  it("changes no sysctl and no limit when the host already matches", () => {
    const changes = planHost(host({ limits: { subflows: 2, addAddrAccepted: 2 } }), hostState("6.1"), undefined);
    expect(sysctlChanges(changes)).toEqual([]);
    expect(ipLines(changes)).toEqual([]);
  });

  it("persists the sysctls and the limits on first run", () => {
    const changes = planHost(host({ limits: { subflows: 2, addAddrAccepted: 2 } }), hostState("6.1"), undefined);
    const written = writtenPaths(changes);
    expect(written).toContain(HOST_CONF);
    expect(written).toContain(LIMITS_PART);
  });

  it("writes the limits line as the boot part", () => {
    const changes = planHost(host({ limits: { subflows: 4, addAddrAccepted: 3 } }), hostState("6.1"), undefined);
    expect(writtenContent(changes, LIMITS_PART)).toBe("limits subflows=4 add_addr_accepted=3\n");
  });

  it("is idempotent once the files are in place", () => {
    const desired = host({ limits: { subflows: 2, addAddrAccepted: 2 } });
    const state = hostState("6.1");
    applyFileChanges(state, planHost(desired, state, undefined));
    expect(planHost(desired, state, undefined)).toEqual([]);
  });

  it("sets new limits with one ip change saying what they were", () => {
    const changes = planHost(host({ limits: { subflows: 4, addAddrAccepted: 2 } }), hostState("6.1"), undefined);
    expect(ipLines(changes)).toEqual(["mptcp limits set subflows 4 add_addr_accepted 2"]);
    expect(describeOp(changes.find((c) => c.type === "limits")!)).toBe("ip mptcp limits set subflows 4 add_addr_accepted 2 (was subflows 2 add_addr_accepted 2)");
  });

  it("disables MPTCP with a sysctl change", () => {
    expect(sysctlChanges(planHost(host({ enabled: false }), hostState("6.1"), undefined))).toEqual(["net.mptcp.enabled=0"]);
  });

  it("switches to the userspace path manager on kernel 6.18", () => {
    expect(sysctlChanges(planHost(host({ pathManager: "userspace" }), hostState("6.1"), undefined))).toEqual(["net.mptcp.path_manager=userspace"]);
  });

  it("writes no boot part and no sysctl file when persist is off", () => {
    const changes = planHost(host({ persist: false, limits: { subflows: 4, addAddrAccepted: 2 } }), hostState("6.1"), undefined);
    expect(writtenPaths(changes)).toEqual([]);
  });

  it("restores the previous limits when limits are no longer declared", () => {
    const state = hostState("6.1");
    state.limits = { subflows: 4, addAddrAccepted: 4 };
    const previous = { ...outputsFor(host({ limits: { subflows: 4, addAddrAccepted: 4 } }), state), previous: { sysctls: {}, limits: { subflows: 0, addAddrAccepted: 0 } } };
    expect(ipLines(planHost(host(), state, previous))).toEqual(["mptcp limits set subflows 0 add_addr_accepted 0"]);
  });

  it("restores a sysctl no longer managed", () => {
    const state = hostState("6.1");
    state.sysctls["net.mptcp.path_manager"] = "userspace";
    const previous = { ...outputsFor(host({ pathManager: "userspace" }), state), previous: { sysctls: { "net.mptcp.path_manager": "kernel" } } };
    expect(sysctlChanges(planHost(host(), state, previous))).toEqual(["net.mptcp.path_manager=kernel"]);
  });

  it("refuses a host without MPTCP", () => {
    const state = hostState("6.1");
    state.facts.mptcpAvailable = false;
    expect(planErrorOf(() => planHost(host(), state, undefined))).toContain("has no MPTCP");
  });

  it("works on kernel 5.15", () => {
    const changes = planHost(host({ limits: { subflows: 2, addAddrAccepted: 2 } }), hostState("5.15"), undefined);
    expect(sysctlChanges(changes)).toEqual([]);
    expect(ipLines(changes)).toEqual([]);
  });
});

describe("hostDefinition.outputs", () => {
  it("remembers the sysctl values and limits it found before changing them", () => {
    const before = hostState("6.1");
    const after = hostState("6.1");
    after.sysctls["net.mptcp.path_manager"] = "userspace";
    after.limits = { subflows: 4, addAddrAccepted: 2 };
    const outs = hostDefinition.outputs(host({ pathManager: "userspace", limits: { subflows: 4, addAddrAccepted: 2 } }), after, before, undefined);
    expect(outs.previous).toEqual({ sysctls: { "net.mptcp.enabled": "1", "net.mptcp.path_manager": "kernel" }, limits: { subflows: 2, addAddrAccepted: 2 } });
  });

  it("keeps the values remembered by an earlier run", () => {
    const state = hostState("6.1");
    const earlier = { ...outputsFor(host(), state), previous: { sysctls: { "net.mptcp.enabled": "0" }, limits: { subflows: 0, addAddrAccepted: 0 } } };
    const outs = hostDefinition.outputs(host(), state, state, earlier);
    expect(outs.previous).toEqual({ sysctls: { "net.mptcp.enabled": "0" }, limits: { subflows: 0, addAddrAccepted: 0 } });
  });

  it("reports the host's facts", () => {
    expect(outputsFor(host(), hostState("5.15")).facts.iproute2Version).toBe("5.15.0");
  });
});

describe("hostDefinition.observe", () => {
  it("reports enabled, limits and path manager as the host has them", () => {
    const state = hostState("6.1");
    state.sysctls["net.mptcp.enabled"] = "0";
    state.limits = { subflows: 3, addAddrAccepted: 1 };
    const desired = host({ pathManager: "userspace", limits: { subflows: 2, addAddrAccepted: 2 } });
    const seen = hostDefinition.observe(outputsFor(desired, hostState("6.1")), state)!;
    expect(seen).toMatchObject({ enabled: false, pathManager: "kernel", limits: { subflows: 3, addAddrAccepted: 1 } });
  });

  it("reads the path manager from pm_type on kernels without path_manager", () => {
    const state = hostState("6.1");
    delete state.sysctls["net.mptcp.path_manager"];
    state.sysctls["net.mptcp.pm_type"] = "1";
    const seen = hostDefinition.observe(outputsFor(host({ pathManager: "userspace" }), hostState("6.1")), state)!;
    expect(seen.pathManager).toBe("userspace");
  });

  it("is not persisted until the limits part is written", () => {
    const desired = host({ limits: { subflows: 2, addAddrAccepted: 2 } });
    const state = hostState("6.1");
    expect(hostDefinition.observe(outputsFor(desired, state), state)!.persisted).toBe(false);
    applyFileChanges(state, planHost(desired, state, undefined));
    expect(hostDefinition.observe(outputsFor(desired, state), state)!.persisted).toBe(true);
  });
});

describe("hostDefinition.remove", () => {
  it("restores the remembered sysctls and limits and removes its files", () => {
    const desired = host({ pathManager: "userspace", limits: { subflows: 4, addAddrAccepted: 4 } });
    const state = hostState("6.1");
    applyFileChanges(state, planHost(desired, state, undefined));
    state.sysctls["net.mptcp.path_manager"] = "userspace";
    state.limits = { subflows: 4, addAddrAccepted: 4 };
    const current = { ...outputsFor(desired, state), previous: { sysctls: { "net.mptcp.enabled": "1", "net.mptcp.path_manager": "kernel" }, limits: { subflows: 2, addAddrAccepted: 2 } } };
    const changes = hostDefinition.remove(current, state);
    expect(sysctlChanges(changes)).toEqual(["net.mptcp.path_manager=kernel"]);
    expect(ipLines(changes)).toEqual(["mptcp limits set subflows 2 add_addr_accepted 2"]);
    expect(removedPaths(changes)).toEqual([HOST_CONF, LIMITS_PART]);
  });

  it("leaves the limits alone when it did not manage them", () => {
    const state = hostState("6.1");
    const current = { ...outputsFor(host(), state), previous: { sysctls: {}, limits: { subflows: 0, addAddrAccepted: 0 } } };
    expect(ipLines(hostDefinition.remove(current, state))).toEqual([]);
  });
});

describe("hostDefinition.replaces", () => {
  it("never replaces", () => {
    const state = hostState("6.1");
    expect(hostDefinition.replaces(outputsFor(host(), state), host({ enabled: false, limits: { subflows: 1, addAddrAccepted: 1 } }))).toEqual([]);
  });
});
