/**
 * Makes a failing Pulumi program report its error in about the time of a good run.
 *
 * @pulumi/pulumi's uncaught-error handler formats every error, even a RunError whose stack it then
 * hides, with `util.inspect(err, {colors: true})`. Its source maps turn its own frames into paths
 * like `node_modules/@pulumi/resource.ts`, on which coloured inspect loops until V8's string limit
 * on Node 20.19.6+ (nodejs/node#64011): ~15 s and ~3.4 GB before the message appears, or an
 * out-of-memory crash that never shows it. The handler uses only the message of an error that has
 * no stack, so we fold the useful frames into the message first and drop the stack.
 */

/** Frames worth showing: the program's and the provider's own, not Node's or Pulumi's. */
function ownFrames(stack: string): string[] {
  return stack
    .split("\n")
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("at ") && !line.includes("node_modules") && !line.includes("node:"));
}

/** Whether Pulumi hides this error's stack anyway (RunError and its kin, such as a missing config key). */
function isRunError(error: Error): boolean {
  return (error as { __pulumiRunError?: unknown }).__pulumiRunError === true;
}

/** Rewrites an error in place so Pulumi's handler prints it without calling util.inspect. */
export function flattenForReport(error: unknown): void {
  if (!(error instanceof Error) || !error.stack) return;
  const frames = isRunError(error) ? [] : ownFrames(error.stack);
  const message = frames.length ? `${error.message}\n    ${frames.join("\n    ")}` : error.message;
  Object.defineProperty(error, "message", { value: message, configurable: true, writable: true });
  Object.defineProperty(error, "stack", { value: undefined, configurable: true, writable: true });
}

let installed = false;

/** Installs, once per process, listeners that run before Pulumi's and flatten the error. */
export function reportErrorsPlainly(): void {
  if (installed) return;
  installed = true;
  process.prependListener("uncaughtException", flattenForReport);
  process.prependListener("unhandledRejection", flattenForReport);
}
