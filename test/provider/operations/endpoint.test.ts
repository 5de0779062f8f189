import { describe, expect, it } from "vitest";
import { render } from "../../../provider/operations";
import type { HostState } from "../../../provider/state/types";
import { hostState } from "../../support/fixtures";
import { hostProgram, runIsolated } from "../../support/hostRun";
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

  it("deletes by address with the host's function, the values as arguments", () => {
    expect(render({ type: "endpoint", action: "deleteByAddress", address: "fd00:2::1", port: 5201 })).toEqual({ kind: "call", fn: "endpoint_delete_at", args: ["fd00:2::1", "5201"] });
    // The function finds the ids in the kernel's list: the one at that address and port only.
    const r = runIsolated(hostProgram(["lib", "ops"], ['endpoint_delete_at fd00:2::1 5201 || exit 1', "ip mptcp endpoint show"]), {
      setup: "ip -6 addr add fd00:2::1/64 dev lo nodad && ip mptcp endpoint add fd00:2::1 port 5201 id 7 signal && ip mptcp endpoint add fd00:2::1 id 8 signal && ip mptcp endpoint add 192.168.0.1 id 1 signal",
    });
    expect(r.stdout.split("\n").filter(Boolean).map((l) => l.trim()).sort()).toEqual(["192.168.0.1 id 1 signal", "fd00:2::1 id 8 signal"]);
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
