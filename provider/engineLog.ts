/**
 * Warnings from the provider process to the Pulumi engine, shown by the CLI like any Pulumi
 * warning. The dynamic-provider host gives its resources no logger, but it is started with the
 * engine's address as its argument, and the engine's Log service takes messages from any plugin.
 * Outside an engine (tests, scripts) the message goes to stderr.
 */

/** The engine's address when this process is a provider the engine started, else undefined. */
export function engineAddress(argv: readonly string[] = process.argv): string | undefined {
  const address = argv[2];
  return address !== undefined && /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(address) ? address : undefined;
}

/** Sends a warning to the engine (or stderr); never throws: a lost warning must not fail an operation. */
export async function warn(message: string, address = engineAddress()): Promise<void> {
  if (address === undefined) {
    process.stderr.write(`warning: ${message}\n`);
    return;
  }
  try {
    // Loaded here, not at module level: only a provider process the engine started needs them.
    const grpc = await import("@grpc/grpc-js");
    const { EngineClient } = await import("@pulumi/pulumi/proto/engine_grpc_pb");
    const { LogRequest, LogSeverity } = await import("@pulumi/pulumi/proto/engine_pb");
    const client = new EngineClient(address, grpc.credentials.createInsecure());
    const request = new LogRequest().setSeverity(LogSeverity.WARNING).setMessage(message).setEphemeral(false);
    await new Promise<void>((resolve, reject) => client.log(request, (error) => (error ? reject(error) : resolve())));
    client.close();
  } catch (error) {
    process.stderr.write(`warning: ${message} (could not reach the engine's log: ${String(error)})\n`);
  }
}
