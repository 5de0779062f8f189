/**
 * The boot replay (provider/host/replay.sh as installed: APPLY_SCRIPT) run for real with the real
 * ip, in namespaces of its own, on parts in a temporary folder: idempotent on a configured host,
 * repairing what differs, and failing loudly, naming the part, on a real conflict.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RUN_DIR } from "../../../provider/hostpaths";
import { APPLY_SCRIPT, bootPartText, type PartRecord } from "../../../provider/keepers/kernel";
import { hostProgram, runIsolated, scratch, type Scratch } from "../../support/hostRun";

const SHOW = "ip rule; ip -6 rule; ip route show table all | grep -v '^local\\|^broadcast'; ip -6 route show table all | grep -v '^local\\|^multicast\\|^fe80'; ip -br addr show dev lo; ip mptcp endpoint; ip mptcp limits";

let tmp: Scratch;
beforeEach(() => (tmp = scratch()));
afterEach(() => tmp.remove());

/** Writes parts (name -> records) into the scratch folder. */
function parts(all: Record<string, readonly PartRecord[]>): void {
  for (const [name, records] of Object.entries(all)) writeFileSync(join(tmp.dir, name), bootPartText(records));
}

/** Runs `setup`, then the replay `times` times; each run's status and what the kernel then shows. */
function replay(times: number, setup = ":"): { runs: Array<{ status: string; state: string }>; stderr: string } {
  writeFileSync(join(tmp.dir, "apply.sh"), APPLY_SCRIPT);
  const once = `sh ${tmp.dir}/apply.sh ${RUN_DIR} ${tmp.dir} 5; echo "status $?"; { ${SHOW}; } 2>&1; echo ===`;
  const r = runIsolated(Array(times).fill(once).join("\n"), { setup });
  const runs = r.stdout.split("===\n").slice(0, times).map((chunk) => {
    const [status = "", ...state] = chunk.split("\n");
    return { status, state: state.join("\n") };
  });
  return { runs, stderr: r.stderr };
}

const LO: Record<string, PartRecord[]> = {
  "10-limits.part": [{ kind: "limits", subflows: 2, addAddrAccepted: 2 }],
  "20-lo.part": [
    { kind: "link", dev: "lo", state: "up" },
    { kind: "address", dev: "lo", cidr: "10.9.0.1/24" },
    { kind: "address", dev: "lo", cidr: "fd00:9::1/64" },
  ],
  "30-table-101.part": [
    { kind: "route", family: 4, table: 101, dst: "10.9.0.0/24", dev: "lo" },
    { kind: "route", family: 6, table: 101, dst: "fd00:9::/64", dev: "lo" },
    { kind: "rule", family: 4, table: 101, priority: 100, from: "10.9.0.1" },
    { kind: "rule", family: 6, table: 101, priority: 100, from: "fd00:9::1" },
    // Without a priority: the kernel picks one each time a rule is added.
    { kind: "rule", family: 4, table: 101, from: "10.9.0.0/24" },
    { kind: "rule", family: 6, table: 101, from: "fd00:9::/64" },
  ],
  "40-endpoints.part": [
    { kind: "endpoint", address: "10.9.0.1", id: 3, dev: "lo", flags: ["subflow"] },
    { kind: "endpoint", address: "fd00:9::1", id: 4, dev: "lo", flags: ["signal"] },
  ],
};

describe("the boot replay", () => {
  it("puts everything back, and four runs later the host is exactly as after the first: no rule added twice", () => {
    parts(LO);
    const { runs, stderr } = replay(4);
    expect(runs.map((r) => r.status), stderr).toEqual(["status 0", "status 0", "status 0", "status 0"]);
    expect(runs[0]!.state).toContain("100:\tfrom 10.9.0.1 lookup 101");
    expect(runs[0]!.state).toContain("from 10.9.0.0/24 lookup 101");
    expect(runs[0]!.state).toContain("from fd00:9::/64 lookup 101");
    expect(runs[0]!.state).toContain("10.9.0.1 id 3 subflow dev lo");
    expect(runs[0]!.state).toContain("add_addr_accepted 2 subflows 2");
    expect(runs[3]!.state).toBe(runs[0]!.state);
    expect(runs[3]!.state.match(/from 10\.9\.0\.0\/24 lookup 101/g)).toHaveLength(1);
  });

  it("adds a rule whose selector differs in a field the kernel stores (a rule with a fwmark is another rule)", () => {
    parts({ "30-table-102.part": [{ kind: "rule", family: 4, table: 102, from: "10.9.0.1" }] });
    const { runs } = replay(1, "ip rule add from 10.9.0.1 fwmark 0x1 table 102");
    expect(runs[0]!.state.match(/from 10\.9\.0\.1 .*lookup 102/g)?.sort()).toEqual(["from 10.9.0.1 fwmark 0x1 lookup 102", "from 10.9.0.1 lookup 102"]);
  });

  it("replaces an endpoint a re-created NIC left on a dead ifindex, and one mptcpd added without our flags", () => {
    parts({
      "40-endpoints.part": [
        { kind: "endpoint", address: "10.9.1.1", dev: "d0", flags: ["subflow"] },
        { kind: "endpoint", address: "10.9.1.2", dev: "d0", flags: ["signal"] },
        { kind: "endpoint", address: "10.9.1.3", id: 7, dev: "d0", flags: ["backup", "subflow"] },
      ],
    });
    const nic = "ip link add d0 type veth peer name d1";
    const setup = `${nic} && ip mptcp endpoint add 10.9.1.1 dev d0 subflow && ip mptcp endpoint add 10.9.1.3 id 3 dev d0 subflow backup && ip link del d0 && ${nic} && ip mptcp endpoint add 10.9.1.2 id 9 dev d0`;
    const { runs, stderr } = replay(2, setup);
    const words = (state: string) => state.split("\n").filter((l) => l.startsWith("10.9.1.")).map((l) => l.replace(/ id \d+/, "").trim()).sort();
    expect(runs[0]!.status, stderr).toBe("status 0");
    expect(words(runs[0]!.state)).toEqual(["10.9.1.1 subflow dev d0", "10.9.1.2 signal dev d0", "10.9.1.3 subflow backup dev d0"]);
    expect(runs[0]!.state).toContain("10.9.1.3 id 7 ");
    expect(runs[1]!.state).toBe(runs[0]!.state);
  });

  it("counts an endpoint someone else added after its look (mptcpd at boot) as already there", () => {
    // A stand-in ip that lists no endpoints: the replay adds one that exists, and the kernel
    // refuses it with EEXIST, as when mptcpd won the race.
    parts({ "40-endpoint.part": [{ kind: "endpoint", address: "10.9.0.8", dev: "lo", flags: ["subflow"] }] });
    const real = spawnSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(tmp.dir, "ip"), `#!/bin/sh\n[ "$*" = "mptcp endpoint show" ] && exit 0\nexec ${real} "$@"\n`, { mode: 0o755 });
    const { runs, stderr } = replay(2, `export PATH=${tmp.dir}:$PATH`);
    expect(runs.map((r) => r.status), stderr).toEqual(["status 0", "status 0"]);
  });

  it("fails, naming the part, the record and ip's reason, when a device a part names does not exist", () => {
    parts({ "40-endpoint.part": [{ kind: "endpoint", address: "10.9.1.1", dev: "nosuch", flags: ["subflow"] }] });
    const { runs, stderr } = replay(1);
    expect(runs[0]!.status).toBe("status 1");
    expect(stderr).toMatch(/mptcp-pulumi: .*40-endpoint\.part: endpoint address=10\.9\.1\.1 dev=nosuch flags=subflow: .*nosuch/);
  });

  it("still fails on a real conflict: an endpoint id taken by another address", () => {
    parts({ "40-endpoint.part": [{ kind: "endpoint", address: "10.9.0.7", id: 3, dev: "lo", flags: ["subflow"] }] });
    const { runs } = replay(1, "ip mptcp endpoint add 10.9.0.6 id 3 dev lo subflow");
    expect(runs[0]!.status).toBe("status 1");
  });

  it("waits for the host lock a provider session or NetworkManager's hook holds", () => {
    parts(LO);
    writeFileSync(join(tmp.dir, "holder"), hostProgram(["lib"], ["take_lock 5 || exit 9", "sleep 1.5"]));
    const started = Date.now();
    const { runs } = replay(1, `sh ${tmp.dir}/holder >/dev/null 2>&1 & sleep 0.3`);
    expect(runs[0]!.status).toBe("status 0");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });
});
