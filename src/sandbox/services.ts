/**
 * The shared state every route handler works from: settings, dataset, projects and their tasks, messaging state
 * and OAuth2 tokens.
 */
import type { TokenStore } from './auth.ts';
import type { CallLogState, ChangesState } from './changes.ts';
import type { Dataset } from './dataset.ts';
import type { ProjectDataset } from './generators-projects.ts';
import type { MessagingStore } from './messaging-store.ts';
import type { ResolvedSandboxOptions } from './options.ts';

export interface SandboxServices {
  readonly settings: ResolvedSandboxOptions;
  readonly dataset: Dataset;
  readonly projects: ProjectDataset;
  readonly messaging: MessagingStore;
  readonly tokens: TokenStore;
  /** The mutable records of `/generic/changes` and the sandbox clock. */
  readonly changes: ChangesState;
  /** New call records and the `dateFrom`/`dateTo` window of `/v1/user_call_records`. */
  readonly callLog: CallLogState;
}
