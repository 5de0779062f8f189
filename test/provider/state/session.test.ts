import { describe, expect, it } from "vitest";
import type { Operation } from "../../../provider/operations";
import { HostSession, type ScriptTransport } from "../../../provider/state/session";
import type { RemoteResult } from "../../../provider/transport/ssh";

/** A transport that keeps every program it is given and answers with nothing. */
class RecordingTransport implements ScriptTransport {
  readonly programs: string[] = [];
  async run(script: string): Promise<RemoteResult> {
    this.programs.push(script);
    return { stdout: "", stderr: "" };
  }
  describe(): string {
    return "deploy@recorded:22";
  }
}

const sudoSetting = (program: string) => /^export MPTCP_PULUMI_SUDO=(\d)$/m.exec(program)?.[1];

describe("HostSession of a non-root login", () => {
  // The change set re-reads our root-only files under the lock through sudo; a read without it
  // saw them empty, so every change set on a netplan host found the host "changed" (files).
  it.each([true, false])("reads the host with the same sudo setting its change sets use (sudo: %s)", async (sudo) => {
    const transport = new RecordingTransport();
    const session = new HostSession(transport, 0, sudo);
    await session.state().catch(() => undefined);
    const op: Operation = { type: "limits", limits: { subflows: 2, addAddrAccepted: 2 } };
    await session.apply([op], "limits").catch(() => undefined);
    const [read, change] = transport.programs;
    expect(sudoSetting(read!)).toBe(sudo ? "1" : "0");
    expect(sudoSetting(change!)).toBe(sudoSetting(read!));
  });
});
