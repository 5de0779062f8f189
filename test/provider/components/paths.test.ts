import { describe, expect, it } from "vitest";
import { groupConfigSchema } from "../../../provider/components/config";
import { verificationPaths } from "../../../provider/components/paths";

function pair(clientEno2Flags: string[], serverEno2Flags = ["signal"]) {
  const host = (n: number, role: string, flags: string[]) => ({
    name: `server${n}`,
    role,
    connection: { host: `192.0.2.${n}` },
    interfaces: [
      { name: "eno1", addresses: [`10.0.0.${n}/24`] },
      { name: "eno2", addresses: [`192.168.0.${n}/24`] },
      { name: "eno9", addresses: [`172.20.0.${n}/24`] },
    ],
    limits: { subflows: 2, addAddrAccepted: 2 },
    endpoints: [{ address: `192.168.0.${n}`, dev: "eno2", flags }],
  });
  const hosts = groupConfigSchema.parse({ hosts: [host(1, "server", serverEno2Flags), host(2, "client", clientEno2Flags)] }).hosts;
  hosts[0]!.interfaces.pop(); // the server has no eno9: that client link is not a path
  return { server: hosts[0]!, client: hosts[1]! };
}

describe("the verification's paths", () => {
  it("are the client's links that reach the server, active by default", () => {
    const { server, client } = pair(["subflow"]);
    expect(verificationPaths(server, client)).toEqual([
      { dev: "eno1", role: "active", peerDev: "eno1" },
      { dev: "eno2", role: "active", peerDev: "eno2" },
    ]);
  });

  it("take the backup role from the client's endpoint or the server's announced one", () => {
    const clientSide = pair(["subflow", "backup"]);
    expect(verificationPaths(clientSide.server, clientSide.client)[1]!.role).toBe("backup");
    const serverSide = pair(["subflow"], ["signal", "backup"]);
    expect(verificationPaths(serverSide.server, serverSide.client)[1]!.role).toBe("backup");
  });
});
