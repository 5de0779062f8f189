import { describe, expect, it } from "vitest";
import { IFUPDOWN_HOOK, ifupdownKeeper } from "../../../provider/keepers/ifupdown";
import { APPLY_SCRIPT_PATH } from "../../../provider/hostpaths";
import { hostState } from "../../support/fixtures";
import { runIsolated } from "../../support/hostRun";

describe("the ifupdown keeper", () => {
  const request = { iface: "eno2", declared: ["192.168.0.2/24", "fd00:2::2/64"], owned: ["fd00:2::2/64"], released: [], persist: true, property: (i: number) => `addresses[${i}]` };

  it("replays only the addresses the stack added: ifup adds its own and fails when one is already there", () => {
    const keeping = ifupdownKeeper.addresses(request, hostState(), undefined);
    expect(keeping.records).toEqual([{ kind: "address", dev: "eno2", cidr: "fd00:2::2/64" }]);
    expect(keeping.refusals).toEqual([]);
  });

  describe("its if-up.d hook", () => {
    // The replay program in a private /etc: one that fails, as a replay with a route on a link still down does.
    const setup = `mount -t tmpfs none /etc && mkdir -p ${APPLY_SCRIPT_PATH.replace(/\/[^/]+$/, "")} && printf 'echo replayed "$@"; exit 3\\n' > ${APPLY_SCRIPT_PATH}`;
    const hook = (mode: string) => runIsolated(`MODE=${mode} IFACE=eno1; export MODE IFACE\n${IFUPDOWN_HOOK}`, { setup });

    it("runs the replay after ifup, and never fails ifup (a failed hook fails networking.service)", () => {
      const r = hook("start");
      expect(r.stdout).toContain("replayed /run/mptcp-pulumi");
      expect(r.stderr).toContain("mptcp-pulumi: the replay after ifup eno1 did not finish (above); ifup goes on");
      expect(r.status).toBe(0);
    });

    it("does nothing at ifdown", () => {
      expect(hook("stop")).toMatchObject({ status: 0, stdout: "" });
    });
  });
});
