import { describe, expect, it } from "vitest";
import { ProviderContext } from "../../../provider/context";
import { failoverOf, verificationProviderFor, verifyConfigSchema } from "../../../provider/resources/verification";

import type { SshTransport } from "../../../provider/transport/ssh";

const verificationProvider = verificationProviderFor(new ProviderContext(process.cwd()));

const valid = {
  server: { name: "server1", connection: { host: "192.0.2.1" } },
  client: { name: "server2", connection: { host: "192.0.2.2" }, paths: [{ dev: "eno1", peerDev: "eno1" }, { dev: "eno2", role: "backup", peerDev: "eno2" }] },
  target: "10.0.0.1",
};

describe("MptcpVerification inputs", () => {
  it("accepts a pair and applies the defaults: paths are active unless said otherwise", async () => {
    const result = await verificationProvider.check!({}, valid);
    expect(result.failures).toBeUndefined();
    expect(result.inputs).toMatchObject({ seconds: 3, runs: 1, trigger: "", client: { paths: [{ dev: "eno1", role: "active" }, { dev: "eno2", role: "backup" }] } });
  });

  it("fills in a failover's defaults: both kinds, 3 s before, 4 s down, 6 s after", async () => {
    const result = await verificationProvider.check!({}, { ...valid, failover: { inject: { via: "netns" } } });
    expect(result.failures).toBeUndefined();
    expect(result.inputs).toMatchObject({ failover: { kinds: ["carrier", "drop"], before: 3, during: 4, after: 6, inject: { via: "netns" } } });
  });

  it.each([
    [{ target: "10.0.0.300" }, "target"],
    [{ seconds: 0 }, "seconds"],
    [{ runs: 9 }, "runs"],
    [{ client: { ...valid.client, paths: [{ dev: "eno1;reboot" }] } }, "client.paths[0].dev"],
    [{ client: { ...valid.client, paths: [{ dev: "eno1", role: "spare" }] } }, "client.paths[0].role"],
    [{ server: { ...valid.server, name: "Server 1" } }, "server.name"],
    [{ failover: { path: "eno9", inject: { via: "netns" } } }, "failover.path"],
    [{ failover: { kinds: ["flap"], inject: { via: "netns" } } }, "failover.kinds[0]"],
    [{ failover: { during: 0, inject: { via: "netns" } } }, "failover.during"],
    [{ failover: { inject: { via: "carrier-pigeon" } } }, "failover.inject.via"],
    [{ failover: { kinds: ["drop"], inject: { via: "ssh", host: "server", carrier: { fail: ["true"], restore: ["true"] } } } }, "failover.inject.drop"],
    [{ failover: { inject: { via: "netns" } }, client: { ...valid.client, paths: [{ dev: "eno1" }, { dev: "eno2" }] } }, "client.paths"],
    [{ failover: { inject: { via: "netns" } }, client: { ...valid.client, paths: [{ dev: "eno1", peerDev: "eno1" }] } }, "failover"],
  ])("refuses %j, naming %s", async (change, property) => {
    const result = await verificationProvider.check!({}, { ...valid, ...change });
    expect(result.failures?.map((f) => f.property)).toContain(property);
  });

  it("measures again only when what it measures changes", async () => {
    const olds = { ...(await verificationProvider.check!({}, valid)).inputs, result: {}, measuredAt: "then" };
    expect((await verificationProvider.diff!("id", olds, valid)).changes).toBe(false);
    expect((await verificationProvider.diff!("id", olds, { ...valid, trigger: "new config" })).changes).toBe(true);
    expect((await verificationProvider.diff!("id", olds, { ...valid, failover: { inject: { via: "netns" } } })).changes).toBe(true);
  });

  it("fails the first path by default, at the server's end of it, in the server's namespace", async () => {
    const inputs = (await verificationProvider.check!({}, { ...valid, failover: { inject: { via: "netns" } } })).inputs as Parameters<typeof failoverOf>[0];
    const none = { transport: {} as SshTransport, sudo: false };
    const f = failoverOf(inputs, { server: none, client: none })!;
    expect(f.path).toBe("eno1");
    expect(f.injector.describe("carrier")).toBe("server1's eno1 set down (carrier loss at the client)");
    expect(f.injector.describe("drop")).toBe("every packet on server1's eno1 dropped (nftables, link up)");
    expect(failoverOf({ ...inputs, failover: undefined }, { server: none, client: none })).toBeUndefined();
  });
});

describe("mptcp-pulumi:verify", () => {
  it("is optional, and takes seconds, runs and a failover", () => {
    expect(verifyConfigSchema.parse(undefined)).toBeUndefined();
    expect(verifyConfigSchema.parse({ seconds: 2, failover: { kinds: ["drop"], inject: { via: "netns", netns: "server1" } } })).toMatchObject({ seconds: 2, runs: 1, failover: { kinds: ["drop"] } });
    const bad = verifyConfigSchema.safeParse({ failover: { inject: { via: "ssh", host: "router" } } });
    expect(bad.success).toBe(false);
  });
});
