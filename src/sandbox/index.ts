/** The sandbox API's public surface: start it, configure it, read what it served and what it saw. */
export { startSandbox, healthPath, type Sandbox } from './server.ts';
export {
  resolveSandboxOptions,
  defaultKeys,
  defaultGenericCredentials,
  type SandboxOptions,
  type GenericCredentialsOptions,
  type ResolvedSandboxOptions,
  type ResolvedGenericCredentials,
} from './options.ts';
export { createDataset, type Dataset, type DatasetSettings } from './dataset.ts';
export {
  communicationsResources,
  messagingResources,
  genericResources,
  sandboxResources,
  singleObjectResources,
  defaultCounts,
  messagingPaths,
  primaryKeyOf,
  type SandboxResource,
  type CommunicationsResource,
  type MessagingResource,
} from './resources.ts';
export { hostileKinds, hostileNumbers, type HostileKind, type HostileOptions } from './hostile.ts';
export {
  createFaultBook,
  describeFault,
  type Fault,
  type FaultRule,
  type FaultRuleState,
  type FaultBook,
  type RetryAfter,
} from './faults.ts';
export { parseFaultSpec } from './fault-spec.ts';
export { retryAfterHeader } from './fault-replies.ts';
export {
  messageStatuses,
  finalMessageStatuses,
  isFinalStatus,
  type MessageStatus,
  type FinalMessageStatus,
  type MessagingState,
  type SentMessage,
  type PreloadOptions,
  type MessageProgressOptions,
} from './messaging-store.ts';
export type {
  RequestLog,
  RequestLogEntry,
  RequestLogFilter,
  CredentialSighting,
  CredentialLocation,
  Origin,
  ServedRange,
} from './request-log.ts';
export {
  genericAuthKinds,
  paginatorStyles,
  genericApiKeyNames,
  nextCursorHeader,
  tokenPath,
  type GenericAuthKind,
  type PaginatorStyle,
} from './routes-generic.ts';
