/**
 * What Pulumi stores as each resource's `__provider`: a few lines of JavaScript that load the
 * compiled provider (dist/provider/runtime.js) at run time and hand the engine its provider for
 * one resource kind.
 *
 * Pulumi's dynamic-provider host evaluates that text as a module and calls its `handler()`.
 * Normally the SDK produces the text by serializing a closure, which costs ~0.8 s per program run
 * (an inspector session and a TypeScript parse) and breaks on module-level objects
 * (pulumi/pulumi#18997). Writing the module ourselves avoids both, and means refresh and destroy
 * of older stacks run the current provider code.
 */
import type { ResourceKind } from "./runtime";

/** Absolute path of the compiled runtime next to this file, the fallback location. */
const RUNTIME_MODULE = `${__dirname}/runtime.js`;

/** The `__provider` module text for a resource kind. */
export function providerModule(kind: ResourceKind): string {
  return [
    "exports.handler = function () {",
    '  var fs = require("fs");',
    "  // Prefer the build of the checkout the engine runs in (the provider starts in the",
    "  // program's folder, dist/stacks, or the project root); else where the stack was built.",
    `  var candidates = [process.cwd() + "/../provider/runtime.js", process.cwd() + "/dist/provider/runtime.js", ${JSON.stringify(RUNTIME_MODULE)}];`,
    "  var path = candidates.filter(function (c) { return fs.existsSync(c); })[0];",
    '  if (!path) throw new Error("mptcp-pulumi: compiled provider not found (looked at " + candidates.join(", ") + "); run `npm run build`");',
    `  var provider = require(path).providers[${JSON.stringify(kind)}];`,
    `  if (!provider) throw new Error("mptcp-pulumi: the provider at " + path + " has no resource kind " + ${JSON.stringify(kind)});`,
    "  return provider;",
    "};",
    "",
  ].join("\n");
}
