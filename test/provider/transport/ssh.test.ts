import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshTransport, type SshTarget } from "../../../provider/transport/ssh";

// A stand-in for OpenSSH on PATH: logs each invocation's script (its stdin) and exits 0.
const dir = mkdtempSync(join(tmpdir(), "fake-ssh-"));
const log = join(dir, "log");
const path = process.env["PATH"];
beforeAll(() => {
  writeFileSync(join(dir, "ssh"), `#!/bin/sh\ncase " $* " in *" -O "*) exit 0 ;; esac\n{ echo "--- ssh"; cat; } >> ${JSON.stringify(log)}\nexit 0\n`);
  chmodSync(join(dir, "ssh"), 0o755);
  process.env["PATH"] = `${dir}:${path}`;
});
afterAll(() => {
  process.env["PATH"] = path;
  rmSync(dir, { recursive: true, force: true });
});

const target = (extra: Partial<SshTarget> = {}): SshTarget => ({ host: "192.0.2.1", port: 22, user: "root", hostKeyPolicy: "strict", connectTimeoutSeconds: 5, ...extra });
const scripts = () => readFileSync(log, "utf8").split("--- ssh\n").filter(Boolean).map((s) => s.trim());

describe("the SSH transport", () => {
  it("opens the host's master with its first command, not with a round trip of its own", async () => {
    writeFileSync(log, "");
    const t = new SshTransport(target({ port: 2201 }));
    await Promise.all([t.run("echo first", "read"), t.run("echo second", "apply")]);
    expect(scripts()).toEqual(["echo first", "echo second"]);
    await t.close();
  });

  it("opens it with `exit 0` when a secret key must leave the disk right after authenticating", async () => {
    writeFileSync(log, "");
    const t = new SshTransport(target({ port: 2202, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" }));
    await t.run("echo first", "read");
    expect(scripts()).toEqual(["exit 0", "echo first"]);
    await t.close();
  });
});
