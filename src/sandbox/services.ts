/** The shared state every route handler works from: settings, dataset, messaging state and OAuth2 tokens. */
import type { TokenStore } from './auth.ts';
import type { Dataset } from './dataset.ts';
import type { MessagingStore } from './messaging-store.ts';
import type { ResolvedSandboxOptions } from './options.ts';

export interface SandboxServices {
  readonly settings: ResolvedSandboxOptions;
  readonly dataset: Dataset;
  readonly messaging: MessagingStore;
  readonly tokens: TokenStore;
}
