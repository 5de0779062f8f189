import { describe, expect, it } from "vitest";
import { render, type Operation } from "../../../provider/operations";
import { endpointText } from "../../../provider/model/endpoint";
import { endpointDefinition, endpointSchema } from "../../../provider/resources/endpoint";
import { hostDefinition, hostSchema, planHost, type HostInputs } from "../../../provider/resources/host";
import { CONNECTION, hostState } from "../../support/fixtures";

const host = (input: Record<string, unknown> = {}): HostInputs => hostSchema.parse({ connection: CONNECTION, ...input });
// The 6.1 fixture has 192.168.0.2 (subflow, id 1), 10.0.0.2 (signal backup, id 7) and 192.168.0.2 port 5201 (id 8).
const DECLARED = [endpointText({ address: "192.168.0.2" })];
const endpointLines = (ops: Operation[]) => ops.filter((op) => op.type === "endpoint").map((op) => (render(op) as { args: string[] }).args.join(" "));

describe("foreign endpoints on an MPTCP host", () => {
  it("are reported in the outputs and left alone by default (keep)", () => {
    const desired = host({ declaredEndpoints: DECLARED });
    expect(desired.foreignEndpoints).toBe("keep");
    expect(endpointLines(planHost(desired, hostState(), undefined))).toEqual([]);
    const seen = hostDefinition.observe({ ...hostDefinition.outputs(desired, hostState(), hostState(), undefined) }, hostState())!;
    expect(seen.foreign).toEqual(["10.0.0.2 id 7 backup signal dev eno1", "192.168.0.2 port 5201 id 8 signal dev eno2"]);
    expect(seen.foreignSeen.map((e) => [e.address, e.port, e.id, e.dev, e.flags])).toEqual([
      ["10.0.0.2", undefined, 7, "eno1", ["backup", "signal"]],
      ["192.168.0.2", 5201, 8, "eno2", ["signal"]],
    ]);
  });

  it("are deleted by id with remove, and their return is drift", () => {
    const desired = host({ declaredEndpoints: DECLARED, foreignEndpoints: "remove", persist: false });
    expect(endpointLines(planHost(desired, hostState(), undefined))).toEqual(["mptcp endpoint delete id 7", "mptcp endpoint delete id 8"]);
    const outs = hostDefinition.outputs(desired, hostState(), hostState(), undefined);
    expect(hostDefinition.observe(outs, hostState())!.persisted).toBe(false);
    const clean = hostState();
    clean.endpoints = clean.endpoints.filter((e) => e.id === 1);
    expect(hostDefinition.observe(outs, clean)).toMatchObject({ persisted: true, foreign: [], foreignSeen: [] });
  });

  it("removed by remove come back at delete, with their ids when free", () => {
    const desired = host({ declaredEndpoints: DECLARED, foreignEndpoints: "remove", persist: false });
    const after = hostState();
    after.endpoints = after.endpoints.filter((e) => e.id === 1);
    const outs = hostDefinition.outputs(desired, after, hostState(), undefined);
    expect(outs.removedForeign!.map((e) => e.id)).toEqual([7, 8]);
    expect(endpointLines(hostDefinition.remove(outs, after))).toEqual([
      "mptcp endpoint add 10.0.0.2 id 7 dev eno1 backup signal",
      "mptcp endpoint add 192.168.0.2 port 5201 id 8 dev eno2 signal",
    ]);
  });

  it("replaced by a declared endpoint at its address comes back when that endpoint is deleted", () => {
    const declared = endpointSchema.parse({ connection: CONNECTION, address: "192.168.0.2", dev: "eno2", flags: ["subflow", "backup"] });
    const before = hostState(); // 192.168.0.2 id 1 subflow: mptcpd's or someone's, not what is declared
    const outs = endpointDefinition.outputs(declared, before, before, undefined);
    expect(outs.replaced).toMatchObject({ id: 1, flags: ["subflow"] });
    expect(endpointLines(endpointDefinition.remove(outs, before))).toEqual(["mptcp endpoint delete id 1", "mptcp endpoint add 192.168.0.2 id 1 dev eno2 subflow"]);
  });

  it("are refused as a policy other than keep or remove, naming the field", () => {
    const r = hostSchema.safeParse({ connection: CONNECTION, foreignEndpoints: "purge" });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ["foreignEndpoints"], message: expect.stringContaining("keep (report them) or remove") });
  });
});
