import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  APPLY_SCRIPT,
  APPLY_SCRIPT_PATH,
  BOOT_ORDER,
  bootPartPath,
  bootPartText,
  DEVICE_UNIT_FILE,
  partIsCurrent,
  persistPart,
  persistSysctls,
  sysctlFilePath,
  sysctlFileText,
  UDEV_RULE,
  UNIT_FILE,
  UNIT_LINK,
  UNIT_PATH,
} from "../../provider/persist";
import { DEVICE_UNIT_PATH, PERSIST_DIR, UDEV_RULE_PATH } from "../../provider/hostpaths";
import { runWhileLocked } from "../support/hostLock";
import { describe as describeOp, render, type Operation } from "../../provider/operations";
import { addressOp } from "../../provider/operations/address";
import { applyFileChanges, hostState, writtenContent } from "../support/fixtures";

const LINES: Operation[] = [{ type: "endpoint", action: "add", endpoint: { address: "192.168.0.2", dev: "eno2", flags: ["subflow"] } }];
const LIMITS: Operation[] = [{ type: "limits", limits: { subflows: 2, addAddrAccepted: 0 } }];
const PART = bootPartPath(BOOT_ORDER.endpoint, "endpoint-192.168.0.2");
const OTHER = bootPartPath(BOOT_ORDER.limits, "limits");

const summaries = (changes: ReturnType<typeof persistPart>) => changes.map(describeOp);

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
  it("writes one ip -batch line per operation", () => {
    expect(bootPartText([{ type: "link", dev: "eno1", up: true }, addressOp("replace", "10.0.0.2/24", "eno1")])).toBe(
      "link set dev eno1 up\naddress replace 10.0.0.2/24 dev eno1\n",
    );
  });

  it("refuses a word that cannot stand in a batch line", () => {
    expect(() => bootPartText([{ type: "link", dev: "eno1 up", up: true }])).toThrow(/refusing ip -batch word/);
  });

  it("refuses an operation that is not an ip line", () => {
    expect(() => bootPartText([{ type: "sysctl", key: "net.mptcp.enabled", value: "1" }])).toThrow(/ip lines only/);
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

  it("removes the part and keeps the replay while other parts are left", () => {
    const state = applyFileChanges(hostState(), [...persistPart(PART, LINES, hostState()), ...persistPart(OTHER, LIMITS, hostState())]);
    expect(summaries(persistPart(PART, undefined, state))).toEqual([`remove ${PART} (boot replay)`]);
  });

  it("removes the replay machinery with the last part", () => {
    const state = applyFileChanges(hostState(), persistPart(PART, LINES, hostState()));
    const changes = persistPart(PART, undefined, state);
    expect(changes).toEqual([{ type: "file", action: "remove", path: PART, note: "(boot replay)" }, { type: "bootUnit", action: "removeIfUnused" }]);
    // Decided on the host, under the lock, in case another stack added a part meanwhile.
    const removal = render(changes[1]!);
    expect(removal.kind === "exec" && removal.argv[2]).toMatch(/; if \[ -z "\$\(ls -A "\$4".*as_root rm -rf "\$3"/);
    expect(removal.kind === "exec" && removal.argv[2]).toContain('as_root rm -f "$2" "$1" "$5" "$6"');
    expect(removal.kind === "exec" && removal.argv.slice(-4)).toEqual([PERSIST_DIR, `${PERSIST_DIR}/parts`, DEVICE_UNIT_PATH, UDEV_RULE_PATH]);
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
      { type: "file", action: "write", path: FILE, content: sysctlFileText({ "vm.swappiness": "10" }) },
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

describe("APPLY_SCRIPT", () => {
  it("replays every part with -force so one stale line does not stop the rest", () => {
    expect(APPLY_SCRIPT).toContain(`for part in ${PERSIST_DIR}/parts/*.batch`);
    expect(APPLY_SCRIPT).toContain("ip $family -force -batch - 2>&1");
  });

  // Runs the real script with the real ip in a network namespace of its own (unshare -rn: no
  // root needed), on parts in a temporary folder instead of /etc/mptcp-pulumi/parts.
  describe("run twice in a fresh network namespace", () => {
    const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-parts-"));
    const parts: Record<string, string> = {
      "10-limits.batch": "mptcp limits set subflows 2 add_addr_accepted 2\n",
      "20-lo.batch": "link set dev lo up\naddress add 10.9.0.1/24 dev lo\n",
      "20-lo.v6.batch": "address add fd00:9::1/64 dev lo\n",
      "30-table-101.batch": "route replace 10.9.0.0/24 dev lo table 101\nrule add priority 100 from 10.9.0.1 table 101\n",
      "30-table-101.v6.batch": "route replace fd00:9::/64 dev lo table 101\nrule add priority 100 from fd00:9::1 table 101\n",
      "40-endpoints.batch": "mptcp endpoint add 10.9.0.1 id 3 dev lo subflow\nmptcp endpoint add fd00:9::1 id 4 dev lo signal\n",
    };
    for (const [name, text] of Object.entries(parts)) writeFileSync(join(dir, name), text);
    const script = APPLY_SCRIPT.replace(`${PERSIST_DIR}/parts`, dir);
    const show = "ip rule; ip -6 rule; ip route show table all; ip -6 route show table all; ip addr show dev lo; ip mptcp endpoint; ip mptcp limits";
    const run = () =>
      spawnSync("unshare", ["-rn", "sh", "-c", `sh -c "$1"; a=$?; { ${show}; } > "$2/1"; sh -c "$1"; b=$?; { ${show}; } > "$2/2"; echo "$a $b"`, "sh", script, dir], { encoding: "utf8" });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("succeeds both times and the second run changes nothing", () => {
      const result = run();
      expect(result.stdout.trim(), result.stderr).toBe("0 0");
      expect(readFileSync(join(dir, "2"), "utf8")).toBe(readFileSync(join(dir, "1"), "utf8"));
      expect(readFileSync(join(dir, "2"), "utf8")).toContain("10.9.0.1 id 3 subflow dev lo");
    });

    it("still fails, naming the part and the kernel's reason, on a real conflict (an endpoint id taken by another address)", () => {
      writeFileSync(join(dir, "50-conflict.batch"), "mptcp endpoint add 10.9.0.7 id 3 dev lo subflow\n");
      const result = run();
      expect(result.stdout.trim()).toBe("1 1");
      expect(result.stderr).toContain(`mptcp-pulumi: ${dir}/50-conflict.batch: Error:`);
      rmSync(join(dir, "50-conflict.batch"));
    });

  });

  // The real script and ip in a namespace of its own, after `setup`; prints each run's status and the endpoints after it.
  function runAfter(setup: string, part: string): { runs: string[]; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-parts-"));
    writeFileSync(join(dir, "40-endpoint.batch"), part);
    const script = APPLY_SCRIPT.replace(`${PERSIST_DIR}/parts`, dir);
    const r = spawnSync("unshare", ["-rn", "sh", "-c", `${setup}; for i in 1 2; do sh -c "$1"; echo "status $?"; ip mptcp endpoint show; echo "--"; done`, "sh", script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    return { runs: r.stdout.split("--\n").slice(0, 2), stderr: r.stderr };
  }

  it("replaces an endpoint a re-created NIC left on a dead ifindex, and one mptcpd added without our flags; a second run changes nothing", () => {
    const nic = "ip link add d0 type veth peer name d1";
    const setup = `${nic}; ip mptcp endpoint add 10.9.1.1 dev d0 subflow; ip mptcp endpoint add 10.9.1.3 id 3 dev d0 subflow backup; ip link del d0; ${nic}; ip mptcp endpoint add 10.9.1.2 id 9 dev d0`;
    const { runs, stderr } = runAfter(setup, "mptcp endpoint add 10.9.1.1 dev d0 subflow\nmptcp endpoint add 10.9.1.2 dev d0 signal\nmptcp endpoint add 10.9.1.3 id 7 dev d0 backup subflow\n");
    const words = (run: string) => run.split("\n").filter((l) => l.startsWith("10.9.")).map((l) => l.replace(/ id \d+/, "").trim()).sort();
    expect(runs[0]!.split("\n")[0], stderr).toBe("status 0");
    expect(words(runs[0]!)).toEqual(["10.9.1.1 subflow dev d0", "10.9.1.2 signal dev d0", "10.9.1.3 subflow backup dev d0"]);
    expect(runs[0]).toContain("10.9.1.3 id 7 ");
    expect(runs[1]).toBe(runs[0]);
  });

  it("counts an endpoint added by someone else after its look (mptcpd at boot) as already there", () => {
    // A stand-in ip that lists no endpoints: the script adds the same endpoint twice, and the
    // kernel refuses the second with EEXIST ("duplicate one: -17"), as when mptcpd won the race.
    const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-parts-"));
    const realIp = spawnSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(dir, "ip"), `#!/bin/sh\n[ "$*" = "mptcp endpoint show" ] && exit 0\nexec ${realIp} "$@"\n`, { mode: 0o755 });
    writeFileSync(join(dir, "40-endpoint.batch"), "mptcp endpoint add 10.9.0.8 dev lo subflow\n");
    const script = APPLY_SCRIPT.replace(`${PERSIST_DIR}/parts`, dir);
    const r = spawnSync("unshare", ["-rn", "sh", "-c", `PATH="$2:$PATH"; sh -c "$1" && sh -c "$1"; echo "status $?"; "$3" mptcp endpoint show`, "sh", script, dir, realIp], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout, r.stderr).toContain("status 0");
    expect(r.stdout).toContain("10.9.0.8 id");
  });

  it("keeps two endpoints at one address that differ in port, and changes nothing on a second run", () => {
    const { runs, stderr } = runAfter("ip link add d0 type veth peer name d1", "mptcp endpoint add 10.9.1.4 dev d0 signal\nmptcp endpoint add 10.9.1.4 port 1000 dev d0 signal\n");
    expect(runs[0]!.split("\n")[0], stderr).toBe("status 0");
    expect(runs[0]).toMatch(/10\.9\.1\.4 id \d+ signal dev d0/);
    expect(runs[0]).toMatch(/10\.9\.1\.4 port 1000 id \d+ signal dev d0/);
    expect(runs[1]).toBe(runs[0]);
  });

  it("fails, naming the part and ip's reason, when a device a part names does not exist", () => {
    const { runs, stderr } = runAfter("true", "mptcp endpoint add 10.9.1.1 dev nosuch subflow\n");
    expect(runs[0]!.split("\n")[0]).toBe("status 1");
    expect(stderr).toMatch(/mptcp-pulumi: .*40-endpoint\.batch: Error: argument "nosuch" is wrong: device does not exist/);
  });

  it("waits for the host lock, so it never adds an endpoint NetworkManager's hook or a provider session is adding", () => {
    const r = runWhileLocked(APPLY_SCRIPT, (script, dir) => script.replace(`${PERSIST_DIR}/parts`, dir));
    expect(r.status, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });

  it("replays IPv6 parts under ip -6 and the others without a family", () => {
    expect(APPLY_SCRIPT).toContain('case "$part" in *.v6.batch) family=-6 ;; *) family= ;; esac');
  });
});

describe("the device unit and the udev rule", () => {
  it("asks for the device unit by the name udev gives, and reads it unescaped nowhere (br-lan stays br-lan)", () => {
    expect(UDEV_RULE).toContain('ENV{SYSTEMD_WANTS}+="mptcp-pulumi-device@$name.service"');
    expect(DEVICE_UNIT_PATH.endsWith("/mptcp-pulumi-device@.service")).toBe(true);
    expect(DEVICE_UNIT_FILE).not.toContain("%I");
    expect(DEVICE_UNIT_FILE).toContain(`ExecCondition=/bin/grep -rqswF -e "dev %i" ${PERSIST_DIR}/parts`);
  });

  it("runs after the boot unit, and again at each appearance (not RemainAfterExit)", () => {
    expect(DEVICE_UNIT_FILE).toContain("After=mptcp-pulumi.service\n");
    expect(DEVICE_UNIT_FILE).not.toContain("RemainAfterExit");
  });

  it("skips a device no part names; a dot in a name is a dot (eno1x100 is not eno1.100)", () => {
    const dir = mkdtempSync(join(tmpdir(), "mptcp-pulumi-parts-"));
    writeFileSync(join(dir, "40-endpoint.batch"), "mptcp endpoint add 10.0.0.2 dev eno1.100 subflow\n");
    const condition = (dev: string) => {
      const line = DEVICE_UNIT_FILE.split("\n").find((l) => l.startsWith("ExecCondition="))!.slice("ExecCondition=".length);
      return spawnSync("sh", ["-c", line.replaceAll("%i", dev).replace(`${PERSIST_DIR}/parts`, dir)]).status;
    };
    // eno1 matches too (a word ends at the dot): one replay too many, which changes nothing.
    expect([condition("eno1.100"), condition("eno1x100"), condition("eno2"), condition("eno")]).toEqual([0, 1, 1, 1]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("IPv6 parts", () => {
  const TABLE = bootPartPath(BOOT_ORDER.route, "table-202");
  const V6 = TABLE.replace(/\.batch$/, ".v6.batch");
  const OPS: Operation[] = [
    { type: "route", action: "replace", family: 6, table: "202", route: { dst: "default", dev: "eno2" } },
    { type: "rule", action: "add", family: 6, from: "fd00:2::2", priority: 1202, table: 202 },
    { type: "rule", action: "add", family: 4, from: "192.168.0.2", priority: 1002, table: 202 },
  ];

  it("puts IPv6 rules and routes in a .v6.batch sibling and the rest in the part", () => {
    const changes = persistPart(TABLE, OPS, hostState());
    expect(writtenContent(changes, TABLE)).toBe("rule add priority 1002 from 192.168.0.2 table 202\n");
    expect(writtenContent(changes, V6)).toBe("route replace default dev eno2 table 202\nrule add priority 1202 from fd00:2::2 table 202\n");
  });

  it("is current only when both files are, and removes both", () => {
    const state = applyFileChanges(hostState(), persistPart(TABLE, OPS, hostState()));
    expect(partIsCurrent(TABLE, OPS, state)).toBe(true);
    delete state.files[V6];
    expect(partIsCurrent(TABLE, OPS, state)).toBe(false);
    state.files[V6] = "x\n";
    expect(persistPart(TABLE, undefined, state).flatMap((op) => (op.type === "file" ? [op.path] : []))).toEqual([TABLE, V6]);
  });
});
