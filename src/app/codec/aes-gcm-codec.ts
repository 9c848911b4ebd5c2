/**
 * The payload codec that keeps workflow history unreadable without the keys: each payload (metadata and data, as
 * its protobuf bytes) is encrypted with AES-256-GCM under a random 12-byte IV, and replaced by a payload of
 * encoding `binary/encrypted` whose metadata names the key id and whose data is IV ‖ ciphertext ‖ 16-byte tag —
 * the format of Temporal's encryption sample. Decoding picks the key by that id, so old payloads still decode after
 * a rotation; a payload of any other encoding passes through unchanged, so encryption can be turned on for a
 * namespace that already holds unencrypted histories.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import protos from '@temporalio/proto';
import { IngestError } from '../../errors.ts';
import type { CodecKeyring } from './keys.ts';

/** The `encoding` metadata of an encrypted payload. */
export const encryptedEncoding = 'binary/encrypted';
/** The metadata entry naming the key a payload was encrypted with. */
export const keyIdMetadataKey = 'encryption-key-id';

const ProtoPayload = protos.temporal.api.common.v1.Payload;
const algorithm = 'aes-256-gcm';
const ivBytes = 12;
const tagBytes = 16;

/** AES-256-GCM encryption of every payload with the keyring's encrypting key; decryption with any of its keys. */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeyring) {}

  // Synchronous work behind the promise interface: node:crypto's AES-GCM is fast and has no async API. A throw in
  // the executor becomes the rejection.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => {
      const id = this.keys.encryptWith;
      const key = this.keys.key(id);
      if (key === undefined) throw new Error(`the keyring has no key "${id}"`);
      resolve(
        payloads.map((payload) => ({
          metadata: { encoding: utf8(encryptedEncoding), [keyIdMetadataKey]: utf8(id) },
          data: encrypt(ProtoPayload.encode(payload).finish(), key),
        })),
      );
    });
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => this.decodeOne(payload))));
  }

  private decodeOne(payload: Payload): Payload {
    const metadata = payload.metadata ?? {};
    if (text(metadata['encoding']) !== encryptedEncoding) return payload;
    const id = text(metadata[keyIdMetadataKey]);
    if (id === undefined) {
      throw codecError('CODEC_PAYLOAD_INVALID', `an encrypted payload names no key id (${keyIdMetadataKey})`);
    }
    const key = this.keys.key(id);
    if (key === undefined) {
      throw codecError(
        'CODEC_KEY_UNKNOWN',
        `a payload is encrypted with the key id "${id}", which is not among the codec keys ` +
          `(${this.keys.ids.join(', ')}): add that key to INGEST_CODEC_KEYS`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < ivBytes + tagBytes) {
      throw codecError(
        'CODEC_PAYLOAD_INVALID',
        `an encrypted payload (key id "${id}") is too short to decrypt`,
      );
    }
    let plain: Buffer;
    try {
      plain = decrypt(data, key);
    } catch {
      throw codecError(
        'CODEC_DECRYPT_FAILED',
        `a payload encrypted with the key id "${id}" does not decrypt: it was altered, or the key of that id ` +
          'is not the one it was encrypted with',
      );
    }
    return ProtoPayload.decode(plain);
  }
}

function encrypt(plain: Uint8Array, key: Buffer): Uint8Array {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv(algorithm, key, iv);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(data: Uint8Array, key: Buffer): Buffer {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const decipher = createDecipheriv(algorithm, key, bytes.subarray(0, ivBytes));
  decipher.setAuthTag(bytes.subarray(bytes.length - tagBytes));
  return Buffer.concat([decipher.update(bytes.subarray(ivBytes, bytes.length - tagBytes)), decipher.final()]);
}

function codecError(code: string, message: string): IngestError {
  return new IngestError('environment', code, message, { retryable: false });
}

function utf8(value: string): Uint8Array {
  return Buffer.from(value, 'utf8');
}

function text(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes === null || bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}
