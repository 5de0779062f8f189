import { describe, it } from "vitest";
import type { HostState } from "../../../provider/state/types";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

function withRoutes(...routes: HostState["routes"]): HostState {
  const state = hostState();
  state.routes.push(...routes);
  return state;
}

describe("route operations", () => {
  it("adds an IPv6 default route without a gateway under ip -6, and is undone by deleting it", () => {
    expectOperation({ type: "route", action: "replace", family: 6, table: 202, route: { dst: "default", dev: "eno2" } }, hostState(), {
      render: { kind: "ip", family: 6, args: ["route", "replace", "default", "dev", "eno2", "table", "202"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["route", "del", "default", "table", "202"] }],
    });
  });

  it("restores the IPv6 route it replaced (the kernel's default metric 1024), not the IPv4 one of the same table", () => {
    const before = withRoutes(
      { family: 6, table: 202, dst: "default", via: "fd00:2::1", dev: "eno2", metric: 1024 },
      { table: 202, dst: "default", via: "192.168.0.1", dev: "eno2" },
    );
    expectOperation({ type: "route", action: "replace", family: 6, table: 202, route: { dst: "default", via: "fd00:2::9", dev: "eno2" } }, before, {
      render: { kind: "ip", family: 6, args: ["route", "replace", "default", "via", "fd00:2::9", "dev", "eno2", "table", "202"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 6, args: ["route", "replace", "default", "via", "fd00:2::1", "dev", "eno2", "metric", "1024", "table", "202"] }],
    });
  });

  it("deletes an IPv4 route and is undone by putting it back as it was", () => {
    const before = withRoutes({ table: 112, dst: "192.168.0.0/24", dev: "eno2", scope: "link" });
    expectOperation({ type: "route", action: "del", family: 4, table: 112, route: { dst: "192.168.0.0/24", dev: "eno2" } }, before, {
      render: { kind: "ip", family: 4, args: ["route", "del", "192.168.0.0/24", "dev", "eno2", "table", "112"] },
      mayCut: true,
      inverse: [{ kind: "ip", family: 4, args: ["route", "replace", "192.168.0.0/24", "dev", "eno2", "scope", "link", "table", "112"] }],
    });
  });

  it("has no inverse for deleting a route the host did not have", () => {
    expectOperation({ type: "route", action: "del", family: 6, table: 9, route: { dst: "fd00:9::/64" } }, hostState(), {
      render: { kind: "ip", family: 6, args: ["route", "del", "fd00:9::/64", "table", "9"] },
      mayCut: true,
      inverse: [],
    });
  });
});
