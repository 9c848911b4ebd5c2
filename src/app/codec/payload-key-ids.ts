/**
 * Which keys the payloads of a Temporal message are encrypted with, read without any key: the SDK's payload visitor
 * walks every payload field of the message (a history, a schedule's description or list entry) — all but headers
 * and search attributes, which no codec sees — and each payload's metadata says whether it is encrypted, and with
 * which key id. This is how a replay without keys says what it needs, and how `ingest schedule sync` finds schedules
 * stored under another key or in clear.
 */
import type { Payload } from '@temporalio/common';
import { visit } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { encryptedEncoding, keyIdMetadataKey } from './aes-gcm-codec.ts';

/** The payloads of a message by encryption. */
export interface PayloadKeys {
  /** The key ids of its encrypted payloads, each once, sorted (`(none)`: an encrypted payload naming no key). */
  readonly keyIds: readonly string[];
  /** How many of its payloads are not encrypted. */
  readonly clear: number;
}

/** The generated walker of the message's type (`walkDescribeScheduleResponse`, …), re-exported by the SDK. */
export type PayloadWalker<Root> = Parameters<typeof visit<Root, undefined>>[1];

/** Reads the key ids of every payload of `root` (which it does not change). */
export async function payloadKeys<Root>(root: Root, walk: PayloadWalker<Root>): Promise<PayloadKeys> {
  const keyIds = new Set<string>();
  let clear = 0;
  const see = (payload: Payload): Payload => {
    const keyId = encryptionKeyId(payload);
    if (keyId === undefined) clear += 1;
    else keyIds.add(keyId);
    return payload;
  };
  await visit(root, walk, {
    transformPayload: (payload) => Promise.resolve(see(payload)),
    transformPayloads: (payloads) => Promise.resolve(payloads.map(see)),
    skipHeaders: true,
    skipSearchAttributes: true,
  });
  return { keyIds: [...keyIds].sort(), clear };
}

/** The key id of an encrypted payload (`(none)` when it names none); undefined for a payload in clear. */
export function encryptionKeyId(payload: Payload): string | undefined {
  const metadata = payload.metadata ?? {};
  if (text(metadata['encoding']) !== encryptedEncoding) return undefined;
  return text(metadata[keyIdMetadataKey]) ?? '(none)';
}

function text(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes === null || bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}
