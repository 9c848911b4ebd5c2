// @ts-check
/**
 * The failure converter of an encrypting worker and client: the SDK's own, with `encodeCommonAttributes`, so that a
 * failure's message and stack trace travel in its `encodedAttributes` payload — which the payload codec encrypts —
 * and history shows only "Encoded failure". Loaded by path (`DataConverter.failureConverterPath`): `require`d by the
 * SDK on the main thread and bundled into the workflow code, so it runs in the workflow sandbox too (linted as
 * workflow code). Plain JavaScript because the SDK `require`s it, also in processes without a TypeScript loader.
 */
import { DefaultFailureConverter } from '@temporalio/common';

/** @type {import('@temporalio/common').FailureConverter} */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

/**
 * The mark of a workflow bundle built with this converter: it is in the bundle's text, and a worker that encrypts
 * refuses a prebuilt bundle without it (`bundle-check.ts`). Change it only with that check.
 */
export const encryptingFailureConverterMark = 'durable-ingest:encrypting-failure-converter:v1';
