import { describe, it } from "vitest";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

describe("sysctl operations", () => {
  it("writes rp_filter, which may cut the session, and restores the old value", () => {
    expectOperation({ type: "sysctl", key: "net.ipv4.conf.all.rp_filter", value: "2" }, hostState(), {
      render: { kind: "exec", argv: ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=2"] },
      mayCut: true,
      inverse: [{ kind: "exec", argv: ["sysctl", "-q", "-w", `net.ipv4.conf.all.rp_filter=${hostState().sysctls["net.ipv4.conf.all.rp_filter"]}`] }],
    });
  });

  it("writes a buffer size, which cannot cut the session", () => {
    expectOperation({ type: "sysctl", key: "net.ipv4.tcp_rmem", value: "4096 131072 33554432" }, hostState(), {
      render: { kind: "exec", argv: ["sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 131072 33554432"] },
      mayCut: false,
      inverse: [{ kind: "exec", argv: ["sysctl", "-q", "-w", `net.ipv4.tcp_rmem=${hostState().sysctls["net.ipv4.tcp_rmem"]}`] }],
    });
  });

  it("has no inverse for a key the host did not have", () => {
    expectOperation({ type: "sysctl", key: "net.mptcp.nothing", value: "1" }, hostState(), {
      render: { kind: "exec", argv: ["sysctl", "-q", "-w", "net.mptcp.nothing=1"] },
      mayCut: false,
      inverse: [],
    });
  });
});
