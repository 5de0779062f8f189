import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectionFileProblems, connectionSchema, projectRoot, toSshTarget } from "../../provider/connection";

describe("relative key paths", () => {
  const root = mkdtempSync(join(tmpdir(), "mptcp-root-"));
  writeFileSync(join(root, "Pulumi.yaml"), "name: x\n");
  mkdirSync(join(root, "dist", "stacks"), { recursive: true });
  mkdirSync(join(root, ".lab"));
  writeFileSync(join(root, ".lab", "id_ed25519"), "key\n");

  it("are relative to the project (where Pulumi.yaml is), wherever the provider runs", () => {
    expect(projectRoot(join(root, "dist", "stacks"))).toBe(root);
    expect(projectRoot(root)).toBe(root);
  });

  it("falls back to the working directory outside any project", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "mptcp-none-"));
    expect(projectRoot(elsewhere)).toBe(elsewhere);
  });

  it("are checked where pulumi runs, naming the field, and stay relative in the inputs", () => {
    const connection = connectionSchema.parse({ host: "192.0.2.1", privateKeyPath: ".lab/id_ed25519", knownHostsPath: ".lab/known_hosts" });
    expect(connection.privateKeyPath).toBe(".lab/id_ed25519");
    expect(connectionFileProblems(connection, root)).toEqual([{ property: "knownHostsPath", reason: expect.stringContaining(`${root}/.lab/known_hosts does not exist`) }]);
  });

  it("reach ssh as absolute paths in the project the provider context names, whatever the working directory", () => {
    const target = toSshTarget(connectionSchema.parse({ host: "192.0.2.1", privateKeyPath: ".lab/id_ed25519" }), undefined, projectRoot(join(root, "dist", "stacks")));
    expect(target.privateKeyPath).toBe(join(root, ".lab", "id_ed25519"));
  });
});
