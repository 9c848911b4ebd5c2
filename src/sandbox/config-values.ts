/**
 * Config values the sandbox suggests per source: the dlt `config:` entries a source needs to do all it can against
 * the sandbox (e.g. the messaging source's `sms` resource sends only when `to` and `from` are set). The app binds
 * them as `<SOURCE>_CONFIG_<KEY>` environment variables (`MESSAGING_CONFIG_TO`, `MESSAGING_CONFIG_FROM`), so that
 * no source-specific logic lives in the app.
 */

/** Per source name, per config key, the value to bind (as `<SOURCE>_CONFIG_<KEY>`). */
export type SandboxConfigValues = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * A North American fictional number (555-01XX is reserved for fiction): the sandbox's messaging API accepts any
 * non-empty `to`, and counts sends per `to` (`sandbox.messaging.sendCount(sandboxSmsRecipient)`).
 */
export const sandboxSmsRecipient = '+15555550100';

/** An alphanumeric sender id, as SMS APIs allow for `from`. */
export const sandboxSmsSender = 'durable-ingest';

/** The values every sandbox suggests (they do not depend on the seed). */
export const sandboxConfigValues: SandboxConfigValues = Object.freeze({
  messaging: Object.freeze({ to: sandboxSmsRecipient, from: sandboxSmsSender }),
});
