import { describe, expect, it } from "vitest";
import { remediesFor, remedyLabel } from "../../../provider/verify/remedies";
import type { HostBuffers } from "../../../provider/verify/window";

const K612: HostBuffers = { kernel: "6.12.118", tcpRmem: [4096, 131072, 3615008], tcpWmem: [4096, 16384, 3615008], rmemMax: 212992, wmemMax: 212992, advWinScale: 1, scheduler: "default", availableSchedulers: ["default"] };
const PATHS = [
  { dev: "eno1", role: "active" as const },
  { dev: "eno2", role: "active" as const },
];
const ADVICE = { sysctls: { "net.ipv4.tcp_rmem": "4096 131072 16777216", "net.ipv4.tcp_wmem": "4096 16384 16777216" }, explicitSockets: {}, reason: "" };

describe("remedies", () => {
  it("backs up every active path but the best one, tries the other schedulers, and the advised buffers", () => {
    const r = remediesFor(PATHS, "eno1", { ...K612, availableSchedulers: ["default", "redundant"] }, ADVICE);
    expect(r).toEqual([{ kind: "backup", paths: ["eno2"] }, { kind: "scheduler", name: "redundant" }, { kind: "buffers", sysctls: ADVICE.sysctls }]);
    expect(r.map(remedyLabel)).toEqual(["eno2 as backup", "scheduler redundant", "the advised buffers (tcp_rmem max 16777216, tcp_wmem max 16777216)"]);
  });

  it("keeps the best path when it is not the first, and offers nothing a kernel lacks", () => {
    // 6.1 has no scheduler choice; the long path is the first one here.
    expect(remediesFor(PATHS, "eno2", { ...K612, availableSchedulers: [] }, undefined)).toEqual([{ kind: "backup", paths: ["eno1"] }]);
    // A path that is a backup already is not an active path to back up.
    expect(remediesFor([PATHS[0]!, { dev: "eno2", role: "backup" }], "eno1", K612, undefined)).toEqual([]);
  });
});
