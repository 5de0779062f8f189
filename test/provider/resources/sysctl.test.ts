import { describe, expect, it } from "vitest";
import { sysctlFilePath, sysctlFileText } from "../../../provider/persist";
import {
  planSysctls,
  rememberPrevious,
  restoreSysctls,
  sysctlDefinition,
  sysctlSchema,
  type SysctlInputs,
  type SysctlOutputs,
} from "../../../provider/resources/sysctl";
import type { Operation } from "../../../provider/operations";
import { applyFileChanges, checkFailures, CONNECTION, hostState, PARSED_CONNECTION, planErrorOf, writtenPaths } from "../../support/fixtures";

const tuning = (input: Record<string, unknown>): SysctlInputs => sysctlSchema.parse({ connection: CONNECTION, name: "tuning", ...input });
const outputsOf = (inputs: SysctlInputs, previous: Record<string, string>): SysctlOutputs => ({ ...inputs, previous, persisted: true });
const FILE = sysctlFilePath("tuning");

const sysctlChanges = (changes: readonly Operation[]) => changes.flatMap((c) => (c.type === "sysctl" ? [`${c.key}=${c.value}`] : []));

/** The lab's tuning: buffers and loose reverse-path filtering. */
const LAB_VALUES = {
  "net.ipv4.tcp_rmem": "4096 131072 33554432",
  "net.ipv4.tcp_wmem": "4096 131072 33554432",
  "net.ipv4.conf.all.rp_filter": 2,
};

describe("sysctlSchema", () => {
  it("accepts the lab's values and normalizes them to text", () => {
    expect(tuning({ values: LAB_VALUES }).values).toEqual({
      "net.ipv4.tcp_rmem": "4096 131072 33554432",
      "net.ipv4.tcp_wmem": "4096 131072 33554432",
      "net.ipv4.conf.all.rp_filter": "2",
    });
  });

  it("normalizes tabs and runs of blanks in a value", () => {
    expect(tuning({ values: { "net.ipv4.tcp_rmem": "4096\t131072  33554432 " } }).values["net.ipv4.tcp_rmem"]).toBe("4096 131072 33554432");
  });

  it("refuses an empty set on values", () => {
    expect(checkFailures(sysctlSchema, { name: "tuning", values: {} })).toEqual([{ property: "values", reason: expect.stringContaining("at least one key") }]);
  });

  it("refuses a key outside net.*", () => {
    const failures = checkFailures(sysctlSchema, { name: "tuning", values: { "kernel.modprobe": "/tmp/x" } });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.property.startsWith("values")).toBe(true);
    expect(failures[0]!.reason).toContain("only net.* keys are tuned here");
  });

  it.each([
    ["net.ipv4.tcp_fin_timeout", "010", "octal; write the number in decimal (8)"],
    ["net.ipv4.tcp_fin_timeout", "0x20", "hexadecimal; write the number in decimal (32)"],
    ["net.ipv4.tcp_rmem", "4096 131072", "takes 3 numbers (got 2)"],
    ["net.ipv4.ip_local_port_range", "1024", "takes 2 numbers (got 1)"],
  ])("refuses %s = %j, which the host would read otherwise: %s", (key, value, reason) => {
    expect(checkFailures(sysctlSchema, { name: "tuning", values: { [key]: value } })).toEqual([{ property: `values.${key}`, reason: expect.stringContaining(reason) }]);
  });

  it("refuses a value with a newline on the key's path", () => {
    const failures = checkFailures(sysctlSchema, { name: "tuning", values: { "net.ipv4.ip_forward": "1\nkernel.panic=1" } });
    expect(failures.map((f) => f.property)).toContain("values.net.ipv4.ip_forward");
    expect(failures.some((f) => f.reason.includes("single line"))).toBe(true);
  });

  it("refuses a value with shell metacharacters", () => {
    const failures = checkFailures(sysctlSchema, { name: "tuning", values: { "net.ipv4.ip_forward": "1; reboot" } });
    expect(failures.some((f) => f.reason.includes("may only contain"))).toBe(true);
  });

  it("refuses an empty value", () => {
    const failures = checkFailures(sysctlSchema, { name: "tuning", values: { "net.ipv4.ip_forward": "" } });
    expect(failures.some((f) => f.reason.includes("cannot be empty"))).toBe(true);
  });

  it("refuses a name that cannot name a file on name", () => {
    const failures = checkFailures(sysctlSchema, { name: "../etc/passwd", values: { "net.ipv4.tcp_fin_timeout": 10 } });
    expect(failures).toEqual([{ property: "name", reason: expect.stringContaining("lowercase letters, digits and '-'") }]);
  });
});

describe("planSysctls", () => {
  it("changes nothing when the host has the value with tabs and the input has spaces", () => {
    const changes = planSysctls(PARSED_CONNECTION, "t", { "net.ipv4.tcp_rmem": "4096 131072 33554432" }, {}, hostState("6.1"), "tuning", false);
    expect(changes).toEqual([]);
  });

  it("sets a value that differs and says what it was", () => {
    const changes = planSysctls(PARSED_CONNECTION, "t", { "net.ipv4.tcp_wmem": "4096 131072 33554432" }, {}, hostState("6.1"), "tuning", false);
    expect(changes).toEqual([
      { type: "sysctl", key: "net.ipv4.tcp_wmem", value: "4096 131072 33554432", note: "(was 4096 16384 4194304)" },
    ]);
  });

  it("refuses a key the host does not have, naming it", () => {
    const message = planErrorOf(() => planSysctls(PARSED_CONNECTION, "t", { "net.mptcp.scheduler": "default" }, {}, hostState("5.15"), "tuning", true));
    expect(message).toContain("sysctl net.mptcp.scheduler does not exist on the host (kernel 5.15.0-91-generic)");
  });

  it("restores a key that was managed before but is no longer declared", () => {
    const state = hostState("6.1");
    state.sysctls["vm.swappiness"] = "10";
    const changes = planSysctls(PARSED_CONNECTION, "t", { "net.ipv4.tcp_rmem": "4096 131072 33554432" }, { "vm.swappiness": "60" }, state, "tuning", false);
    expect(sysctlChanges(changes)).toEqual(["vm.swappiness=60"]);
  });

  it("writes the sysctl.d file when persisting", () => {
    const values = { "net.ipv4.tcp_rmem": "4096 131072 33554432" };
    const changes = planSysctls(PARSED_CONNECTION, "t", values, {}, hostState("6.1"), "tuning", true);
    expect(changes).toEqual([{ type: "file", action: "write", path: FILE, content: sysctlFileText(values) }]);
  });

  it("removes the sysctl.d file when persistence is turned off", () => {
    const state = hostState("6.1");
    state.files[FILE] = "old\n";
    expect(planSysctls(PARSED_CONNECTION, "t", { "vm.swappiness": state.sysctls["vm.swappiness"]! }, {}, state, "tuning", false)).toEqual([
      { type: "file", action: "remove", path: FILE },
    ]);
  });
});

describe("sysctlFileText", () => {
  it("writes sorted 'key = value' lines under a header", () => {
    expect(sysctlFileText({ "vm.swappiness": "10", "net.ipv4.tcp_rmem": "4096 131072 33554432" })).toBe(
      "# Generated by mptcp-pulumi; edit the stack, not this file.\nnet.ipv4.tcp_rmem = 4096 131072 33554432\nvm.swappiness = 10\n",
    );
  });
});

describe("rememberPrevious", () => {
  it("remembers the host's values before the first change", () => {
    expect(rememberPrevious({ "net.ipv4.tcp_wmem": "x" }, hostState("6.1"), undefined)).toEqual({ "net.ipv4.tcp_wmem": "4096 16384 4194304" });
  });

  it("keeps what an earlier run remembered over the current value", () => {
    expect(rememberPrevious({ "net.ipv4.tcp_wmem": "x" }, hostState("6.1"), { "net.ipv4.tcp_wmem": "1 2 3" })).toEqual({ "net.ipv4.tcp_wmem": "1 2 3" });
  });

  it("forgets keys no longer managed", () => {
    expect(rememberPrevious({ "net.ipv4.tcp_wmem": "x" }, hostState("6.1"), { "vm.swappiness": "60" })).toEqual({ "net.ipv4.tcp_wmem": "4096 16384 4194304" });
  });

  it("remembers nothing for a key the host lacks", () => {
    expect(rememberPrevious({ "net.mptcp.scheduler": "default" }, hostState("5.15"), undefined)).toEqual({});
  });
});

describe("restoreSysctls", () => {
  it("restores every remembered value that differs", () => {
    const changes = restoreSysctls({ "net.ipv4.tcp_rmem": "4096 131072 6291456", "net.ipv4.tcp_wmem": "4096 16384 4194304" }, hostState("6.1"), "tuning");
    expect(changes).toEqual([
      { type: "sysctl", key: "net.ipv4.tcp_rmem", value: "4096 131072 6291456", note: "(restore)" },
    ]);
  });

  it("removes the sysctl.d file", () => {
    const state = hostState("6.1");
    state.files[FILE] = "x\n";
    expect(restoreSysctls({}, state, "tuning")).toEqual([{ type: "file", action: "remove", path: FILE }]);
  });

  it("skips keys that have disappeared from the host", () => {
    expect(restoreSysctls({ "net.mptcp.scheduler": "default" }, hostState("5.15"), "tuning")).toEqual([]);
  });
});

describe("sysctlDefinition", () => {
  it("plans only the values that differ, and the file", () => {
    const changes = sysctlDefinition.plan(tuning({ values: LAB_VALUES }), hostState("6.1"), undefined);
    expect(sysctlChanges(changes)).toEqual(["net.ipv4.tcp_wmem=4096 131072 33554432", "net.ipv4.conf.all.rp_filter=2"]);
    expect(writtenPaths(changes)).toEqual([FILE]);
  });

  it("is idempotent once the values and the file are in place", () => {
    const desired = tuning({ values: LAB_VALUES });
    const state = hostState("6.1");
    applyFileChanges(state, sysctlDefinition.plan(desired, state, undefined));
    state.sysctls["net.ipv4.tcp_wmem"] = "4096 131072 33554432";
    state.sysctls["net.ipv4.conf.all.rp_filter"] = "2";
    expect(sysctlDefinition.plan(desired, state, undefined)).toEqual([]);
  });

  it("remembers the values it replaced in its outputs", () => {
    const desired = tuning({ values: LAB_VALUES });
    const outs = sysctlDefinition.outputs(desired, hostState("6.1"), hostState("6.1"), undefined);
    expect(outs.previous).toEqual({
      "net.ipv4.tcp_rmem": "4096 131072 33554432",
      "net.ipv4.tcp_wmem": "4096 16384 4194304",
      "net.ipv4.conf.all.rp_filter": "0",
    });
  });

  it("restores the remembered values on delete", () => {
    const desired = tuning({ values: LAB_VALUES });
    const state = hostState("6.1");
    state.sysctls["net.ipv4.tcp_wmem"] = "4096 131072 33554432";
    state.sysctls["net.ipv4.conf.all.rp_filter"] = "2";
    const previous = { "net.ipv4.tcp_rmem": "4096 131072 33554432", "net.ipv4.tcp_wmem": "4096 16384 4194304", "net.ipv4.conf.all.rp_filter": "0" };
    expect(sysctlChanges(sysctlDefinition.remove(outputsOf(desired, previous), state))).toEqual([
      "net.ipv4.tcp_wmem=4096 16384 4194304",
      "net.ipv4.conf.all.rp_filter=0",
    ]);
  });

  it("restores a key dropped from the set on update", () => {
    const state = hostState("6.1");
    state.sysctls["net.ipv4.conf.all.rp_filter"] = "2";
    const previous = outputsOf(tuning({ values: LAB_VALUES }), { "net.ipv4.conf.all.rp_filter": "0" });
    const changes = sysctlDefinition.plan(tuning({ values: { "net.ipv4.tcp_rmem": "4096 131072 33554432" } }), state, previous);
    expect(sysctlChanges(changes)).toEqual(["net.ipv4.conf.all.rp_filter=0"]);
  });

  it("observes the host's values, normalized", () => {
    const seen = sysctlDefinition.observe(outputsOf(tuning({ values: LAB_VALUES }), {}), hostState("6.1"))!;
    expect(seen.values).toEqual({ "net.ipv4.tcp_rmem": "4096 131072 33554432", "net.ipv4.tcp_wmem": "4096 16384 4194304", "net.ipv4.conf.all.rp_filter": "0" });
  });

  it("observes persisted only when the file holds the values", () => {
    const desired = tuning({ values: LAB_VALUES });
    const state = hostState("6.1");
    expect(sysctlDefinition.observe(outputsOf(desired, {}), state)!.persisted).toBe(false);
    applyFileChanges(state, sysctlDefinition.plan(desired, state, undefined));
    expect(sysctlDefinition.observe(outputsOf(desired, {}), state)!.persisted).toBe(true);
  });

  it("replaces on a new name only", () => {
    const old = outputsOf(tuning({ values: LAB_VALUES }), {});
    expect(sysctlDefinition.replaces(old, tuning({ name: "other", values: LAB_VALUES }))).toEqual(["name"]);
    expect(sysctlDefinition.replaces(old, tuning({ values: { "net.ipv4.tcp_fin_timeout": 10 } }))).toEqual([]);
  });
});
