/**
 * The payload codec and its keys: AES-256-GCM round trips, a rotated key still decodes while the new one encrypts,
 * tampering and unknown key ids are refused with our codes, unencrypted payloads pass through, INGEST_CODEC_KEYS is
 * validated without ever showing a key (not even one written where the id goes), the start-up line says whether
 * payloads are encrypted, the encrypting data converter hides failure messages too, and a worker that encrypts
 * refuses a prebuilt workflow bundle without the encrypting failure converter.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  encodeToPayload,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow/index.js';
import { describe, expect, it } from 'vitest';
import { decodePendingActivities } from '../../../src/app/cli/decode-pending.ts';
import { AesGcmCodec, encryptedEncoding, keyIdMetadataKey } from '../../../src/app/codec/aes-gcm-codec.ts';
import {
  assertBundleMatchesEncryption,
  bundleEncryptsFailures,
} from '../../../src/app/codec/bundle-check.ts';
import { codecDataConverter } from '../../../src/app/codec/data-converter.ts';
import { encryptingFailureConverterMark } from '../../../src/app/codec/failure-converter.js';
import { describePayloadEncryption, parseCodecKeys } from '../../../src/app/codec/keys.ts';
import { readSettings } from '../../../src/app/settings.ts';
import { IngestError } from '../../../src/errors.ts';

const newKey = () => randomBytes(32).toString('base64');
const oldKey = newKey();
const currentKey = newKey();
const secret = { to: '+15550100001', message: 'meet me at the usual place' };
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload | undefined): unknown =>
  payload === undefined ? undefined : defaultPayloadConverter.fromPayload(payload);
const metadataText = (payload: Payload | undefined, key: string) =>
  Buffer.from(payload?.metadata?.[key] ?? new Uint8Array()).toString('utf8');

/** The IngestError a promise rejects with (failing the test when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe('the AES-256-GCM payload codec', () => {
  const codec = new AesGcmCodec(parseCodecKeys(`current:${currentKey}`, 'INGEST_CODEC_KEYS'));

  it('round-trips payloads, each under its own IV, with nothing of the value in clear', async () => {
    const plain = [payloadOf(secret), payloadOf(secret), payloadOf(null)];
    const encoded = await codec.encode(plain);
    expect(encoded.map((p) => metadataText(p, 'encoding'))).toEqual(Array(3).fill(encryptedEncoding));
    expect(encoded.map((p) => metadataText(p, keyIdMetadataKey))).toEqual(['current', 'current', 'current']);
    for (const payload of encoded) {
      const bytes = Buffer.from(payload.data ?? new Uint8Array());
      expect(bytes.includes(Buffer.from(secret.to))).toBe(false);
      expect(bytes.includes(Buffer.from('json/plain'))).toBe(false);
    }
    // The same value twice: different ciphertexts (random IV).
    expect(Buffer.from(encoded[0]?.data ?? []).equals(Buffer.from(encoded[1]?.data ?? []))).toBe(false);
    const decoded = await codec.decode(encoded);
    expect(decoded.map(valueOf)).toEqual([secret, secret, null]);
    expect(metadataText(decoded[0], 'encoding')).toBe('json/plain');
  });

  it('passes unencrypted payloads through decode (encryption turned on for an existing namespace)', async () => {
    const plain = payloadOf({ recorded: 'before the key' });
    const [decoded] = await codec.decode([plain]);
    expect(valueOf(decoded)).toEqual({ recorded: 'before the key' });
  });

  it('rotates: the new key encrypts, payloads of the old key still decode', async () => {
    const before = new AesGcmCodec(parseCodecKeys(`old:${oldKey}`, 'INGEST_CODEC_KEYS'));
    const after = new AesGcmCodec(
      parseCodecKeys(`current:${currentKey}, old:${oldKey}`, 'INGEST_CODEC_KEYS'),
    );
    const [fromBefore] = await before.encode([payloadOf(secret)]);
    const [fromAfter] = await after.encode([payloadOf(secret)]);
    expect(metadataText(fromAfter, keyIdMetadataKey)).toBe('current');
    expect((await after.decode([fromBefore!, fromAfter!])).map(valueOf)).toEqual([secret, secret]);
    // A process that only has the old key cannot read the new payloads, and says which key it lacks.
    const error = await refusal(before.decode([fromAfter!]));
    expect(error.code).toBe('CODEC_KEY_UNKNOWN');
    expect(error.message).toContain('"current"');
  });

  it('refuses a tampered ciphertext, and a payload whose key id was switched to another key', async () => {
    const [encoded] = await codec.encode([payloadOf(secret)]);
    const data = Buffer.from(encoded!.data!);
    data[20] = (data[20] ?? 0) ^ 0x01;
    const tampered = await refusal(codec.decode([{ ...encoded, data }]));
    expect(tampered.code).toBe('CODEC_DECRYPT_FAILED');
    expect(tampered.message).toContain('"current"');

    const both = new AesGcmCodec(parseCodecKeys(`current:${currentKey},old:${oldKey}`, 'INGEST_CODEC_KEYS'));
    const relabelled = {
      ...encoded,
      metadata: { ...encoded!.metadata, [keyIdMetadataKey]: Buffer.from('old') },
    };
    expect((await refusal(both.decode([relabelled]))).code).toBe('CODEC_DECRYPT_FAILED');

    const truncated = { ...encoded, data: data.subarray(0, 10) };
    expect((await refusal(codec.decode([truncated]))).code).toBe('CODEC_PAYLOAD_INVALID');
  });

  it('names an unknown key id, and never the keys it has', async () => {
    const other = new AesGcmCodec(parseCodecKeys(`elsewhere:${newKey()}`, 'INGEST_CODEC_KEYS'));
    const [encoded] = await other.encode([payloadOf(secret)]);
    const error = await refusal(codec.decode([encoded!]));
    expect(error.code).toBe('CODEC_KEY_UNKNOWN');
    expect(error.message).toContain('"elsewhere"');
    expect(error.message).not.toContain(currentKey);
  });
});

describe('INGEST_CODEC_KEYS', () => {
  const keysOf = (value: string) => readSettings({ INGEST_CODEC_KEYS: value }).codec;

  it('is optional: without it nothing is encrypted', () => {
    expect(readSettings({}).codec).toBeUndefined();
    expect(codecDataConverter(undefined)).toBeUndefined();
  });

  it('encrypts with the first key and keeps every key for decoding', () => {
    const keyring = keysOf(`2026-06:${currentKey}, 2026-01:${oldKey}`);
    expect(keyring?.encryptWith).toBe('2026-06');
    expect(keyring?.ids).toEqual(['2026-06', '2026-01']);
    expect(keyring?.key('2026-01')?.toString('base64')).toBe(oldKey);
  });

  const hexKey = randomBytes(32).toString('hex');
  it.each([
    ['a key of 16 bytes', () => `a:${randomBytes(16).toString('base64')}`, /entry 1's key is 16 bytes/],
    ['a key that is not base64', () => `a:${'*'.repeat(44)}`, /entry 1's key is not base64/],
    ['a duplicate id', () => `a:${currentKey},a:${oldKey}`, /entry 2's id is the id of entry 1 too/],
    ['an entry without an id', () => currentKey, /entry 1 has no "id:"/],
    ['an empty entry', () => `a:${currentKey},`, /entry 2 is empty/],
    ['an id with a blank in it', () => `my key:${currentKey}`, /entry 1's id has characters/],
    ['an id of 65 characters', () => `${'a'.repeat(65)}:${currentKey}`, /entry 1's id is 65 characters/],
    // Written the wrong way round: the key sits where the id goes — and must not be echoed as "the id".
    [
      'an entry written key:id',
      () => `2026-06:${oldKey},${currentKey}:2026-01`,
      /entry 2's id has characters/,
    ],
    ['a hex key written key:id', () => `${hexKey}:2026-01`, /entry 1's key is not base64/],
  ])('refuses %s, naming the variable and the entry but never a key', (_, value, why) => {
    const text = value();
    let error: unknown;
    try {
      keysOf(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).code).toBe('SETTING_INVALID');
    expect((error as IngestError).message).toMatch(/^INGEST_CODEC_KEYS: /);
    expect((error as IngestError).message).toMatch(why);
    expect((error as IngestError).message).toContain('write comma-separated id:base64key entries');
    for (const key of [currentKey, oldKey, hexKey]) expect((error as IngestError).message).not.toContain(key);
  });

  it('says in the start-up line whether payloads are encrypted, by key id only', () => {
    expect(describePayloadEncryption(keysOf(`2026-06:${currentKey}, 2026-01:${oldKey}`))).toBe(
      'encrypted (key ids 2026-06, 2026-01; 2026-06 encrypts)',
    );
    // Empty counts as unset (as for every variable): the line says so.
    expect(describePayloadEncryption(keysOf(''))).toBe('not encrypted (INGEST_CODEC_KEYS is not set)');
  });

  it('shows key ids only when the keyring is printed or logged', () => {
    const { codec } = readSettings({ INGEST_CODEC_KEYS: `current:${currentKey},old:${oldKey}` });
    for (const shown of [JSON.stringify({ codec }), inspect({ codec }, { depth: 5 }), String(codec)]) {
      expect(shown).toContain('current');
      expect(shown).not.toContain(currentKey);
      expect(shown).not.toContain(oldKey);
      expect(shown).not.toContain(Buffer.from(currentKey, 'base64').toString('hex'));
    }
  });
});

describe('the encrypting data converter', () => {
  const converter = loadDataConverter(codecDataConverter(keysOfCurrent()));

  function keysOfCurrent() {
    return parseCodecKeys(`current:${currentKey}`, 'INGEST_CODEC_KEYS');
  }

  it("encrypts a failure's message and stack trace, and the client decodes them", async () => {
    const error = ApplicationFailure.create({
      type: 'SOME_FAILURE',
      message: `could not send to ${secret.to}`,
      details: [{ text: secret.message }],
    });
    const failure = await encodeErrorToFailure(converter, error);
    const stored = JSON.stringify(failure);
    expect(stored).not.toContain(secret.to);
    expect(failure.message).not.toContain(secret.to);
    expect(metadataText(failure.encodedAttributes ?? undefined, 'encoding')).toBe(encryptedEncoding);
    // The type stays readable (it is how a run's outcome is classified); details are encrypted like any payload.
    expect(failure.applicationFailureInfo?.type).toBe('SOME_FAILURE');
    expect(
      metadataText(failure.applicationFailureInfo?.details?.payloads?.[0] ?? undefined, 'encoding'),
    ).toBe(encryptedEncoding);
    const decoded = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(decoded?.message).toBe(`could not send to ${secret.to}`);
  });

  it("decodes a pending activity's heartbeat and last failure for `ingest run --wait`", async () => {
    const heartbeat = await encodeToPayload(converter, { page: 3, cursor: secret.to });
    const lastFailure = await encodeErrorToFailure(converter, new Error(`timeout talking to ${secret.to}`));
    const [pending] = await decodePendingActivities(
      [{ activityId: '1', heartbeatDetails: { payloads: [heartbeat] }, lastFailure }],
      converter,
    );
    expect(valueOf(pending?.heartbeatDetails?.payloads?.[0])).toEqual({ page: 3, cursor: secret.to });
    expect(pending?.lastFailure?.message).toBe(`timeout talking to ${secret.to}`);
  });
});

describe('a prebuilt workflow bundle on a worker that encrypts', () => {
  const encrypting = codecDataConverter(parseCodecKeys(`current:${currentKey}`, 'INGEST_CODEC_KEYS'));
  // The text of a bundle built with the encrypting failure converter holds its module, mark included.
  const withConverter = `/* webpack */ const mark = ${JSON.stringify(encryptingFailureConverterMark)};`;
  const withoutConverter = '/* webpack */ exports.importWorkflows = function () {};';

  it('is refused without the encrypting failure converter, saying how to rebuild it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bundle-check-'));
    try {
      const codePath = join(dir, 'workflow-bundle.js');
      await writeFile(codePath, withoutConverter);
      const error = await refusal(assertBundleMatchesEncryption({ codePath }, encrypting));
      expect(error.code).toBe('WORKFLOW_BUNDLE_UNENCRYPTED');
      expect(error.message).toContain(codePath);
      expect(error.message).toContain('npm run bundle -- --encrypt-failures');
      await writeFile(codePath, withConverter);
      await expect(assertBundleMatchesEncryption({ codePath }, encrypting)).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is taken as it is by a worker that does not encrypt', async () => {
    await expect(
      assertBundleMatchesEncryption({ code: withoutConverter }, undefined),
    ).resolves.toBeUndefined();
    expect(bundleEncryptsFailures(withoutConverter)).toBe(false);
    expect(bundleEncryptsFailures(withConverter)).toBe(true);
  });
});
