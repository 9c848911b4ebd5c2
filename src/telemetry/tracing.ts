/**
 * Traces: an OpenTelemetry tracer provider that posts spans to an OTLP/HTTP endpoint (JSON), and the Temporal SDK's
 * OpenTelemetry interceptors that put workflows and activities into those traces — client → workflow → activity,
 * one trace per run, with our own spans (`spans.ts`) inside each activity. Imported (dynamically) only when an
 * endpoint is set: without one none of this is loaded, and the spans of `spans.ts` are the API's no-ops.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import { describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { WorkerTracing } from './worker-tracing.ts';

/** The `service.name` of every span. */
export const serviceName = 'durable-ingest';

export interface Tracing extends WorkerTracing {
  /**
   * Exports the spans still buffered and stops; later spans are dropped. Never fails: a collector that does not
   * answer costs the last spans (logged), not the process's clean exit.
   */
  shutdown(): Promise<void>;
}

/**
 * Registers the process-wide tracer provider (with the async-hooks context manager and W3C propagation) exporting
 * to `url`. The exporter also honours the standard `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT` and `…_COMPRESSION`.
 */
export function startTracing(url: string): Tracing {
  const resource = new Resource({ 'service.name': serviceName });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    async shutdown() {
      await provider.shutdown().catch((error: unknown) => {
        logger.warn({ error: describeError(error) }, 'the last spans could not be exported');
      });
      // Back to the no-op API, so that a later runtime of the same process may register its own.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
