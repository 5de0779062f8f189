/**
 * The provider side, loaded inside Pulumi's dynamic-provider process by the shims (shim.ts).
 * Module state here (sessions, cached host state) lives for one engine operation and is never
 * serialized into the stack.
 */
import type * as pulumi from "@pulumi/pulumi";
import { dynamicProviderFor } from "./resource";
import { endpointDefinition } from "./resources/endpoint";
import { hostDefinition } from "./resources/host";
import { interfaceDefinition } from "./resources/interface";
import { policyRouteDefinition } from "./resources/policyRoute";
import { sysctlDefinition } from "./resources/sysctl";
import { verificationProvider } from "./resources/verification";

/** Every resource kind the provider serves. */
export const providers = {
  MptcpHost: dynamicProviderFor(hostDefinition),
  NetworkInterface: dynamicProviderFor(interfaceDefinition),
  PolicyRoute: dynamicProviderFor(policyRouteDefinition),
  Endpoint: dynamicProviderFor(endpointDefinition),
  SysctlTuning: dynamicProviderFor(sysctlDefinition),
  MptcpVerification: verificationProvider,
} satisfies Record<string, pulumi.dynamic.ResourceProvider>;

/** A resource kind name. */
export type ResourceKind = keyof typeof providers;
