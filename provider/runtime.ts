/**
 * The provider side, loaded inside Pulumi's dynamic-provider process by the shims (shim.ts).
 * Module state here (sessions, cached host state) lives for one engine operation and is never
 * serialized into the stack.
 */
import * as nodeModule from "node:module";
import type * as pulumi from "@pulumi/pulumi";
import { projectRoot } from "./connection";
import { ProviderContext } from "./context";
import { dynamicProviderFor } from "./resource";
import { sharedSightings } from "./sightings";
import { traceProcess, tracerFromEnv } from "./trace";
import { endpointDefinition } from "./resources/endpoint";
import { hostDefinition } from "./resources/host";
import { interfaceDefinition } from "./resources/interface";
import { policyRouteDefinition } from "./resources/policyRoute";
import { preflightDefinition } from "./resources/preflight";
import { sysctlDefinition } from "./resources/sysctl";
import { verificationProviderFor } from "./resources/verification";

/**
 * This process's context: the project found once, from where the engine started the provider
 * (the program's folder or the project root), and the sessions every resource kind shares.
 */
export const context = new ProviderContext(projectRoot(), sharedSightings(), tracerFromEnv());
traceProcess(context.tracer, "provider");

/** Every resource kind the provider serves, by the kind name stored stacks call it by. */
export const providers = {
  Preflight: dynamicProviderFor(preflightDefinition, context),
  MptcpHost: dynamicProviderFor(hostDefinition, context),
  NetworkInterface: dynamicProviderFor(interfaceDefinition, context),
  PolicyRoute: dynamicProviderFor(policyRouteDefinition, context),
  Endpoint: dynamicProviderFor(endpointDefinition, context),
  SysctlTuning: dynamicProviderFor(sysctlDefinition, context),
  MptcpVerification: verificationProviderFor(context),
} satisfies Record<string, pulumi.dynamic.ResourceProvider>;

// With NODE_COMPILE_CACHE set (scripts/node-env.sh), Node writes the code it compiled at exit, but
// the engine kills this process when the operation ends: written now, the next operation's
// provider loads @pulumi/pulumi and this runtime from the cache. Without the variable it does
// nothing; Node.js before 22.10 (the package allows 22.0) has no such function.
(nodeModule as Partial<typeof nodeModule>).flushCompileCache?.();

/** A resource kind name. */
export type ResourceKind = keyof typeof providers;
