import { describe, expect, it } from "vitest";
import { HostError } from "../../../provider/errors";
import type { Operation } from "../../../provider/operations";
import { batchOf, conflicts, shareOf } from "../../../provider/state/batch";
import { GATHER_MS, HostChanges, type ChangeHost, type ChangeRequest } from "../../../provider/state/changes";
import type { HostState } from "../../../provider/state/types";
import { hostState } from "../../support/fixtures";

const sysctl = (key: string, value = "1"): Operation => ({ type: "sysctl", key, value });
const file = (path: string): Operation => ({ type: "file", action: "write", path, content: "x\n" });
const address = (cidr: string, dev: string): Operation => ({ type: "address", action: "add", cidr, dev, family: 4 });
const enable: Operation = { type: "bootUnit", action: "enable" };
const removeIfUnused: Operation = { type: "bootUnit", action: "removeIfUnused" };
const PARTS = "/etc/mptcp-pulumi/parts";
const removePart = (name: string): Operation => ({ type: "file", action: "remove", path: `${PARTS}/${name}.part` });
const rule = (table: number, from: string): Operation => ({ type: "rule", action: "add", family: 4, table, rule: { from } });
const route = (table: number): Operation => ({ type: "route", action: "replace", family: 4, table, route: { dst: "10.0.0.0/24", dev: "eno1" } });
const endpoint = (address: string): Operation => ({ type: "endpoint", action: "add", endpoint: { address, flags: ["subflow"] } });

describe("which change sets share a round trip", () => {
  it("joins change sets that neither read nor write what an earlier one writes", () => {
    expect(conflicts([address("10.0.0.22/24", "eno1"), file("/etc/mptcp-pulumi/parts/20-eno1")], [file("/etc/mptcp-pulumi/parts/20-eno2"), sysctl("net.ipv4.tcp_rmem")])).toBe(false);
  });

  it("keeps apart a change set planned on what an earlier one changes, or changing the same thing", () => {
    expect(conflicts([address("10.0.0.22/24", "eno1")], [address("10.0.0.23/24", "eno1")])).toBe(true);
    expect(conflicts([rule(101, "10.0.0.2")], [rule(101, "10.0.0.3")])).toBe(true);
    expect(conflicts([endpoint("10.0.0.2")], [endpoint("192.168.0.2")])).toBe(true);
    expect(conflicts([enable, file("/etc/mptcp-pulumi/parts/10-limits")], [file("/etc/mptcp-pulumi/parts/20-eno1")])).toBe(true);
    expect(conflicts([sysctl("net.ipv4.tcp_rmem", "1")], [sysctl("net.ipv4.tcp_rmem", "2")])).toBe(true);
  });

  it("joins siblings of one host: two interfaces' addresses, two tables' rules and routes", () => {
    expect(conflicts([address("10.0.0.22/24", "eno1"), file(`${PARTS}/20-interface-eno1.part`)], [address("192.168.0.22/24", "eno2"), file(`${PARTS}/20-interface-eno2.part`)])).toBe(false);
    expect(conflicts([rule(101, "10.0.0.2"), route(101)], [rule(102, "192.168.0.2"), route(102)])).toBe(false);
  });

  it("joins two change sets that both install the replay on a clean host, which then goes once", () => {
    const install = [file("/etc/mptcp-pulumi/apply.sh"), file("/etc/systemd/system/mptcp-pulumi.service"), enable];
    const eno1 = [...install, address("10.0.0.22/24", "eno1"), file(`${PARTS}/20-interface-eno1.part`)];
    const eno2 = [...install, address("192.168.0.22/24", "eno2"), file(`${PARTS}/20-interface-eno2.part`)];
    const { batch, later } = batchOf([{ n: 1, changes: eno1 }, { n: 2, changes: eno2 }]);
    expect(later).toEqual([]);
    expect(batch.map((b) => b.changes)).toEqual([eno1, eno2.slice(3)]);
  });

  it("keeps a part's write apart from a replay that changes or may go before it", () => {
    const part = file(`${PARTS}/20-interface-eno2.part`);
    expect(conflicts([file("/etc/mptcp-pulumi/apply.sh")], [part])).toBe(true);
    expect(conflicts([removeIfUnused], [part])).toBe(true);
  });

  it("joins removals that each ask the host to remove the replay if no part is left (decided there, in order)", () => {
    expect(conflicts([removePart("10-limits"), removeIfUnused], [removePart("20-interface-eno1"), removeIfUnused])).toBe(false);
    const { batch } = batchOf([{ changes: [removePart("a"), removeIfUnused] }, { changes: [removePart("b"), removeIfUnused] }]);
    // Each keeps its own: the last removal's is the one that finds no part left.
    expect(batch.map((b) => b.changes.length)).toEqual([2, 2]);
  });

  it("takes them in arrival order and leaves the conflicting ones for the next round trip", () => {
    const planned = [{ n: 1, changes: [enable] }, { n: 2, changes: [file("/a")] }, { n: 3, changes: [sysctl("k")] }, { n: 4, changes: [] }];
    const { batch, later } = batchOf(planned);
    expect(batch.map((b) => b.n)).toEqual([1, 3, 4]);
    expect(later.map((b) => b.n)).toEqual([2]);
  });

  it("adds a host's endpoints after the routes of their round trip, and removes them before the routes go", () => {
    const table = { n: "table", changes: [rule(102, "192.168.0.2"), route(102)] };
    const tuning = { n: "tuning", changes: [sysctl("net.ipv4.tcp_rmem")] };
    const added = { n: "added", changes: [endpoint("192.168.0.2")] };
    const endpointGone: Operation = { type: "endpoint", action: "delete", id: 3 };
    const routeGone: Operation = { type: "route", action: "del", family: 4, table: 102, route: { dst: "192.168.0.0/24", dev: "eno2" } };
    const removed = { n: "removed", changes: [endpointGone] };
    const tableGone = { n: "tableGone", changes: [routeGone] };
    expect(batchOf([added, table, tuning]).batch.map((b) => b.n)).toEqual(["table", "tuning", "added"]);
    expect(batchOf([tableGone, tuning, removed]).batch.map((b) => b.n)).toEqual(["removed", "tableGone", "tuning"]);
  });

  it("gives each change set its own share of a failed batch's progress", () => {
    const [a, b, c, d] = [sysctl("a"), sysctl("b"), sysctl("c"), sysctl("d")];
    const progress = { applied: [a!, b!], failed: c!, notAttempted: [d!] };
    expect(shareOf(progress, [a!, b!, c!, d!], 0, 1)).toEqual({ applied: [a], notAttempted: [] });
    expect(shareOf(progress, [a!, b!, c!, d!], 1, 2)).toEqual({ applied: [b], failed: c, notAttempted: [] });
    expect(shareOf(progress, [a!, b!, c!, d!], 3, 1)).toEqual({ applied: [], notAttempted: [d] });
  });
});

/** A host session stand-in: records each program's operations; `fail` decides how one goes wrong. */
function fakeHost(fail?: (ops: readonly Operation[], call: number) => Error | undefined) {
  const programs: Operation[][] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const host: ChangeHost = {
    state: async () => hostState("6.1"),
    invalidate: () => undefined,
    exclusive<T>(work: () => Promise<T>): Promise<T> {
      const run = queue.then(work, work);
      queue = run.catch(() => undefined);
      return run;
    },
    async apply(changes: readonly Operation[]) {
      if (changes.length === 0) return;
      programs.push([...changes]);
      const error = fail?.(changes, programs.length);
      if (error) throw error;
    },
  };
  return { host, programs };
}

const request = (what: string, changes: Operation[], log: string[] = []): ChangeRequest<string> => ({
  keys: [],
  what,
  plan: (_actual: HostState) => changes,
  settle: async () => {
    log.push(what);
    return `${what} done`;
  },
});

describe("a host's change queue", () => {
  it("sends the change sets that arrive together in one round trip, and settles each", async () => {
    const { host, programs } = fakeHost();
    const queue = new HostChanges(host);
    const log: string[] = [];
    const results = await Promise.all([
      queue.submit(request("eno1", [file(`${PARTS}/eno1`)], log)),
      queue.submit(request("eno2", [file(`${PARTS}/eno2`)], log)),
      queue.submit(request("tuning", [sysctl("net.ipv4.tcp_rmem")], log)),
    ]);
    expect(programs).toHaveLength(1);
    expect(programs[0]).toHaveLength(3);
    expect(results).toEqual(["eno1 done", "eno2 done", "tuning done"]);
    expect(log).toEqual(["eno1", "eno2", "tuning"]);
  });

  it("waits a moment before an idle host's round trip, so a change set that arrives just after shares it", async () => {
    const { host, programs } = fakeHost();
    const queue = new HostChanges(host);
    const first = queue.submit(request("table 102", [file(`${PARTS}/102`)]));
    await new Promise((resolve) => setTimeout(resolve, GATHER_MS / 3));
    const second = queue.submit(request("table 101", [file(`${PARTS}/101`)]));
    expect(await Promise.all([first, second])).toEqual(["table 102 done", "table 101 done"]);
    expect(programs.map((p) => p.length)).toEqual([2]);
  });

  it("sends a change set planned on what another changes in a round trip of its own, after it", async () => {
    const { host, programs } = fakeHost();
    const queue = new HostChanges(host);
    await Promise.all([queue.submit(request("mptcp", [enable, file(`${PARTS}/limits`)])), queue.submit(request("eno1", [file(`${PARTS}/eno1`)])), queue.submit(request("tuning", [sysctl("k")]))]);
    expect(programs.map((p) => p.length)).toEqual([3, 1]);
  });

  it("reports a failed part exactly and undoes only it, keeps what finished before it, and plans again what was not attempted", async () => {
    const [a, b1, b2, c] = [sysctl("a"), sysctl("net.mptcp.enabled", "0"), sysctl("b2"), sysctl("c")];
    const { host, programs } = fakeHost((ops, call) =>
      call === 1 ? new HostError({ reason: "partial", host: "root@h:22", operation: "batch", exitCode: 3, progress: { applied: [a!, b1!], failed: b2!, notAttempted: [c!] } }) : undefined,
    );
    const queue = new HostChanges(host);
    const outcomes = await Promise.allSettled([queue.submit(request("A", [a!])), queue.submit(request("B", [b1!, b2!])), queue.submit(request("C", [c!]))]);
    expect(outcomes[0]).toEqual({ status: "fulfilled", value: "A done" });
    expect(outcomes[2]).toEqual({ status: "fulfilled", value: "C done" });
    const error = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(error.message).toContain("failed: sysctl b2=1. Applied: sysctl net.mptcp.enabled=0. Not attempted: nothing.");
    expect(error.message).toContain("Those changes were undone, so the host is as it was before (sysctl net.mptcp.enabled=1 (restore))");
    // The batch, B's undo alone, then C planned again.
    expect(programs).toEqual([[a, b1, b2, c], [{ type: "sysctl", key: "net.mptcp.enabled", value: "1", note: "(restore)" }], [c]]);
  });

  it("plans every change set of a batch again when the host changed before the lock, twice at most", async () => {
    const changed = () => new HostError({ reason: "hostChanged", host: "root@h:22", operation: "batch", changed: ["rules"] });
    const { host, programs } = fakeHost((_ops, call) => (call <= 2 ? changed() : undefined));
    const queue = new HostChanges(host);
    expect(await Promise.all([queue.submit(request("A", [sysctl("a")])), queue.submit(request("B", [sysctl("b")]))])).toEqual(["A done", "B done"]);
    expect(programs).toHaveLength(3);
    const always = fakeHost(() => changed());
    await expect(new HostChanges(always.host).submit(request("A", [sysctl("a")]))).rejects.toThrow(/the host changed since it was read \(rules\)/);
    expect(always.programs).toHaveLength(3);
  });
});
