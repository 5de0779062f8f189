/**
 * The engine (resource.ts: plan, apply, undo, re-plan, adopt) against a real host: a namespace
 * running the provider's own host programs (test/support/nsHost.ts), no SSH.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../provider/connection";
import { ProviderContext } from "../../../provider/context";
import { MARK } from "../../../provider/protocol";
import { dynamicProviderFor } from "../../../provider/resource";
import { endpointDefinition } from "../../../provider/resources/endpoint";
import { policyRouteDefinition } from "../../../provider/resources/policyRoute";
import { HostError } from "../../../provider/errors";
import type { Operation } from "../../../provider/operations";
import { HostSession } from "../../../provider/state/session";
import { NamespaceHost } from "../../support/nsHost";

let host: NamespaceHost;
let session: HostSession<NamespaceHost>;
const connection = connectionSchema.parse({ host: "192.0.2.10" });

/** A provider of `def` whose every session is the namespace host's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function providerOf(def: Parameters<typeof dynamicProviderFor<any, any>>[0]) {
  const context = new ProviderContext(process.cwd());
  context.sessionFor = () => session as unknown as HostSession;
  return dynamicProviderFor(def, context);
}

/** The apply scripts the provider sent (the reads carry no change set). */
const applies = () => host.scripts.filter((s) => s.includes("begin_change "));

beforeAll(async () => {
  host = await NamespaceHost.start();
  host.sh("ip addr add 10.0.0.2/24 dev eno1");
});
afterAll(() => host.stop());
beforeEach(() => {
  host.sh("ip mptcp endpoint flush");
  session = new HostSession(host);
  host.scripts.length = 0;
  host.intercept = undefined;
});

describe("a change set that fails half-way", () => {
  const table = { connection, table: 101, persist: false, rules: [{ from: "10.0.0.2", priority: 1001 }], routes: [{ dst: "10.0.0.0/24", dev: "eno1", scope: "link" }] };

  it("is undone: the host ends as it was, and the error names the step, the kernel's reason and the undo", async () => {
    const provider = providerOf(policyRouteDefinition);
    const { outs } = await provider.create!(table);
    const before = host.sh("ip -N route show table 101; ip -N rule show");
    session = new HostSession(host);
    // The old route goes (not declared), a new one goes in, then the kernel refuses a gateway off every link.
    const update = { ...table, routes: [{ dst: "10.5.0.0/24", dev: "eno1", scope: "link" }, { dst: "10.6.0.0/24", via: "10.77.0.1", dev: "eno1" }] };
    const error = (await provider.update!("id", outs, update).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/10\.6\.0\.0\/24 via 10\.77\.0\.1/);
    expect(error.message).toMatch(/invalid gateway|Nexthop/i);
    expect(error.message).toContain("Those changes were undone, so the host is as it was before");
    expect(host.sh("ip -N route show table 101; ip -N rule show")).toBe(before);
  });
});

describe("a host that changed between the read and the lock", () => {
  it("is read and planned again, and the change set applies to what the host holds now", async () => {
    const provider = providerOf(endpointDefinition);
    await session.state();
    // Someone adds their own endpoint on the address after the provider read the host.
    host.sh("ip mptcp endpoint add 10.0.0.2 dev eno1 signal");
    await provider.create!({ connection, address: "10.0.0.2", dev: "eno1", flags: ["subflow"] });
    expect(host.sh("ip mptcp endpoint show")).toMatch(/^10\.0\.0\.2 id \d+ subflow dev eno1\s*$/);
    // The first attempt was refused under the lock (nothing applied), the second applied.
    expect(applies()).toHaveLength(2);
  });
});

describe("an object already on the host", () => {
  it("is adopted without a change set", async () => {
    host.sh("ip mptcp endpoint add 10.0.0.2 dev eno1 subflow");
    const provider = providerOf(endpointDefinition);
    const { outs } = await provider.create!({ connection, address: "10.0.0.2", dev: "eno1", flags: ["subflow"] });
    expect(outs).toMatchObject({ address: "10.0.0.2", flags: ["subflow"] });
    expect(applies()).toEqual([]);
  });
});

describe("commit-confirmed (a change that may cut the session)", () => {
  const add: Operation[] = [{ type: "address", action: "add", family: 4, cidr: "10.9.0.2/24", dev: "eno2" }];
  /** The confirm program (its main line), not the library text every program carries. */
  const isConfirm = (script: string) => /^confirm '?[a-z0-9-]+'?$/m.test(script);
  const addresses = () => host.sh("ip -br addr show dev eno2");

  it("confirms, and the timer is gone", async () => {
    session = new HostSession(host, 3);
    await session.apply(add, "add an address", await session.state());
    expect(addresses()).toContain("10.9.0.2/24");
    await new Promise((r) => setTimeout(r, 4000));
    expect(addresses()).toContain("10.9.0.2/24");
    host.sh("ip addr del 10.9.0.2/24 dev eno2");
  }, 20_000);

  it("rolls back by itself when the confirm cannot reach the host", async () => {
    session = new HostSession(host, 2);
    host.intercept = (script) => (isConfirm(script) ? new HostError({ reason: "command", host: "namespace-host", operation: "confirm", exitCode: 255, stderr: "Connection closed" }) : undefined);
    const error = (await session.apply(add, "add an address", await session.state()).catch((e: unknown) => e)) as { reason?: string };
    expect(error.reason).toBe("rollbackPending");
    expect(addresses()).toContain("10.9.0.2/24");
    await new Promise((r) => setTimeout(r, 3500));
    expect(addresses()).not.toContain("10.9.0.2/24");
  }, 20_000);

  it("reports the rollback when the timer fired before the confirm", async () => {
    session = new HostSession(host, 2);
    host.intercept = (script) => (isConfirm(script) ? { stdout: `${MARK} expired\n`, stderr: "" } : undefined);
    const error = (await session.apply(add, "add an address", await session.state()).catch((e: unknown) => e)) as { reason?: string };
    expect(error.reason).toBe("rolledBack");
    await new Promise((r) => setTimeout(r, 3000));
    expect(addresses()).not.toContain("10.9.0.2/24");
  }, 20_000);
});
