/**
 * Every program the provider generates for a host passes shellcheck (Debian's) as it is sent:
 * the library with each kind of step, the read, the confirm, the rollback, the installed replay
 * and NetworkManager's hook.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { IFUPDOWN_HOOK } from "../../../provider/keepers/ifupdown";
import { APPLY_SCRIPT } from "../../../provider/keepers/kernel";
import { NM_HOOK } from "../../../provider/keepers/networkmanager";
import type { Operation } from "../../../provider/operations";
import { applyScript, confirmScript, readScript, rollbackProgram } from "../../../provider/protocol";

const STEPS: Operation[] = [
  { type: "limits", limits: { subflows: 2, addAddrAccepted: 2 } },
  { type: "rule", action: "add", family: 6, table: 202, rule: { from: "fd00::1", priority: 1202, fwmark: "0x1", iif: "eno2", family: 6 } },
  { type: "sysctl", key: "net.ipv4.tcp_rmem", value: "4096 131072 33554432" },
  { type: "file", action: "write", path: "/etc/mptcp-pulumi/parts/10-limits.part", content: "limits subflows=2 add_addr_accepted=2\n" },
  { type: "file", action: "remove", path: "/etc/sysctl.d/90-mptcp-pulumi-x.conf" },
  { type: "endpoint", action: "deleteByAddress", address: "192.168.0.2" },
  { type: "bootUnit", action: "removeIfUnused" },
  { type: "managerConfig", manager: "networkd", iface: "eno2", path: "/etc/systemd/network/50-eno2.network.d/90-mptcp-pulumi-table-102.conf", content: "[Route]\nTable=102\n", expect: { table: 102, rules: 1, routes: 1 } },
  { type: "nm", device: "eno2", uuid: "cfa71a41-f49d-3e5f-a3a0-613c55d9addb", connectionId: "eno2", set: { "ipv4.routes": "192.168.0.0/24 table=102" } },
];

function shellcheck(text: string): { status: number; output: string } {
  const r = spawnSync("shellcheck", ["-s", "sh", "-"], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`shellcheck could not run (apt-get install shellcheck): ${r.error.message}`);
  return { status: r.status ?? -1, output: r.stdout };
}

describe("the programs the provider sends or installs pass shellcheck", () => {
  it.each([
    ["a change set with every kind of step, armed, with preconditions", applyScript(STEPS, { arming: { token: "t-1", seconds: 120, undo: STEPS }, expect: { mptcp: "1", rules: "2" }, sudo: true })],
    ["the read", readScript(["vm.swappiness"], false)],
    ["the confirm", confirmScript("t-1", true)],
    ["a rollback", rollbackProgram(STEPS, true)],
    ["the installed boot replay", APPLY_SCRIPT],
    ["NetworkManager's dispatcher hook", NM_HOOK],
    ["ifupdown's if-up.d hook", IFUPDOWN_HOOK],
  ])("%s", (_name, text) => {
    const { status, output } = shellcheck(text);
    expect(output).toBe("");
    expect(status).toBe(0);
  });
});
