import { describe, expect, it } from "vitest";
import type { Connection } from "../../provider/connection";
import { ProviderContext } from "../../provider/context";
import { dynamicProviderFor } from "../../provider/resource";
import { endpointDefinition } from "../../provider/resources/endpoint";

const KEY_A = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const KEY_B = "-----BEGIN OPENSSH PRIVATE KEY-----\nBBBB\n-----END OPENSSH PRIVATE KEY-----\n";
const connection: Connection = { host: "192.0.2.1", port: 22, user: "root", hostKeyPolicy: "strict", connectTimeoutSeconds: 10, confirmTimeoutSeconds: 120, privateKeyPath: "/keys/a" };
const olds = { connection, privateKey: KEY_A, address: "192.168.0.1", dev: "eno2", flags: ["signal"], endpointId: 1, persisted: true };
const news = { connection, privateKey: KEY_A, address: "192.168.0.1", dev: "eno2", flags: ["signal"] };

describe("diff: credentials are not desired state", () => {
  const provider = dynamicProviderFor(endpointDefinition, new ProviderContext(process.cwd()));

  it("a rotated key, key path, host key, user or timeout is no change", async () => {
    const rotated = {
      ...news,
      privateKey: KEY_B,
      connection: { ...connection, user: "deploy", privateKeyPath: "/keys/b", hostKey: "ssh-ed25519 AAAAC3Nz", connectTimeoutSeconds: 5, confirmTimeoutSeconds: 30 },
    };
    expect(await provider.diff!("id", olds, rotated)).toMatchObject({ changes: false, replaces: [] });
  });

  it("another machine replaces, naming connection", async () => {
    const moved = { ...news, connection: { ...connection, host: "192.0.2.9" } };
    expect(await provider.diff!("id", olds, moved)).toMatchObject({ changes: true, replaces: ["connection"] });
  });

  it("a flag the kernel cannot change in place replaces, naming flags", async () => {
    expect(await provider.diff!("id", olds, { ...news, flags: ["subflow"] })).toMatchObject({ changes: true, replaces: ["flags"] });
  });
});

describe("ProviderContext.loginFor: the current credentials, not the state's", () => {
  const stored = { connection: { ...connection, privateKeyPath: undefined }, privateKey: KEY_A };

  it("keeps the stored login when nothing newer is known", () => {
    expect(new ProviderContext(process.cwd()).loginFor(stored)).toEqual(stored);
  });

  it("replaces a stored secret key with the configured one (refresh and destroy do not run the program)", () => {
    const context = new ProviderContext(process.cwd());
    context.configure({ get: (key) => (key === "privateKey" ? KEY_B : undefined) });
    expect(context.loginFor(stored).privateKey).toBe(KEY_B);
    // A resource that logged in without a secret key does not get one.
    expect(context.loginFor({ ...stored, privateKey: undefined }).privateKey).toBeUndefined();
  });

  it("prefers the program's current login for the same machine", () => {
    const context = new ProviderContext(process.cwd());
    const now = { connection: { ...connection, user: "deploy", privateKeyPath: "/keys/b" }, privateKey: undefined };
    context.noteCurrent(now);
    expect(context.loginFor(stored)).toEqual(now);
    expect(context.loginFor({ ...stored, connection: { ...connection, host: "192.0.2.2" } }).connection.host).toBe("192.0.2.2");
  });
});

describe("delete after a rename: a live resource took the object over", () => {
  it("leaves the object on the host (no SSH at all) when another resource converged it in this operation", async () => {
    const context = new ProviderContext(process.cwd());
    const provider = dynamicProviderFor(endpointDefinition, context);
    const unreachable = { ...olds, connection: { ...connection, host: "192.0.2.1", connectTimeoutSeconds: 1, privateKeyPath: undefined } };
    context.claim("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22");
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
    try {
      await provider.delete!("root@192.0.2.1:22/endpoint/192.168.0.1", unreachable);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join("")).toMatch(/warning: root@192\.0\.2\.1:22\/endpoint\/192\.168\.0\.1: not removing Endpoint endpoint\/192\.168\.0\.1 on 192\.0\.2\.1:22: a new resource/);
  });

  it("forgets what was taken over when a new operation starts (a test's nextOperation)", () => {
    const context = new ProviderContext(process.cwd());
    context.claim("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22");
    context.invalidateAll();
    expect(context.claimed("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22")).toBe(false);
  });

  it("replaces delete-first only when old and new are the same object, whoever logs in", async () => {
    const provider = dynamicProviderFor(endpointDefinition, new ProviderContext(process.cwd()));
    const asDeploy = { ...news, flags: ["subflow"], connection: { ...connection, user: "deploy" } };
    expect(await provider.diff!("id", olds, asDeploy)).toMatchObject({ replaces: ["flags"], deleteBeforeReplace: true });
  });
});

describe("ProviderContext.sighted: a new URN declaring an object the state already has", () => {
  it("reports the stored resource once, whichever of refresh and the program comes first", () => {
    const a = new ProviderContext(process.cwd());
    expect(a.sighted("Endpoint x on h:22", { stored: "old-id" })).toBeUndefined();
    expect(a.sighted("Endpoint x on h:22", "declared")).toBe("old-id");
    expect(a.sighted("Endpoint x on h:22", "declared")).toBeUndefined();
    const b = new ProviderContext(process.cwd());
    expect(b.sighted("Endpoint x on h:22", "declared")).toBeUndefined();
    expect(b.sighted("Endpoint y on h:22", { stored: "other" })).toBeUndefined();
    expect(b.sighted("Endpoint x on h:22", { stored: "old-id" })).toBe("old-id");
  });
});
