/**
 * Every workflow type the worker registers. Workflow type names are public API (CLI, UI, schedules, histories).
 * Only deterministic orchestration lives here: no I/O, no Node built-ins, no db/http imports (enforced by lint).
 */
export { healthCheck, type HealthReport } from './health-check.ts';
export { ingestSource, progressQuery } from './ingest-source.ts';
export { resolveChildren } from './resolve-children.ts';
