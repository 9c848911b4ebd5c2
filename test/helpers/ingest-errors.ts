/** The IngestError a test expects a call or a promise to fail with: anything else thrown is rethrown. */
import { isIngestError, type IngestError } from '../../src/errors.ts';

/** The error `run` throws (it must throw an IngestError). */
export function errorOf(run: () => unknown): IngestError {
  try {
    run();
  } catch (error) {
    if (isIngestError(error)) return error;
    throw error;
  }
  throw new Error('expected an IngestError, but nothing was thrown');
}

/** The error a promise rejects with (it must be an IngestError). */
export async function asyncErrorOf(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise;
  } catch (error) {
    if (isIngestError(error)) return error;
    throw error;
  }
  throw new Error('expected an IngestError, but the promise resolved');
}
