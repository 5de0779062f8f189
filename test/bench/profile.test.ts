import { describe, expect, it } from "vitest";
import { coveredSeconds, profileOf, purposeOf } from "../../bench/profile";
import { timelineHtml } from "../../bench/timeline";
import type { TraceEvent } from "../../provider/trace";

const host = "root@172.31.1.2:22";
const label = (kind: string, id: string) => ({ kind, id, host });
const call = (kind: string, id: string, method: string, start: number, end: number): TraceEvent => ({ ev: "call", pid: 2, method, ...label(kind, id), start, end, ok: true });
const ssh = (kind: string | undefined, what: string, start: number, end: number): TraceEvent => ({
  ev: "ssh",
  pid: 2,
  host,
  what,
  call: kind ? label(kind, kind === "Preflight" ? "preflight" : "x") : undefined,
  start,
  end,
  ok: true,
  bytes: 100,
});

// An up of one host from t=0: the program starts at 300 ms, the provider at 400 ms; a preflight
// (read), then an interface (apply + confirm) that depends on it; the command exits at 2000 ms.
const events: TraceEvent[] = [
  { ev: "process", role: "program", pid: 1, startedMs: 300, loadedMs: 500 },
  { ev: "process", role: "provider", pid: 2, startedMs: 400, loadedMs: 700 },
  call("Preflight", "preflight", "check", 700, 710),
  call("Preflight", "preflight", "create", 720, 900),
  ssh("Preflight", "connect", 730, 800),
  ssh("Preflight", "read host state (uname, sysctl, ip mptcp/addr/rule/route)", 800, 890),
  call("NetworkInterface", "x", "check", 1000, 1010),
  call("NetworkInterface", "x", "create", 1050, 1400),
  ssh("NetworkInterface", "NetworkInterface eno1: 2 change(s)", 1060, 1200),
  ssh("NetworkInterface", "confirm the change set (disarm the rollback timer)", 1200, 1390),
  { ev: "wait", pid: 2, host, call: label("NetworkInterface", "x"), start: 1050, end: 1054 },
  { ev: "exit", role: "provider", pid: 2, atMs: 1900, cpuUserMs: 300, cpuSystemMs: 100 },
  { ev: "exit", role: "program", pid: 1, atMs: 1800, cpuUserMs: 500, cpuSystemMs: 100 },
];
const run = { startMs: 0, endMs: 2000, cpuMs: 1500 };

describe("the profile of an operation", () => {
  it("splits the wall time into start, program, provider load, work and wrap-up", () => {
    const p = profileOf(run, events);
    expect(p.wallSeconds).toBe(2);
    expect(p.phases).toEqual({ cliStart: 0.3, program: 0.4, providerLoad: 0.3, work: 0.7, wrapUp: 0.6 });
    expect(p.cpu).toEqual({ total: 1.5, provider: 0.4, program: 0.6, other: 0.5 });
  });

  it("counts round trips per host, by purpose and per resource kind", () => {
    const p = profileOf(run, events);
    expect(p.roundTrips.total).toBe(4);
    expect(p.roundTrips.byPurpose).toEqual({ connect: 1, read: 1, apply: 1, confirm: 1 });
    expect(p.roundTrips.perResource).toEqual({ Preflight: 2, NetworkInterface: 2 });
    expect(p.hosts).toEqual([{ host, roundTrips: 4, byPurpose: { connect: 1, read: 1, apply: 1, confirm: 1 }, sshSeconds: 0.49, spanSeconds: 0.7 }]);
  });

  it("measures the wait from a dependency's change to the dependent's first call, and from its check to its change", () => {
    const p = profileOf(run, events);
    // The interface's check came 100 ms after the preflight's create ended; its create 40 ms after its check.
    expect(p.waits.dependencyToRegistrationMs).toBe(100);
    expect(p.waits.registrationToWorkMs).toBe(25);
    expect(p.waits.hostQueueMs).toBe(4);
    expect(p.waits.levels).toBe(2);
  });

  it("counts the lab host's levels from the table the servers declare: endpoints beside the tables, three in all", () => {
    const kinds = ["Preflight", "MptcpHost", "NetworkInterface", "SysctlTuning", "PolicyRoute", "Endpoint"];
    const all = [...events.filter((e) => e.ev === "process"), ...kinds.map((k, i) => call(k, k, "create", 1000 + i * 100, 1050 + i * 100))];
    expect(profileOf(run, all).waits.levels).toBe(3);
  });

  it("starts the clock at the provider when no program runs (refresh, destroy)", () => {
    const p = profileOf(run, events.filter((e) => !(e.ev === "process" && e.role === "program")));
    expect(p.phases.cliStart).toBe(0.4);
    expect(p.phases.program).toBeNull();
  });

  it("takes a provider's CPU from its last call when a signal ended it without an exit", () => {
    const signalled = events.filter((e) => !(e.ev === "exit" && e.role === "provider"));
    const withSamples: TraceEvent[] = [
      ...signalled,
      { ev: "cpu", role: "provider", pid: 2, atMs: 900, cpuUserMs: 100, cpuSystemMs: 50 },
      { ev: "cpu", role: "provider", pid: 2, atMs: 1400, cpuUserMs: 200, cpuSystemMs: 100 },
    ];
    expect(profileOf(run, withSamples).cpu.provider).toBe(0.3);
  });

  it("sees no dependency waits in a refresh (the engine reads every resource at once)", () => {
    const refresh = events.map((e) => (e.ev === "call" && e.method === "create" ? { ...e, method: "read" } : e)).filter((e) => !(e.ev === "call" && e.method === "check"));
    expect(profileOf(run, refresh).waits.dependencyToRegistrationMs).toBeNull();
  });

  it("names round trips by what the transport was told", () => {
    expect(purposeOf("undo a change set that failed")).toBe("undo");
    expect(purposeOf("remove Endpoint 192.168.0.1: 1 change(s)")).toBe("apply");
  });

  it("counts overlapping spans once", () => {
    expect(coveredSeconds([{ start: 0, end: 100 }, { start: 50, end: 150 }, { start: 200, end: 300 }])).toBe(0.25);
  });
});

describe("the timeline page", () => {
  it("draws a row per host with each call and round trip, and the profile's table", () => {
    const html = timelineHtml(run, events, profileOf(run, events), "up, 1 server");
    expect(html).toContain("<svg");
    expect(html).toContain("root@172.31.1.2");
    expect(html).toContain("NetworkInterface x: create 350 ms");
    expect(html).toContain("ssh confirm (NetworkInterface x)");
    expect(html).toContain("<td>resources&#39; work".replace("&#39;", "'"));
  });
});
