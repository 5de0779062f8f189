/**
 * The end-to-end tests' projects: scripts/tempProject.ts with a stack config derived from
 * Pulumi.lab.yaml, and host snapshots read on the servers themselves.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { urnName } from "../../scripts/drift";
import { TempProject as BaseProject } from "../../scripts/tempProject";
import { LAB_DIR, ROOT } from "../lab/harness";

export { snapshot } from "../lab/harness";

/** A temporary project holding one stack made from the lab stack's configuration. */
export class TempProject extends BaseProject {
  /**
   * Creates the project from the lab stack's hosts; `edit` may change them first, and `verify`
   * replaces the lab stack's `mptcp-pulumi:verify` setting.
   */
  constructor(stack: string, edit: (hosts: LabHostConfig[]) => void = () => undefined, verify?: Record<string, unknown>) {
    // Key paths stay relative (".lab/id_ed25519"), as in Pulumi.lab.yaml: the provider must
    // resolve them in the project, although the engine starts it in dist/stacks.
    super(stack, { "mptcp-pulumi:hosts": labHosts(edit), ...(verify ? { "mptcp-pulumi:verify": verify } : labVerify()) }, { ".lab": LAB_DIR });
  }
}

/** One host of Pulumi.lab.yaml, as plain data for tests to edit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LabHostConfig = Record<string, any>;

/** The lab stack's `mptcp-pulumi:verify` setting, as a config entry (empty when it has none). */
export function labVerify(): Record<string, unknown> {
  const doc = load(readFileSync(join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
  const verify = doc.config["mptcp-pulumi:verify"];
  return verify === undefined ? {} : { "mptcp-pulumi:verify": verify };
}

/** The lab stack's hosts (key paths relative, like the committed file), after `edit`. */
export function labHosts(edit: (hosts: LabHostConfig[]) => void = () => undefined): LabHostConfig[] {
  const doc = load(readFileSync(join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
  const hosts = structuredClone(doc.config["mptcp-pulumi:hosts"]) as LabHostConfig[];
  edit(hosts);
  return hosts;
}

/** Ops of a `preview --json`, by resource name. */
export function previewOps(json: string): Record<string, string> {
  const preview = JSON.parse(json) as { steps?: Array<{ op: string; urn: string }> };
  return Object.fromEntries((preview.steps ?? []).filter((s) => !s.urn.includes("pulumi:pulumi:Stack")).map((s) => [urnName(s.urn), s.op]));
}

