import { describe, expect, it } from "vitest";
import {
  APPLY_SCRIPT,
  APPLY_SCRIPT_PATH,
  BOOT_ORDER,
  bootPartPath,
  bootPartText,
  partIsCurrent,
  persistPart,
  persistSysctls,
  sysctlFilePath,
  sysctlFileText,
  UNIT_FILE,
  UNIT_LINK,
  UNIT_PATH,
} from "../../provider/persist";
import { PERSIST_DIR } from "../../provider/state/probe";
import { applyFileChanges, hostState } from "../support/fixtures";

const LINES = [["mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow"]];
const PART = bootPartPath(BOOT_ORDER.endpoint, "endpoint-192.168.0.2");
const OTHER = bootPartPath(BOOT_ORDER.limits, "limits");

const summaries = (changes: ReturnType<typeof persistPart>) => changes.map((c) => c.summary);

describe("bootPartPath", () => {
  it("names a part by its order and slug", () => {
    expect(PART).toBe(`${PERSIST_DIR}/parts/40-endpoint-192.168.0.2.batch`);
  });

  it("replaces characters that do not belong in a file name", () => {
    expect(bootPartPath(20, "interface-a/b c")).toBe(`${PERSIST_DIR}/parts/20-interface-a_b_c.batch`);
  });

  it("orders limits before interfaces before routes before endpoints", () => {
    expect(BOOT_ORDER.limits < BOOT_ORDER.interface && BOOT_ORDER.interface < BOOT_ORDER.route && BOOT_ORDER.route < BOOT_ORDER.endpoint).toBe(true);
  });
});

describe("bootPartText", () => {
  it("writes one ip -batch line per argument list", () => {
    expect(bootPartText([["link", "set", "dev", "eno1", "up"], ["address", "replace", "10.0.0.2/24", "dev", "eno1"]])).toBe(
      "link set dev eno1 up\naddress replace 10.0.0.2/24 dev eno1\n",
    );
  });

  it("refuses a word that cannot stand in a batch line", () => {
    expect(() => bootPartText([["link", "set", "dev", "eno1 up"]])).toThrow(/refusing ip -batch word/);
  });
});

describe("persistPart", () => {
  it("installs the replay script, unit and enablement before the first part", () => {
    expect(summaries(persistPart(PART, LINES, hostState()))).toEqual([
      `write ${APPLY_SCRIPT_PATH}`,
      `install ${UNIT_PATH}`,
      "enable mptcp-pulumi.service at boot",
      `write boot replay ${PART}`,
    ]);
  });

  it("writes only the part when the replay is installed", () => {
    const state = hostState();
    state.files[APPLY_SCRIPT_PATH] = APPLY_SCRIPT;
    state.files[UNIT_PATH] = UNIT_FILE;
    state.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expect(summaries(persistPart(PART, LINES, state))).toEqual([`write boot replay ${PART}`]);
  });

  it("repairs a replay script, unit or enablement that went missing, even when the part is current", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    delete state.files[UNIT_LINK];
    expect(summaries(persistPart(PART, LINES, state))).toEqual(["enable mptcp-pulumi.service at boot"]);
    expect(partIsCurrent(PART, LINES, state)).toBe(false);
    delete state.files[APPLY_SCRIPT_PATH];
    expect(summaries(persistPart(PART, LINES, state))).toEqual([`write ${APPLY_SCRIPT_PATH}`, "enable mptcp-pulumi.service at boot"]);
  });

  it("plans nothing when the part is current", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    expect(persistPart(PART, LINES, state)).toEqual([]);
  });

  it("removes the part and keeps the replay while other parts are left", () => {
    const state = applyFileChanges(hostState(), [...persistPart(PART, LINES, hostState()), ...persistPart(OTHER, [["mptcp", "limits", "set", "subflows", "2"]], hostState())]);
    expect(summaries(persistPart(PART, undefined, state))).toEqual([`remove boot replay ${PART}`]);
  });

  it("removes the replay machinery with the last part", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    const changes = persistPart(PART, undefined, state);
    expect(changes[0]).toEqual({ kind: "removeFile", path: PART, summary: `remove boot replay ${PART}` });
    expect(changes.slice(1).map((c) => c.kind)).toEqual(["shell"]);
    // Decided on the host, under the lock, in case another stack added a part meanwhile.
    expect((changes[1] as { args: string[] }).args[2]).toMatch(new RegExp(`^if \\[ -z "\\$\\(ls -A ${PERSIST_DIR}/parts.*rm -rf ${PERSIST_DIR}`));
  });

  it("plans nothing to remove when there is neither part nor replay", () => {
    expect(persistPart(PART, undefined, hostState())).toEqual([]);
  });

  it("treats an empty line list like no part", () => {
    expect(persistPart(PART, [], hostState())).toEqual([]);
  });
});

describe("partIsCurrent", () => {
  it("is false before the part is written", () => {
    expect(partIsCurrent(PART, LINES, hostState())).toBe(false);
  });

  it("is true once the part and the replay script are written", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    expect(partIsCurrent(PART, LINES, state)).toBe(true);
  });

  it("is false when the replay script is stale", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    state.files[APPLY_SCRIPT_PATH] = "#!/bin/sh\n";
    expect(partIsCurrent(PART, LINES, state)).toBe(false);
  });

  it("is true for no part when there is none", () => {
    expect(partIsCurrent(PART, undefined, hostState())).toBe(true);
  });
});

describe("persistSysctls", () => {
  const FILE = sysctlFilePath("tuning");

  it("puts the file under /etc/sysctl.d with our prefix", () => {
    expect(FILE).toBe("/etc/sysctl.d/90-mptcp-pulumi-tuning.conf");
  });

  it("writes the file when it differs", () => {
    expect(persistSysctls("tuning", { "vm.swappiness": "10" }, hostState())).toEqual([
      { kind: "writeFile", path: FILE, content: sysctlFileText({ "vm.swappiness": "10" }), summary: `write ${FILE}` },
    ]);
  });

  it("plans nothing when the file is current", () => {
    const state = hostState();
    state.files[FILE] = sysctlFileText({ "vm.swappiness": "10" });
    expect(persistSysctls("tuning", { "vm.swappiness": "10" }, state)).toEqual([]);
  });

  it("removes the file when there are no values", () => {
    const state = hostState();
    state.files[FILE] = "x\n";
    expect(persistSysctls("tuning", undefined, state)).toEqual([{ kind: "removeFile", path: FILE, summary: `remove ${FILE}` }]);
  });
});

describe("APPLY_SCRIPT", () => {
  it("replays every part with -force so one stale line does not stop the rest", () => {
    expect(APPLY_SCRIPT).toContain(`for part in ${PERSIST_DIR}/parts/*.batch`);
    expect(APPLY_SCRIPT).toContain('ip -force -batch "$part"');
  });
});
