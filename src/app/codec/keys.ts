/**
 * The keys payloads are encrypted with, as the environment gives them (`INGEST_CODEC_KEYS`): a comma-separated list
 * of `id:base64key` entries, 32 bytes each; the first one encrypts, every one decrypts — so a key is rotated by
 * putting a new one first and keeping the old ones for as long as histories encrypted with them are read. The key
 * material stays inside the keyring: printing, logging or serialising it shows the key ids only.
 */
import { inspect } from 'node:util';
import { IngestError } from '../../errors.ts';

/** Bytes of an AES-256 key. */
export const keyBytes = 32;

/** What a key id may look like: it is stored in clear in every payload's metadata. */
const keyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const maxKeyIdLength = 64;
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** The keys of a process: which one encrypts, and every one that decrypts. Never shows the key material. */
export class CodecKeyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  /** The id of the key new payloads are encrypted with (the first of the list). */
  readonly encryptWith: string;

  constructor(keys: ReadonlyArray<readonly [id: string, key: Buffer]>) {
    const first = keys[0];
    if (first === undefined) throw new Error('a keyring needs at least one key');
    this.#keys = new Map(keys.map(([id, key]) => [id, Buffer.from(key)]));
    this.encryptWith = first[0];
  }

  /** Every key id, the encrypting one first. */
  get ids(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /** The key of an id, or undefined when the keyring does not have it. */
  key(id: string): Buffer | undefined {
    return this.#keys.get(id);
  }

  toJSON(): { encryptWith: string; ids: readonly string[] } {
    return { encryptWith: this.encryptWith, ids: this.ids };
  }

  toString(): string {
    return `CodecKeyring { encryptWith: ${this.encryptWith}, ids: ${this.ids.join(', ')} }`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * How a process treats payloads, for its start-up line: `encrypted (key ids a, b; a encrypts)` or `not encrypted
 * (INGEST_CODEC_KEYS is not set)` — an empty INGEST_CODEC_KEYS counts as not set, so this is where that shows.
 */
export function describePayloadEncryption(keys: CodecKeyring | undefined): string {
  if (keys === undefined) return 'not encrypted (INGEST_CODEC_KEYS is not set)';
  return `encrypted (key ids ${keys.ids.join(', ')}; ${keys.encryptWith} encrypts)`;
}

/**
 * Parses `id:base64key,id:base64key…` (blanks around entries ignored). Anything wrong is a `SETTING_INVALID` error
 * naming `variable`, the entry's position and what is wrong with it — never any text of the value: an entry written
 * the wrong way round (`key:id`) has its key where the id should be.
 */
export function parseCodecKeys(text: string, variable: string): CodecKeyring {
  const invalid = (why: string) =>
    new IngestError(
      'environment',
      'SETTING_INVALID',
      `${variable}: ${why}; write comma-separated id:base64key entries, each key 32 random bytes in base64 ` +
        '(openssl rand -base64 32), the first one encrypting',
    );
  const entries = text.split(',').map((entry) => entry.trim());
  const keys: Array<readonly [string, Buffer]> = [];
  for (const [index, entry] of entries.entries()) {
    const where = `entry ${index + 1}`;
    if (entry === '') throw invalid(`${where} is empty`);
    const colon = entry.indexOf(':');
    if (colon < 0) throw invalid(`${where} has no "id:" before its key`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (id.length < 1 || id.length > maxKeyIdLength) {
      throw invalid(`${where}'s id is ${id.length} characters long; a key id is 1 to ${maxKeyIdLength}`);
    }
    if (!keyIdPattern.test(id)) {
      throw invalid(
        `${where}'s id has characters a key id may not have (letters, digits, ".", "_" and "-", ` +
          'starting with a letter or digit)',
      );
    }
    const first = keys.findIndex(([seen]) => seen === id);
    if (first >= 0) throw invalid(`${where}'s id is the id of entry ${first + 1} too`);
    if (!base64Pattern.test(encoded) || encoded.length % 4 !== 0) {
      throw invalid(`${where}'s key is not base64`);
    }
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== keyBytes) {
      throw invalid(`${where}'s key is ${key.length} bytes, not ${keyBytes}`);
    }
    keys.push([id, key]);
  }
  return new CodecKeyring(keys);
}
