/**
 * The package's public API (`import { MptcpGroup } from "mptcp-pulumi"`): the resources, the
 * components that compose them per host and per group, and the checks they run. Importing it
 * declares nothing: resources exist only when a program constructs them.
 */
export * from "./index";
export { MptcpServer, type MptcpServerArgs, type MptcpServerOutputs } from "./components/server";
export { MptcpGroup, checkGroup, type MptcpGroupArgs } from "./components/group";
export { hostConfigSchema, groupConfigSchema, type HostConfig, type HostConfigInput } from "./components/config";
export { verifyConfigSchema, type VerifyConfig } from "./resources/verification";
export type { CheckFailure } from "./validation";
export { reportErrorsPlainly } from "./plainErrors";
