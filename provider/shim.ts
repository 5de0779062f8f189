/**
 * What Pulumi stores as each resource's `__provider`: a few lines of JavaScript that load the
 * compiled provider (runtime.js beside this file, in the installed package or a checkout's dist/)
 * at run time and hand the engine its provider for one resource kind.
 *
 * Pulumi's dynamic-provider host evaluates that text as a module and calls its `handler()`.
 * Normally the SDK produces the text by serializing a closure, which costs ~0.8 s per program run
 * (an inspector session and a TypeScript parse) and breaks on module-level objects
 * (pulumi/pulumi#18997). Writing the module ourselves avoids both, and means refresh and destroy
 * of older stacks run the current provider code.
 */
import type { ResourceKind } from "./runtime";

/** Absolute path of the compiled runtime beside this file: the package's own location. */
const RUNTIME_MODULE = `${__dirname}/runtime.js`;

/** The `__provider` module text for a resource kind. */
export function providerModule(kind: ResourceKind): string {
  return [
    "exports.handler = function () {",
    '  var fs = require("fs");',
    "  // The package that declared the resource, wherever it is installed (a user's node_modules,",
    "  // a checkout's dist/): never looked up from the working directory, which is the user's.",
    "  // If the package has since moved (a reinstall elsewhere), the one the project resolves now.",
    `  var path = ${JSON.stringify(RUNTIME_MODULE)};`,
    "  if (!fs.existsSync(path)) {",
    "    try {",
    '      path = require("path").join(require("path").dirname(require.resolve("mptcp-pulumi/package.json", { paths: [process.cwd()] })), "dist/provider/runtime.js");',
    "    } catch (error) {",
    `      throw new Error("mptcp-pulumi: the provider is neither at " + ${JSON.stringify(RUNTIME_MODULE)} + " nor installed in " + process.cwd() + " (install the package, or run \`npm run build\` in a checkout)");`,
    "    }",
    "  }",
    `  var provider = require(path).providers[${JSON.stringify(kind)}];`,
    `  if (!provider) throw new Error("mptcp-pulumi: the provider at " + path + " has no resource kind " + ${JSON.stringify(kind)});`,
    "  return provider;",
    "};",
    "",
  ].join("\n");
}
