import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  APPLY_SCRIPT,
  BOOT_ORDER,
  bootPartPath,
  bootPartText,
  DEVICE_UNIT_FILE,
  partIsCurrent as partIsCurrentWith,
  persistPart as persistPartWith,
  UDEV_RULE,
  UNIT_FILE,
  type PartRecord,
} from "../../../provider/keepers/kernel";
import { REPLAY_TRIGGERS } from "../../../provider/keepers";
import { persistSysctls, sysctlFilePath, sysctlFileText } from "../../../provider/persist";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PERSIST_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../../../provider/hostpaths";
import { describe as describeOp, render } from "../../../provider/operations";
import { program } from "../../../provider/host";
import { hostEnvironment } from "../../../provider/protocol";
import { shellCommand } from "../../../provider/transport/quote";
import { applyFileChanges, hostState } from "../../support/fixtures";

// The host fixture runs no network manager: no hook goes with the replay.
const persistPart = (path: string, records: readonly PartRecord[] | undefined, actual: ReturnType<typeof hostState>) => persistPartWith(path, records, actual, REPLAY_TRIGGERS);
const partIsCurrent = (path: string, records: readonly PartRecord[] | undefined, actual: ReturnType<typeof hostState>) => partIsCurrentWith(path, records, actual, REPLAY_TRIGGERS);

const LINES: PartRecord[] = [{ kind: "endpoint", address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }];
const LIMITS: PartRecord[] = [{ kind: "limits", subflows: 2, addAddrAccepted: 0 }];
const PART = bootPartPath(BOOT_ORDER.endpoint, "endpoint-192.168.0.2");
const OTHER = bootPartPath(BOOT_ORDER.limits, "limits");

const summaries = (changes: ReturnType<typeof persistPart>) => changes.map(describeOp);

describe("bootPartPath", () => {
  it("names a part by its order and slug", () => {
    expect(PART).toBe(`${PERSIST_DIR}/parts/40-endpoint-192.168.0.2.part`);
  });

  it("replaces characters that do not belong in a file name", () => {
    expect(bootPartPath(20, "interface-a/b c")).toBe(`${PERSIST_DIR}/parts/20-interface-a_b_c.part`);
  });

  it("orders limits before interfaces before routes before endpoints", () => {
    expect(BOOT_ORDER.limits < BOOT_ORDER.interface && BOOT_ORDER.interface < BOOT_ORDER.route && BOOT_ORDER.route < BOOT_ORDER.endpoint).toBe(true);
  });
});

describe("bootPartText", () => {
  it("writes one record per line: its kind, then key=value fields, unset ones left out", () => {
    const records: PartRecord[] = [
      { kind: "link", dev: "eno1", state: "up" },
      { kind: "address", dev: "eno1", cidr: "10.0.0.2/24" },
      { kind: "route", family: 6, table: 202, dst: "default", dev: "eno2", via: undefined },
      { kind: "endpoint", address: "fd00::1", port: 5201, dev: "eno2", flags: ["signal", "backup"] },
      { kind: "limits", subflows: 2, addAddrAccepted: 1 },
    ];
    expect(bootPartText(records)).toBe(
      "link dev=eno1 state=up\naddress dev=eno1 cidr=10.0.0.2/24\nroute family=6 table=202 dst=default dev=eno2\n" +
        "endpoint address=fd00::1 port=5201 dev=eno2 flags=signal,backup\nlimits subflows=2 add_addr_accepted=1\n",
    );
  });

  it("refuses a field that is not one word", () => {
    expect(() => bootPartText([{ kind: "link", dev: "eno1 up", state: "up" }])).toThrow(/refusing boot record field "dev=eno1 up"/);
  });
});

describe("persistPart", () => {
  it("installs the replay script, the boot and device units, the udev rule and enablement before the first part", () => {
    expect(summaries(persistPart(PART, LINES, hostState()))).toEqual([
      `write ${APPLY_SCRIPT_PATH}`,
      `write ${UNIT_PATH}`,
      `write ${DEVICE_UNIT_PATH}`,
      `write ${UDEV_RULE_PATH}`,
      "enable mptcp-pulumi.service at boot",
      `write ${PART} (boot replay)`,
    ]);
  });

  it("writes only the part when the replay is installed", () => {
    const state = hostState();
    state.files[APPLY_SCRIPT_PATH] = APPLY_SCRIPT;
    state.files[UNIT_PATH] = UNIT_FILE;
    state.files[DEVICE_UNIT_PATH] = DEVICE_UNIT_FILE;
    state.files[UDEV_RULE_PATH] = UDEV_RULE;
    state.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expect(summaries(persistPart(PART, LINES, state))).toEqual([`write ${PART} (boot replay)`]);
    delete state.files[UDEV_RULE_PATH];
    expect(summaries(persistPart(PART, LINES, state))).toEqual([`write ${UDEV_RULE_PATH}`, "enable mptcp-pulumi.service at boot", `write ${PART} (boot replay)`]);
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

  it("removes the part and leaves the replay to the host, which keeps it while other parts are left", () => {
    const state = applyFileChanges(hostState(), [...persistPart(PART, LINES, hostState()), ...persistPart(OTHER, LIMITS, hostState())]);
    expect(persistPart(PART, undefined, state)).toEqual([{ type: "file", action: "remove", path: PART, note: "(boot replay)" }, { type: "bootUnit", action: "removeIfUnused" }]);
  });

  it("takes the replay with the last of two parts removed in one round trip, both planned on one read", () => {
    const state = applyFileChanges(hostState(), [...persistPart(PART, LINES, hostState()), ...persistPart(OTHER, LIMITS, hostState())]);
    const ops = [...persistPart(PART, undefined, state), ...persistPart(OTHER, undefined, state)];
    // Run by the host's real functions, on a copy of the replay's files in a scratch folder.
    const root = mkdtempSync(join(tmpdir(), "replay-"));
    const moved = (path: string) => join(root, path);
    for (const path of Object.keys(state.files).filter((f) => f.startsWith(PERSIST_DIR) || f === UNIT_PATH)) {
      mkdirSync(dirname(moved(path)), { recursive: true });
      writeFileSync(moved(path), state.files[path]!);
    }
    const lines = ops.map(render).map((r) => {
      if (r.kind === "removeFile") return shellCommand(["rm", "-f", moved(r.path)]);
      if (r.kind === "call") return shellCommand([r.fn, ...r.args.map((a) => (a.startsWith("/") ? moved(a) : a))]);
      throw new Error(`unexpected ${r.kind}`);
    });
    const r = spawnSync("sh", ["-c", program(hostEnvironment(false), ["lib", "ops"], ["reload_units() { :; }", ...lines])], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(moved(PERSIST_DIR)) || existsSync(moved(UNIT_PATH))).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });

  it("removes the replay machinery with the last part", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    const changes = persistPart(PART, undefined, state);
    expect(changes).toEqual([{ type: "file", action: "remove", path: PART, note: "(boot replay)" }, { type: "bootUnit", action: "removeIfUnused" }]);
    // Decided on the host, under the lock, in case another stack added a part meanwhile.
    expect(render(changes[1]!)).toEqual({ kind: "call", fn: "boot_unit", args: ["remove-if-unused", UNIT_PATH, UNIT_LINK, PERSIST_DIR, `${PERSIST_DIR}/parts`, DEVICE_UNIT_PATH, UDEV_RULE_PATH] });
  });

  it("plans nothing to remove when there is neither part nor replay", () => {
    expect(persistPart(PART, undefined, hostState())).toEqual([]);
  });

  it("treats an empty line list like no part", () => {
    expect(persistPart(PART, [], hostState())).toEqual([]);
  });

  it("removes an earlier version's parts (ip -batch lines, IPv6 beside) when it writes the resource's", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    delete state.files[PART];
    state.files[PART.replace(/\.part$/, ".batch")] = "mptcp endpoint add 192.168.0.2 dev eno2 subflow\n";
    state.files[PART.replace(/\.part$/, ".v6.batch")] = "x\n";
    expect(partIsCurrent(PART, LINES, state)).toBe(false);
    expect(summaries(persistPart(PART, LINES, state))).toEqual([
      `remove ${PART.replace(/\.part$/, ".batch")} (an earlier version's part)`,
      `remove ${PART.replace(/\.part$/, ".v6.batch")} (an earlier version's part)`,
      `write ${PART} (boot replay)`,
    ]);
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
      { type: "file", action: "write", path: FILE, content: sysctlFileText({ "vm.swappiness": "10" }), mode: undefined, note: undefined },
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
    expect(persistSysctls("tuning", undefined, state)).toEqual([{ type: "file", action: "remove", path: FILE }]);
  });
});

describe("the device unit and the udev rule", () => {
  it("asks for the device unit by the name udev gives, and reads it unescaped nowhere (br-lan stays br-lan)", () => {
    expect(UDEV_RULE).toContain('ENV{SYSTEMD_WANTS}+="mptcp-pulumi-device@$name.service"');
    expect(DEVICE_UNIT_PATH.endsWith("/mptcp-pulumi-device@.service")).toBe(true);
    expect(DEVICE_UNIT_FILE).not.toContain("%I");
    expect(DEVICE_UNIT_FILE).toContain(`ExecCondition=/bin/grep -rqswF -e dev=%i ${PERSIST_DIR}/parts`);
  });

  it("runs after the boot unit, and again at each appearance (not RemainAfterExit)", () => {
    expect(DEVICE_UNIT_FILE).toContain("After=mptcp-pulumi.service\n");
    expect(DEVICE_UNIT_FILE).not.toContain("RemainAfterExit");
  });

  it("runs the replay as the boot unit does", () => {
    const start = (unit: string) => unit.split("\n").find((l: string) => l.startsWith("ExecStart="));
    expect(start(DEVICE_UNIT_FILE)).toBe(start(UNIT_FILE));
    expect(start(UNIT_FILE)).toBe(`ExecStart=/bin/sh ${APPLY_SCRIPT_PATH} /run/mptcp-pulumi ${PERSIST_DIR}/parts 60`);
  });

  it("skips a device no part names; a dot in a name is a dot (eno1x100 is not eno1.100)", () => {
    const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-parts-"));
    writeFileSync(join(dir, "40-endpoint.part"), "endpoint address=10.0.0.2 dev=eno1.100 flags=subflow\n");
    const condition = (dev: string) => {
      const line = DEVICE_UNIT_FILE.split("\n").find((l) => l.startsWith("ExecCondition="))!.slice("ExecCondition=".length);
      return spawnSync("sh", ["-c", line.replaceAll("%i", dev).replace(`${PERSIST_DIR}/parts`, dir)]).status;
    };
    // eno1 matches too (a word ends at the dot): one replay too many, which changes nothing.
    expect([condition("eno1.100"), condition("eno1x100"), condition("eno2"), condition("eno")]).toEqual([0, 1, 1, 1]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("IPv4 and IPv6 in one part", () => {
  const TABLE = bootPartPath(BOOT_ORDER.route, "table-202");
  const RECORDS: PartRecord[] = [
    { kind: "route", family: 6, table: 202, dst: "default", dev: "eno2" },
    { kind: "rule", family: 6, table: 202, from: "fd00:2::2", priority: 1202 },
    { kind: "rule", family: 4, table: 202, from: "192.168.0.2", priority: 1002 },
  ];

  it("says each record's family", () => {
    expect(bootPartText(RECORDS)).toBe("route family=6 table=202 dst=default dev=eno2\nrule family=6 table=202 from=fd00:2::2 priority=1202\nrule family=4 table=202 from=192.168.0.2 priority=1002\n");
    const state = applyFileChanges(hostState(), persistPart(TABLE, RECORDS, hostState()));
    expect(partIsCurrent(TABLE, RECORDS, state)).toBe(true);
  });
});
