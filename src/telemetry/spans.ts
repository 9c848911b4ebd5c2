/**
 * Our own spans inside activities (fetch, stage, merge), through the OpenTelemetry API only: when the process has no
 * tracer provider (no OTLP endpoint set) the API hands out non-recording spans and this costs next to nothing. A
 * span's status carries an error's code, never its message (messages name requests).
 */
import { SpanStatusCode, context, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { isIngestError } from '../errors.ts';

/** The context now active (an activity's span, inside an activity): the parent for spans started later. */
export function activeContext(): Context {
  return context.active();
}

/**
 * Runs `body` in a span named `name` (a child of `parent`, default the active context) and ends the span when the
 * body settles; a failure sets the span's status to an error with the failure's code.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  body: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  // Asked for each span, not kept: a kept tracer would stay bound to a provider that has since shut down.
  return trace.getTracer('durable-ingest').startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await body(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: isIngestError(error) ? error.code : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}
