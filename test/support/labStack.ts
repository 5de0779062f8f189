import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";

const STACK_FILE = join(__dirname, "../../Pulumi.lab.yaml");

/** Stand-ins for the lab's key and known_hosts, which exist only while the lab is up (made once per test file). */
let keyFiles: string | undefined;
function standInKeys(): string {
  if (keyFiles) return keyFiles;
  keyFiles = mkdtempSync(join(tmpdir(), "mptcp-lab-keys-"));
  writeFileSync(join(keyFiles, "id_ed25519"), "not a real key\n");
  writeFileSync(join(keyFiles, "known_hosts"), "");
  return keyFiles;
}

/** A fresh copy of Pulumi.lab.yaml's `mptcp-pulumi:hosts`, with key files that exist, for unit tests of the checks and components. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function labStackHosts(): any[] {
  const doc = load(readFileSync(STACK_FILE, "utf8")) as { config: Record<string, unknown> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const hosts = structuredClone(doc.config["mptcp-pulumi:hosts"]) as any[];
  const keys = standInKeys();
  for (const host of hosts) Object.assign(host.connection, { privateKeyPath: join(keys, "id_ed25519"), knownHostsPath: join(keys, "known_hosts") });
  return hosts;
}
