/**
 * What the components add to their children's resource options, and how they refuse a bad
 * configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CheckFailure } from "../validation";
import { RESOURCE_PROPERTIES, topProperty, type HostConfig, type ResourceOptionsConfig } from "./config";

/** The component option its children must be given: Pulumi passes `protect` down by itself, not `retainOnDelete`. */
export type Retain = Pick<pulumi.CustomResourceOptions, "retainOnDelete">;

/** A component's `retainOnDelete`, for its children. */
export function retainOf(opts: pulumi.ComponentResourceOptions | undefined): Retain {
  return opts?.retainOnDelete !== undefined ? { retainOnDelete: opts.retainOnDelete } : {};
}

/** One child of a host: its name suffix, its kind, and the options of its own entry. */
export interface Child {
  /** The resource's name after the host's ("eno1", "table-101"). */
  suffix: string;
  /** Its kind, for which of the host's `ignoreChanges` apply; none for the verification. */
  kind?: keyof typeof RESOURCE_PROPERTIES;
  /** The options written on the entry itself. */
  own?: ResourceOptionsConfig | undefined;
}

/**
 * A child's options: the component as parent; the host's options with the entry's own on top
 * (`ignoreChanges` of the host only where the resource has that property); and aliases to every
 * URN it had before: at the top of the stack (stacks made before the components, 0.1), and
 * under each earlier name of its host, so neither change touches a host.
 */
export function childOptions(parent: pulumi.Resource, host: HostConfig, child: Child, defaults: Retain = {}, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  const options = host.options ?? {};
  const ignoreChanges = [...(options.ignoreChanges ?? []).filter((p) => child.kind !== undefined && RESOURCE_PROPERTIES[child.kind].includes(topProperty(p))), ...(child.own?.ignoreChanges ?? [])];
  const earlier = [...(options.aliases ?? []).map((old) => `${old}-${child.suffix}`), ...(child.own?.aliases ?? [])];
  const protect = child.own?.protect ?? options.protect;
  const retainOnDelete = child.own?.retainOnDelete ?? options.retainOnDelete ?? defaults.retainOnDelete;
  return {
    ...extra,
    parent,
    ...(protect !== undefined ? { protect } : {}),
    ...(retainOnDelete !== undefined ? { retainOnDelete } : {}),
    ...(ignoreChanges.length ? { ignoreChanges } : {}),
    aliases: [{ parent: pulumi.rootStackResource }, ...earlier.flatMap((name) => [{ name }, { name, parent: pulumi.rootStackResource }])],
  };
}

/** Throws the error a component reports for a bad configuration: every failure on its own line. */
export function refuse(what: string, failures: readonly CheckFailure[]): never {
  const lines = failures.map((f) => `  ${f.property}: ${f.reason}`);
  throw new pulumi.RunError(`invalid configuration of ${what} (nothing was changed on any host):\n${lines.join("\n")}`);
}
