/**
 * The part of tracing a worker is built with, light enough to load when tracing is off: what a traced worker and
 * client are given (`WorkerTracing`, made by `tracing.ts`), the workflow-side interceptor modules a bundle needs (and
 * how to tell whether a prebuilt bundle has them), and the sink that drops workflow spans when the worker does not
 * trace.
 */
import { createRequire } from 'node:module';
import type { ClientInterceptors } from '@temporalio/client';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

const require = createRequire(import.meta.url);

/** What a worker and the client that starts runs need to take part in traces. */
export interface WorkerTracing {
  /** The activity interceptors: each activity a span, child of the workflow's (from the activity's headers). */
  readonly interceptors: WorkerInterceptors;
  /** The sink through which the workflow-side interceptors hand their spans to the exporter. */
  readonly sinks: InjectedSinks<OpenTelemetrySinks>;
  /** For the `Client` that starts runs: the trace begins there. */
  readonly clientInterceptors: ClientInterceptors;
}

/**
 * The workflow-side interceptors, which must be in the workflow bundle (`bundleWorkflowCode`'s
 * `workflowInterceptorModules`): a bundle built without them still runs, with activity spans only.
 */
export const tracingWorkflowModules: readonly string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * Whether the code of a workflow bundle has the workflow tracing interceptors in it: webpack keeps the SDK's class
 * names (the bundle is not minified), and this one is the interceptors' own.
 */
export function bundleHasTracing(code: string): boolean {
  return code.includes('OpenTelemetryInboundInterceptor');
}

/**
 * The workflow span sink of a worker that does not trace: it drops the spans of a bundle built with the tracing
 * interceptors (`npm run bundle`), which would otherwise be logged as calls to an unregistered sink.
 */
export const droppedWorkflowSpans: InjectedSinks<OpenTelemetrySinks> = {
  exporter: { export: { fn: () => undefined, callDuringReplay: false } },
};
