/**
 * The object Pulumi serializes into the stack for each resource: a few lines that load the
 * compiled provider (dist/provider/runtime.js) at run time and forward every call to it.
 *
 * Pulumi captures dynamic providers by value; anything module-level they reference would be
 * serialized with them and break (pulumi/pulumi#18997). Capturing only two strings avoids that,
 * and means refresh and destroy of old stacks run the current provider code.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "./runtime";

/** Absolute path of the compiled runtime next to this file, baked into the shim as a fallback. */
const RUNTIME_MODULE = `${__dirname}/runtime.js`;

/** A serializable dynamic provider that forwards to the runtime's provider for `kind`. */
export function shimProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  const builtAt = RUNTIME_MODULE;
  const load = (): pulumi.dynamic.ResourceProvider => {
    // The engine starts the provider in the project directory; prefer that checkout's build.
    const candidates = [`${process.cwd()}/dist/provider/runtime.js`, builtAt];
    const fs = require("fs") as typeof import("fs");
    const path = candidates.find((candidate) => fs.existsSync(candidate));
    if (!path) throw new Error(`mptcp-pulumi: compiled provider not found (looked at ${candidates.join(", ")}); run \`npm run build\``);
    const runtime = require(path) as { providers: Record<string, pulumi.dynamic.ResourceProvider> };
    const provider = runtime.providers[kind];
    if (!provider) throw new Error(`mptcp-pulumi: the provider at ${path} has no resource kind ${kind}`);
    return provider;
  };
  return {
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}
