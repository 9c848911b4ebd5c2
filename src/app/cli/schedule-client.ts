/**
 * What the `ingest schedule` commands share about Temporal: a client for the length of one command (an unreachable
 * server is a `CliError` saying so), a source's schedule or a hint at what there is instead (or why it cannot be
 * decoded).
 */
import type { Client, ScheduleDescription, ScheduleHandle } from '@temporalio/client';
import { scanSources, type SourceScan } from '../../config/registry.ts';
import { describeError, isIngestError } from '../../errors.ts';
import { taskQueue as defaultTaskQueue } from '../../shared/names.ts';
import { CliError, type CliContext } from './context.ts';
import { describeDefensively, describeUndecodable } from './schedule-encryption.ts';
import { desiredSchedules, scheduleIdOf } from './schedule-sync.ts';

/** Runs `fn` with a Temporal client, closing it after; an unreachable server is a `CliError` saying so. */
export async function withClient<T>(context: CliContext, fn: (client: Client) => Promise<T>): Promise<T> {
  const { address, namespace } = context.settings.temporal;
  const where = `Temporal at ${address ?? '(TEMPORAL_ADDRESS)'} (namespace ${namespace})`;
  let connection: Awaited<ReturnType<CliContext['temporal']>>;
  try {
    connection = await context.temporal();
  } catch (error) {
    if (isIngestError(error)) throw error;
    throw new CliError(`cannot reach ${where}: ${firstLine(error)}`);
  }
  try {
    return await fn(connection.client);
  } catch (error) {
    if (isUnreachable(error)) throw new CliError(`cannot reach ${where}: ${firstLine(error)}`);
    throw error;
  } finally {
    await connection.close();
  }
}

export function firstLine(error: unknown): string {
  return describeError(error).split('\n')[0] ?? 'unknown error';
}

/** A gRPC UNAVAILABLE or DEADLINE_EXCEEDED (or a failed connect) anywhere in the error's causes. */
function isUnreachable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (code === 14 || code === 4) return true;
    if (current.message.startsWith('Failed to connect')) return true;
    current = current.cause;
  }
  return false;
}

/** The schedules the folder declares, or undefined when the folder cannot be read (for hints only). */
export async function scanQuietly(context: CliContext): Promise<SourceScan | undefined> {
  try {
    return await scanSources(context.sourcesDir);
  } catch {
    return undefined;
  }
}

/** The description of a source's schedule; an unknown one is a `CliError` with what there is instead. */
export async function describeOrFail(
  client: Client,
  context: CliContext,
  source: string,
): Promise<{ readonly handle: ScheduleHandle; readonly description: ScheduleDescription }> {
  const scheduleId = scheduleIdOf(source);
  const handle = client.schedule.getHandle(scheduleId);
  const found = await describeDefensively(client, scheduleId, context.settings.codec);
  if (found === undefined) {
    throw new CliError(
      `no schedule ${scheduleId} in Temporal: ${await unknownScheduleHint(context, source)}`,
    );
  }
  if ('undecodable' in found) {
    throw new CliError(`${scheduleId}: ${describeUndecodable(found.undecodable)}`);
  }
  return { handle, description: found.description };
}

export async function unknownScheduleHint(context: CliContext, source: string): Promise<string> {
  const scan = await scanQuietly(context);
  if (scan === undefined)
    return 'run "ingest schedule sync" to create the schedules the source files declare';
  const registered = scan.sources.get(source);
  if (registered !== undefined) {
    return registered.loaded.config.schedule === undefined
      ? `the source "${source}" declares no schedule (add a \`schedule\` key to ${registered.file}, then run "ingest schedule sync")`
      : `the source "${source}" declares one: run "ingest schedule sync" to create it`;
  }
  const declaring = desiredSchedules(scan, defaultTaskQueue).map((desired) => desired.source);
  return `there is no source "${source}" in ${scan.dir}; ${
    declaring.length === 0
      ? 'no source file declares a schedule'
      : `the sources that declare a schedule are: ${declaring.join(', ')}`
  }`;
}
