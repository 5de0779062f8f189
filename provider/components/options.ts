/**
 * What the components add to their children's resource options, and how they refuse a bad
 * configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CheckFailure } from "../validation";

/**
 * A child's options: the component as parent, and an alias to the stack as parent, where stacks
 * made before the components existed (0.1: every resource at the top) keep them. With it such a
 * stack previews with no change.
 */
export function childOptions(parent: pulumi.Resource, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...extra, parent, aliases: [...(extra.aliases ?? []), { parent: pulumi.rootStackResource }] };
}

/** Throws the error a component reports for a bad configuration: every failure on its own line. */
export function refuse(what: string, failures: readonly CheckFailure[]): never {
  const lines = failures.map((f) => `  ${f.property}: ${f.reason}`);
  throw new pulumi.RunError(`invalid configuration of ${what} (nothing was changed on any host):\n${lines.join("\n")}`);
}
