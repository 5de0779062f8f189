/**
 * Every resource against the real lab over real SSH: create, read, update, delete, drift seen by
 * read, adoption of existing state, idempotence, partial failure, and the reboot replay.
 * Host state is checked with nsenter on the server, not through the provider.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { context, providers } from "../../provider/runtime";
import { connectionSchema } from "../../provider/connection";
import { HostError } from "../../provider/errors";
import type { Operation } from "../../provider/operations";
import { addressOp } from "../../provider/operations/address";
import { acceptedConnections, freshLab, lab, labConnection, onHost, tryOnHost } from "../lab/harness";

type Outs = Record<string, unknown>;

const s1 = () => ({ connection: labConnection("server1") });
const s2 = () => ({ connection: labConnection("server2") });

async function checked(kind: keyof typeof providers, inputs: Record<string, unknown>): Promise<Outs> {
  const result = await providers[kind].check!({}, inputs);
  expect(result.failures ?? []).toEqual([]);
  return result.inputs as Outs;
}

async function create(kind: keyof typeof providers, inputs: Record<string, unknown>) {
  const news = await checked(kind, inputs);
  const { id, outs } = await providers[kind].create(news);
  return { id, outs: outs as Outs, news };
}

/** A new "operation": what a fresh provider process would see. */
function nextOperation(): void {
  context.invalidateAll();
}

function endpointsOn(server: string): Array<Record<string, unknown>> {
  return JSON.parse(onHost(server, "ip", "-j", "mptcp", "endpoint", "show") || "[]") as Array<Record<string, unknown>>;
}

beforeAll(() => freshLab());
beforeEach(() => nextOperation());
afterAll(async () => {
  await context.closeAll();
});

describe("Endpoint", () => {
  it("creates, reads, updates in place, sees drift, and deletes", async () => {
    const { id, outs, news } = await create("Endpoint", { ...s1(), address: "192.168.0.1", dev: "eno2", flags: ["signal"] });
    expect(endpointsOn("server1")).toEqual([{ address: "192.168.0.1", id: outs["endpointId"], signal: true, dev: "eno2" }]);
    expect(onHost("server1", "cat", "/etc/mptcp-pulumi/parts/40-endpoint-192.168.0.1.part")).toBe("endpoint address=192.168.0.1 dev=eno2 flags=signal\n");

    nextOperation();
    const read = await providers.Endpoint.read!(id, outs);
    expect(read.props).toEqual(outs);
    expect((await providers.Endpoint.diff!(id, outs, news)).changes).toBe(false);

    // backup can be flipped in place: same kernel id, no replacement
    const withBackup = await checked("Endpoint", { ...s1(), address: "192.168.0.1", dev: "eno2", flags: ["signal", "backup"] });
    const diff = await providers.Endpoint.diff!(id, outs, withBackup);
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual([]);
    const updated = (await providers.Endpoint.update!(id, outs, withBackup)).outs as Outs;
    expect(updated["endpointId"]).toBe(outs["endpointId"]);
    expect(endpointsOn("server1")[0]).toMatchObject({ signal: true, backup: true });

    // drift: a flag changed by hand, then the endpoint deleted by hand
    onHost("server1", "ip", "mptcp", "endpoint", "change", "id", String(outs["endpointId"]), "nobackup");
    nextOperation();
    const drifted = await providers.Endpoint.read!(id, updated);
    expect(drifted.props!["flags"]).toEqual(["signal"]);
    expect((await providers.Endpoint.diff!(id, drifted.props as Outs, withBackup)).changes).toBe(true);
    onHost("server1", "ip", "mptcp", "endpoint", "flush");
    nextOperation();
    expect((await providers.Endpoint.read!(id, updated)).id).toBe("");

    // delete of something already gone is fine; the boot part goes too
    await providers.Endpoint.delete!(id, updated);
    expect(endpointsOn("server1")).toEqual([]);
    // The last part gone, the replay machinery goes too.
    expect(tryOnHost("server1", "test", "-e", "/etc/mptcp-pulumi").status).not.toBe(0);
  });

  it("adopts an identical endpoint made by hand, and applying twice changes nothing", async () => {
    onHost("server2", "ip", "mptcp", "endpoint", "add", "192.168.0.2", "id", "5", "dev", "eno2", "subflow");
    nextOperation();
    const first = await create("Endpoint", { ...s2(), address: "192.168.0.2", dev: "eno2", flags: ["subflow"] });
    expect(first.outs["endpointId"]).toBe(5);
    const applies = context.sessionFor(connectionSchema.parse(labConnection("server2")), undefined).roundTrips.apply;
    nextOperation();
    await providers.Endpoint.create(first.news);
    expect(context.sessionFor(connectionSchema.parse(labConnection("server2")), undefined).roundTrips.apply).toBe(applies);
    expect(endpointsOn("server2")).toHaveLength(1);
    // A later operation: in this one a new resource adopted the endpoint, and a delete would
    // leave it alone (what a rename needs).
    nextOperation();
    await providers.Endpoint.delete!(first.id, first.outs);
    expect(endpointsOn("server2")).toEqual([]);
  });

  it("replaces signal with subflow by delete then add (the kernel cannot change it in place)", async () => {
    const { id, outs } = await create("Endpoint", { ...s2(), address: "10.0.0.2", dev: "eno1", flags: ["signal"] });
    const news = await checked("Endpoint", { ...s2(), address: "10.0.0.2", dev: "eno1", flags: ["subflow"] });
    const diff = await providers.Endpoint.diff!(id, outs, news);
    expect(diff.replaces).toEqual(["flags"]);
    expect(diff.deleteBeforeReplace).toBe(true);
    await providers.Endpoint.delete!(id, outs);
    const replaced = await providers.Endpoint.create(news);
    expect(endpointsOn("server2")).toEqual([expect.objectContaining({ address: "10.0.0.2", subflow: true })]);
    await providers.Endpoint.delete!(replaced.id, replaced.outs);
  });
});

describe("MptcpHost", () => {
  it("sets limits and sysctls, reports facts, sees drift, and restores on delete", async () => {
    const before = onHost("server2", "ip", "mptcp", "limits", "show").trim();
    const { id, outs, news } = await create("MptcpHost", { ...s2(), limits: { subflows: 4, addAddrAccepted: 3 } });
    expect(onHost("server2", "ip", "mptcp", "limits", "show").trim()).toBe("add_addr_accepted 3 subflows 4");
    expect(outs["facts"]).toMatchObject({ mptcpAvailable: true, iproute2Version: expect.stringMatching(/^\d+\.\d+/) });
    expect(onHost("server2", "cat", "/etc/mptcp-pulumi/parts/10-limits.part")).toBe("limits subflows=4 add_addr_accepted=3\n");

    onHost("server2", "ip", "mptcp", "limits", "set", "subflows", "1", "add_addr_accepted", "0");
    nextOperation();
    const drifted = await providers.MptcpHost.read!(id, outs);
    expect(drifted.props!["limits"]).toEqual({ subflows: 1, addAddrAccepted: 0 });
    expect((await providers.MptcpHost.diff!(id, drifted.props as Outs, news)).changes).toBe(true);
    await providers.MptcpHost.update!(id, drifted.props as Outs, news);
    expect(onHost("server2", "ip", "mptcp", "limits", "show").trim()).toBe("add_addr_accepted 3 subflows 4");

    await providers.MptcpHost.delete!(id, outs);
    expect(onHost("server2", "ip", "mptcp", "limits", "show").trim()).toBe(before);
    expect(onHost("server2", "sh", "-c", "ls /etc/sysctl.d /etc/mptcp-pulumi/parts 2>/dev/null; true")).not.toMatch(/mptcp-pulumi-host|limits/);
  });
});

describe("NetworkInterface", () => {
  it("adopts existing addresses, adds and owns new ones, repairs a downed link, and removes only its own", async () => {
    const { id, outs, news } = await create("NetworkInterface", { ...s1(), name: "eno1", addresses: ["10.0.0.1/24", "10.0.0.11/24"] });
    expect(outs["addedAddresses"]).toEqual(["10.0.0.11/24"]);
    expect(onHost("server1", "ip", "-br", "addr", "show", "dev", "eno1")).toContain("10.0.0.11/24");

    onHost("server1", "ip", "link", "set", "dev", "eno1", "down");
    nextOperation();
    const drifted = await providers.NetworkInterface.read!(id, outs);
    expect(drifted.props!["up"]).toBe(false);
    await providers.NetworkInterface.update!(id, drifted.props as Outs, news);
    expect(onHost("server1", "ip", "-br", "link", "show", "dev", "eno1")).toMatch(/\bUP\b/);

    onHost("server1", "ip", "addr", "del", "10.0.0.11/24", "dev", "eno1");
    nextOperation();
    expect((await providers.NetworkInterface.read!(id, outs)).props!["addresses"]).toEqual(["10.0.0.1/24"]);

    await providers.NetworkInterface.update!(id, outs, news);
    await providers.NetworkInterface.delete!(id, outs);
    const left = onHost("server1", "ip", "-br", "addr", "show", "dev", "eno1");
    expect(left).toContain("10.0.0.1/24");
    expect(left).not.toContain("10.0.0.11/24");
  });

  it("refuses to remove the address the SSH session arrives on", async () => {
    const { id, outs } = await create("NetworkInterface", { ...s1(), name: "mgmt0", addresses: ["172.31.1.2/30"] });
    const down = await checked("NetworkInterface", { ...s1(), name: "mgmt0", addresses: ["172.31.1.2/30"], up: false });
    await expect(providers.NetworkInterface.update!(id, outs, down)).rejects.toThrow(/refusing to set mgmt0 down: this SSH session arrives on 172\.31\.1\.2/);
    expect(lab("ssh", "server1", "true")).toBe("");
  });
});

describe("PolicyRoute", () => {
  it("owns its table: creates rules and routes, repairs a deleted rule, removes strays, and empties it on delete", async () => {
    const spec = { ...s2(), table: 102, rules: [{ from: "192.168.0.2", priority: 1002 }], routes: [{ dst: "192.168.0.0/24", dev: "eno2", scope: "link" }] };
    const { id, outs, news } = await create("PolicyRoute", spec);
    expect(onHost("server2", "ip", "rule", "show")).toMatch(/1002:\s+from 192\.168\.0\.2 lookup 102/);
    expect(onHost("server2", "ip", "route", "show", "table", "102").trim()).toBe("192.168.0.0/24 dev eno2 scope link");

    onHost("server2", "ip", "rule", "del", "priority", "1002");
    onHost("server2", "ip", "route", "add", "10.0.0.0/24", "dev", "eno1", "table", "102");
    nextOperation();
    const drifted = (await providers.PolicyRoute.read!(id, outs)).props as Outs;
    expect(drifted["rules"]).toEqual([]);
    expect(drifted["routes"]).toContainEqual({ dst: "10.0.0.0/24", dev: "eno1", scope: "link" });
    await providers.PolicyRoute.update!(id, drifted, news);
    expect(onHost("server2", "ip", "route", "show", "table", "102").trim()).toBe("192.168.0.0/24 dev eno2 scope link");
    expect(onHost("server2", "ip", "rule", "show")).toMatch(/1002:\s+from 192\.168\.0\.2 lookup 102/);

    await providers.PolicyRoute.delete!(id, outs);
    expect(onHost("server2", "ip", "rule", "show")).not.toMatch(/lookup 102/);
    expect(onHost("server2", "ip", "-j", "route", "show", "table", "all")).not.toContain('"table":"102"');
  });

  it("refuses a rule that would capture the SSH session's replies", async () => {
    const news = await checked("PolicyRoute", { ...s2(), table: 150, rules: [{ from: "172.31.2.0/30" }], routes: [{ dst: "10.0.0.0/24", dev: "eno1" }] });
    await expect(providers.PolicyRoute.create(news)).rejects.toThrow(/refusing rule from 172\.31\.2\.0\/30: this SSH session uses 172\.31\.2\.2/);
    expect(onHost("server2", "ip", "rule", "show")).not.toMatch(/lookup 150/);
  });
});

describe("SysctlTuning", () => {
  it("sets values (tabs or spaces alike), persists them, sees drift, and restores the old values on delete", async () => {
    const old = onHost("server1", "sysctl", "-n", "net.ipv4.tcp_rmem").trim().split(/\s+/).join(" ");
    const { id, outs, news } = await create("SysctlTuning", { ...s1(), name: "buffers", values: { "net.ipv4.tcp_rmem": "4096\t131072\t33554432" } });
    expect(onHost("server1", "sysctl", "-n", "net.ipv4.tcp_rmem").trim().split(/\s+/).join(" ")).toBe("4096 131072 33554432");
    expect(onHost("server1", "cat", "/etc/sysctl.d/90-mptcp-pulumi-buffers.conf")).toContain("net.ipv4.tcp_rmem = 4096 131072 33554432");
    expect(outs["previous"]).toEqual({ "net.ipv4.tcp_rmem": old });

    onHost("server1", "sysctl", "-qw", "net.ipv4.tcp_rmem=4096 87380 6291456");
    nextOperation();
    const drifted = (await providers.SysctlTuning.read!(id, outs)).props as Outs;
    expect(drifted["values"]).toEqual({ "net.ipv4.tcp_rmem": "4096 87380 6291456" });
    expect((await providers.SysctlTuning.diff!(id, drifted, news)).changes).toBe(true);

    await providers.SysctlTuning.delete!(id, outs);
    expect(onHost("server1", "sysctl", "-n", "net.ipv4.tcp_rmem").trim().split(/\s+/).join(" ")).toBe(old);
    expect(onHost("server1", "ls", "/etc/sysctl.d")).not.toContain("90-mptcp-pulumi-buffers");
  });

  it("refuses a key the kernel does not have, before changing anything", async () => {
    const news = await checked("SysctlTuning", { ...s1(), name: "bad", values: { "net.ipv4.tcp_rmem": "4096 131072 33554432", "net.mptcp.no_such_knob": 1 } });
    const rmem = onHost("server1", "sysctl", "-n", "net.ipv4.tcp_rmem");
    await expect(providers.SysctlTuning.create(news)).rejects.toThrow(/sysctl net\.mptcp\.no_such_knob does not exist on the host/);
    expect(onHost("server1", "sysctl", "-n", "net.ipv4.tcp_rmem")).toBe(rmem);
  });
});

describe("change sets", () => {
  it("report exactly what was applied when a command in the middle fails", async () => {
    const session = context.sessionFor(connectionSchema.parse(labConnection("server1")), undefined);
    onHost("server1", "ip", "mptcp", "endpoint", "add", "10.0.0.1", "id", "9", "dev", "eno1", "signal");
    const changes: Operation[] = [
      addressOp("add", "10.0.0.77/32", "lo"),
      { type: "endpoint", action: "add", endpoint: { address: "10.0.0.78", id: 9, flags: [] } },
      addressOp("add", "10.0.0.79/32", "lo"),
    ];
    const error = await session.apply(changes, "test").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostError);
    expect(error).toMatchObject({ reason: "partial", argv: ["ip", "mptcp", "endpoint", "add", "10.0.0.78", "id", "9"], exitCode: 3 });
    expect((error as HostError).progress).toMatchObject({ applied: [changes[0]], failed: changes[1], notAttempted: [changes[2]] });
    expect((error as Error).message).toMatch(
      /on root@172\.31\.1\.2:22: failed: ip mptcp endpoint add 10\.0\.0\.78 id 9\. Applied: ip address add 10\.0\.0\.77\/32 dev lo\. Not attempted: ip address add 10\.0\.0\.79\/32 dev lo/,
    );
    const lo = onHost("server1", "ip", "-br", "addr", "show", "dev", "lo");
    expect(lo).toContain("10.0.0.77/32");
    expect(lo).not.toContain("10.0.0.79");
    onHost("server1", "ip", "addr", "del", "10.0.0.77/32", "dev", "lo");
    onHost("server1", "ip", "mptcp", "endpoint", "flush");
  });
});

describe("transport", () => {
  it("opens one SSH connection per host for many operations on it", async () => {
    await context.closeAll();
    const before = acceptedConnections("server2");
    const a = await create("SysctlTuning", { ...s2(), name: "conn-a", values: { "net.ipv4.tcp_wmem": "4096 131072 33554432" } });
    const b = await create("MptcpHost", { ...s2(), limits: { subflows: 2, addAddrAccepted: 2 } });
    nextOperation();
    await providers.SysctlTuning.read!(a.id, a.outs);
    await providers.MptcpHost.read!(b.id, b.outs);
    await providers.MptcpHost.delete!(b.id, b.outs);
    await providers.SysctlTuning.delete!(a.id, a.outs);
    expect(acceptedConnections("server2") - before).toBe(1);
  });
});

describe("boot replay", () => {
  it("brings everything back after the network namespace is recreated from nothing", async () => {
    const made = [
      await create("MptcpHost", { ...s2(), limits: { subflows: 2, addAddrAccepted: 2 } }),
      await create("NetworkInterface", { ...s2(), name: "eno2", addresses: ["192.168.0.2/24", "192.168.0.12/24"] }),
      await create("PolicyRoute", { ...s2(), table: 102, rules: [{ from: "192.168.0.2", priority: 1002 }], routes: [{ dst: "192.168.0.0/24", dev: "eno2", scope: "link" }] }),
      await create("Endpoint", { ...s2(), address: "192.168.0.2", dev: "eno2", flags: ["subflow"] }),
      await create("SysctlTuning", { ...s2(), name: "tuning", values: { "net.ipv4.tcp_rmem": "4096 131072 33554432" } }),
    ];
    const kinds = ["MptcpHost", "NetworkInterface", "PolicyRoute", "Endpoint", "SysctlTuning"] as const;
    await context.closeAll();
    lab("reboot", "server2");
    expect(onHost("server2", "ip", "-br", "addr", "show", "dev", "eno2")).toContain("192.168.0.12/24");
    for (const [i, kind] of kinds.entries()) {
      const { id, outs, news } = made[i]!;
      const seen = await providers[kind].read!(id, outs);
      expect(seen.id, kind).toBe(id);
      expect((await providers[kind].diff!(id, seen.props as Outs, news)).changes, kind).toBe(false);
    }
    for (const [i, kind] of [...kinds.entries()].reverse()) await providers[kind].delete!(made[i]!.id, made[i]!.outs);
  });
});
