/**
 * Payload encryption for the suite's runs, turned on as an operator turns it on: a fresh random key in
 * `INGEST_CODEC_KEYS` for the workers, and the same data converter (`codecDataConverter`) for the suite's client
 * and the workflow bundle. The histories are then swept twice: as stored (ciphertext) and decoded with this codec —
 * what a person with the key sees. The key itself is one more secret that must appear nowhere.
 */
import { randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { codecDataConverter } from '../../src/app/codec/data-converter.ts';
import { parseCodecKeys } from '../../src/app/codec/keys.ts';
import type { Secret } from './checks/secret-forms.ts';

export interface ChaosCodec {
  /** The workers' setting. */
  readonly env: Readonly<Record<string, string>>;
  /** For the client and the workflow bundle. */
  readonly dataConverter: DataConverter;
  /** Decodes payloads as the workers' data converter does. */
  readonly codec: PayloadCodec;
  /** The key, to be looked for everywhere. */
  readonly secret: Secret;
}

/** A codec with a key of its own. */
export function createChaosCodec(): ChaosCodec {
  const key = randomBytes(32).toString('base64');
  const variable = 'INGEST_CODEC_KEYS';
  const dataConverter = codecDataConverter(parseCodecKeys(`chaos:${key}`, variable));
  if (dataConverter === undefined) throw new Error('codecDataConverter gave no converter for a key');
  const codecs = dataConverter.payloadCodecs ?? [];
  return {
    env: { [variable]: `chaos:${key}` },
    dataConverter,
    codec: {
      encode: async (payloads: Payload[]) => {
        let out = payloads;
        for (const codec of codecs) out = await codec.encode(out);
        return out;
      },
      decode: async (payloads: Payload[]) => {
        let out = payloads;
        for (const codec of [...codecs].reverse()) out = await codec.decode(out);
        return out;
      },
    },
    secret: { name: variable, value: key },
  };
}
