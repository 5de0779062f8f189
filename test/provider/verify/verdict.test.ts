import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSubflows } from "../../../provider/verify/parse";
import { judge, type Evidence } from "../../../provider/verify/verdict";

const fixture = (name: string) => readFileSync(join(__dirname, "../../fixtures", name), "utf8");
const JOINED = { clientSynAckRx: 4, serverSynRx: 4, serverAckRx: 4, mpCapable: 2 };
const ADDRS = { eno1: ["10.0.0.2"], eno2: ["192.168.0.2"] };

function evidence(over: Partial<Evidence>): Evidence {
  return {
    paths: [{ dev: "eno1", role: "active" }, { dev: "eno2", role: "backup" }],
    bytes: { eno1: 100e6, eno2: 2000 },
    clientSubflows: parseSubflows(fixture("ss-subflows-backup-client.txt")),
    serverSubflows: parseSubflows(fixture("ss-subflows-backup-server.txt")),
    clientAddresses: ADDRS,
    joins: JOINED,
    ...over,
  };
}

describe("the verdict by path role", () => {
  it("passes a backup path that joined on both ends and stood by", () => {
    const v = judge(evidence({}));
    expect(v.problems).toEqual([]);
    expect(v.paths[1]).toMatchObject({ dev: "eno2", role: "backup", subflows: { client: 2, server: 2, clientBackup: 2, serverBackup: 2 } });
    expect(v.paths[0]!.share).toBeGreaterThan(0.99);
  });

  it("fails a backup path with no subflow, naming the path and the end", () => {
    const v = judge(evidence({ clientSubflows: [], serverSubflows: [] }));
    expect(v.problems).toEqual([
      "backup path eno2: no backup subflow on the client (0 subflow(s) on that link, none flagged backup)",
      "backup path eno2: no backup subflow on the server (0 subflow(s) from that link, none flagged backup)",
    ]);
  });

  it("fails a backup path that carried traffic while the active paths were up", () => {
    const v = judge(evidence({ bytes: { eno1: 60e6, eno2: 40e6 } }));
    expect(v.problems).toEqual(["backup path eno2 carried 40.0 MB of 100.0 MB (40.0%) while the active paths were up (a backup carries next to nothing)"]);
  });

  it("fails an active path that carried almost nothing (the old verdict for every link)", () => {
    const v = judge(evidence({ paths: [{ dev: "eno1", role: "active" }, { dev: "eno2", role: "active" }] }));
    expect(v.problems).toEqual(["active path eno2 carried only 0.0 MB of 100.0 MB (0.0%)"]);
  });

  it("reports a fallback to TCP and a pair where no second path joined", () => {
    const v = judge(evidence({ joins: { clientSynAckRx: 0, serverSynRx: 0, serverAckRx: 0, mpCapable: 0 } }));
    expect(v.problems.slice(0, 2)).toEqual([
      "no MPTCP connection reached the server (MPCapableSYNRX did not move): MPTCP fell back to TCP",
      "no second path joined (MPJoinAckRx did not move on the server)",
    ]);
  });
});
