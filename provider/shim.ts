/**
 * What Pulumi stores as each resource's `__provider`: a few lines of JavaScript that load the
 * compiled provider (runtime.js) at run time and hand the engine its provider for one resource kind.
 *
 * Pulumi's dynamic-provider host evaluates that text as a module and calls its `handler()`.
 * Normally the SDK produces the text by serializing a closure, which costs ~0.8 s per program run
 * (an inspector session and a TypeScript parse) and breaks on module-level objects
 * (pulumi/pulumi#18997). Writing the module ourselves avoids both.
 *
 * The text is kept in the state and evaluated again by refresh and destroy, which do not run the
 * program and may run on another machine or from another checkout (CI's workspace today, a
 * teammate's clone tomorrow). So it finds the provider from where the engine runs it, and uses the
 * path recorded at declaration only as the last resort.
 */
import type { ResourceKind } from "./runtime";

/** The package's name: how a project that installed it, or a checkout of it, is recognised. */
const PACKAGE = "mptcp-pulumi";
/** The compiled runtime inside a package or checkout. */
const RUNTIME_IN_PACKAGE = "dist/provider/runtime.js";
/** Absolute path of the compiled runtime beside this file, where the resource was declared. */
const DECLARED_AT = `${__dirname}/runtime.js`;

/**
 * The module's body. `cwd` is the engine's working directory for the provider: the Pulumi
 * program's folder. In order: the package as that project resolves it (an installed
 * dependency), a checkout of this repository the folder lies in (its own program), and the
 * package where the resource was declared. Evaluated by require-from-string, so `require`
 * resolves from the working directory, never from a path baked in here.
 */
function body(kind: ResourceKind): string[] {
  return [
    "exports.handler = function () {",
    '  var fs = require("fs");',
    '  var path = require("path");',
    "  var cwd = process.cwd();",
    "  var tried = [];",
    "  function usable(root) {",
    `    var file = path.join(root, ${JSON.stringify(RUNTIME_IN_PACKAGE)});`,
    "    tried.push(file);",
    "    return fs.existsSync(file) ? file : undefined;",
    "  }",
    "  function installed() {",
    "    try {",
    `      return usable(path.dirname(require.resolve(${JSON.stringify(`${PACKAGE}/package.json`)}, { paths: [cwd] })));`,
    "    } catch (error) {",
    "      return undefined;",
    "    }",
    "  }",
    "  function checkout() {",
    "    for (var dir = cwd; ; dir = path.dirname(dir)) {",
    "      try {",
    `        if (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name === ${JSON.stringify(PACKAGE)}) return usable(dir);`,
    "      } catch (error) {}",
    "      if (path.dirname(dir) === dir) return undefined;",
    "    }",
    "  }",
    "  function declared() {",
    `    tried.push(${JSON.stringify(DECLARED_AT)});`,
    `    return fs.existsSync(${JSON.stringify(DECLARED_AT)}) ? ${JSON.stringify(DECLARED_AT)} : undefined;`,
    "  }",
    "  var file = installed() || checkout() || declared();",
    "  if (!file) {",
    `    throw new Error("${PACKAGE}: no compiled provider found from " + cwd + " (looked at " + tried.join(", ") + "). ` +
      'Install the package in the project, or run `npm run build` in a checkout of it");',
    "  }",
    `  var provider = require(file).providers[${JSON.stringify(kind)}];`,
    `  if (!provider) throw new Error("${PACKAGE}: the provider at " + file + " has no resource kind ${kind}");`,
    "  return provider;",
    "};",
    "",
  ];
}

/** The `__provider` module text for a resource kind. */
export function providerModule(kind: ResourceKind): string {
  return body(kind).join("\n");
}
