/**
 * The data converter of every client, worker and replayer of this process: with codec keys (`Settings.codec`), the
 * AES-256-GCM payload codec and the failure converter that moves failure messages and stack traces into an
 * encrypted payload; without, the SDK's defaults. Give the same converter to the client, the worker and the workflow
 * bundle (`bundleWorkflows`): the failure converter of workflow code is bundled with it.
 */
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec.ts';
import type { CodecKeyring } from './keys.ts';

/** The module exporting the failure converter of an encrypting process (`failureConverterPath`). */
export const encryptingFailureConverterPath: string = fileURLToPath(
  new URL('./failure-converter.js', import.meta.url),
);

/** The data converter for these keys; undefined (the SDK's default) without keys. */
export function codecDataConverter(keys: CodecKeyring | undefined): DataConverter | undefined {
  if (keys === undefined) return undefined;
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: encryptingFailureConverterPath };
}
