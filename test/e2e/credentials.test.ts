/**
 * Credentials are not desired state, with the real CLI on the lab: the stack's secret key is
 * rotated on the servers and in the config between up and destroy. Preview shows no change,
 * refresh and destroy log in with the current key (the state still holds the old one).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshLab, LAB_DIR, onHost, ROOT } from "../lab/harness";
import { TempProject } from "./project";

const STACK = "e2ecreds";
const SERVERS = ["server1", "server2"];
let project: TempProject;
let keys: string;

/** Makes `pub` the only key the lab's sshd accepts on every server. */
function authorizeOnly(pub: string): void {
  for (const server of SERVERS) onHost(server, "sh", "-c", 'printf "%s\\n" "$1" > /etc/ssh/lab_authorized_keys', "sh", pub.trim());
}

function setKey(key: string): void {
  const r = project.run(["bash", join(ROOT, "scripts/pulumi.sh"), "-C", project.dir, "config", "set", "--secret", "privateKey", "--stack", STACK], key);
  expect(r.status, r.stderr).toBe(0);
}

beforeAll(() => {
  freshLab();
  keys = mkdtempSync(join(tmpdir(), "mptcp-creds-"));
  project = new TempProject(STACK, (hosts) => hosts.forEach((host) => delete host.connection.privateKeyPath));
  setKey(readFileSync(join(LAB_DIR, "id_ed25519"), "utf8"));
  project.ok("up", "--yes", "--skip-preview");
});

afterAll(() => {
  authorizeOnly(readFileSync(join(LAB_DIR, "id_ed25519.pub"), "utf8"));
  project?.remove();
  rmSync(keys, { recursive: true, force: true });
});

describe("a rotated private key", () => {
  it("1. the servers accept only the new key, and the config holds it", () => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rotated", "-f", join(keys, "id")]);
    authorizeOnly(readFileSync(join(keys, "id.pub"), "utf8"));
    setKey(readFileSync(join(keys, "id"), "utf8"));
  });

  it("2. preview shows no change: no resource is updated or replaced for a credential", () => {
    const r = project.pulumi("preview", "--json", "--expect-no-changes");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const { changeSummary } = JSON.parse(r.stdout) as { changeSummary: Record<string, number> };
    expect(Object.keys(changeSummary)).toEqual(["same"]);
  });

  it("3. refresh logs in with the current key, not the state's, and finds no drift", () => {
    const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("4. destroy logs in with the current key and removes everything", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
  });
});
