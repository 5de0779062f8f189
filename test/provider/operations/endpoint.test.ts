import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { render } from "../../../provider/operations";
import type { HostState } from "../../../provider/state/types";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

function withEndpoints(...endpoints: HostState["endpoints"]): HostState {
  const state = hostState();
  state.endpoints = endpoints;
  return state;
}

describe("endpoint operations", () => {
  it("adds an IPv6 subflow endpoint, never cuts the session, and is undone by deleting it by address", () => {
    const op = { type: "endpoint", action: "add", endpoint: { address: "fd00:2::2", dev: "eno2", flags: ["subflow"] } } as const;
    expectOperation(op, withEndpoints(), {
      render: { kind: "ip", args: ["mptcp", "endpoint", "add", "fd00:2::2", "dev", "eno2", "subflow"] },
      mayCut: false,
      inverse: [render({ type: "endpoint", action: "deleteByAddress", address: "fd00:2::2" })],
    });
  });

  it("deletes by address with the values as arguments, never in the script text", () => {
    const r = render({ type: "endpoint", action: "deleteByAddress", address: "fd00:2::1", port: 5201 });
    expect(r.kind).toBe("exec");
    if (r.kind !== "exec") return;
    expect(r.argv.slice(-2)).toEqual(["fd00:2::1", "5201"]);
    expect(r.argv[2]).not.toContain("fd00");
    // The script finds the id in `ip mptcp endpoint show` text: check its awk on real output.
    const show = "fd00:2::1 port 5201 id 7 signal dev eno2 \nfd00:2::1 id 8 signal dev eno2 \n192.168.0.1 id 1 signal dev eno2 \n";
    const awk = r.argv[2]!.slice(r.argv[2]!.indexOf("awk"), r.argv[2]!.lastIndexOf("|"));
    const run = spawnSync("sh", ["-c", `printf '%s' "$3" | ${awk}`, "sh", "fd00:2::1", "5201", show], { encoding: "utf8" });
    expect(run.stdout).toBe("7\n");
  });

  it("deletes by id and is undone by adding the endpoint back with its id and flags", () => {
    const before = withEndpoints({ id: 3, address: "fd00:2::1", dev: "eno2", flags: ["implicit", "signal"] });
    expectOperation({ type: "endpoint", action: "delete", id: 3 }, before, {
      render: { kind: "ip", args: ["mptcp", "endpoint", "delete", "id", "3"] },
      mayCut: false,
      inverse: [{ kind: "ip", args: ["mptcp", "endpoint", "add", "fd00:2::1", "id", "3", "dev", "eno2", "signal"] }],
    });
  });

  it("flips backup in place and is undone by flipping it back", () => {
    const before = withEndpoints({ id: 1, address: "192.168.0.2", dev: "eno2", flags: ["subflow"] });
    expectOperation({ type: "endpoint", action: "change", id: 1, flags: { backup: true } }, before, {
      render: { kind: "ip", args: ["mptcp", "endpoint", "change", "id", "1", "backup"] },
      mayCut: false,
      inverse: [{ kind: "ip", args: ["mptcp", "endpoint", "change", "id", "1", "nobackup"] }],
    });
  });
});
