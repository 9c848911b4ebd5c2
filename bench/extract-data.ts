/**
 * Deterministic test body for `bench/extract.ts`: one `single_page` response `{"data":[…]}` of call records shaped like
 * the sandbox's `user_call_records` (DESIGN §6), ~390 bytes each, written with a stream so the generator's memory
 * stays flat. The same seed always gives the same bytes, so a file of the right size can be reused between runs.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';

const firstNames = [
  'Alice',
  'Bob',
  'Carol',
  'Dmitri',
  'Eve',
  'Frank',
  'Grace',
  'Heidi',
  'Ivan',
  'Judy',
] as const;
const lastNames = ['Smith', 'Jones', 'Nguyen', 'Garcia', 'Okafor', 'Kowalski', 'Tanaka', 'Larsen'] as const;
// A few accented names so that the body is not pure ASCII (as real call logs are not).
const accentedNames = ['José Müller', 'Zoë Ångström', 'Łukasz Żółw', 'Renée Ñúñez'] as const;
const locations = ['Palo Alto, CA', 'Austin, TX', 'New York, NY', 'Denver, CO', 'Seattle, WA'] as const;
const results = ['Accepted', 'Missed', 'Voicemail', 'Rejected', 'Call connected'] as const;
const actions = ['Phone Call', 'VoIP Call', 'Transfer', 'FindMe'] as const;

/** A small, fast, deterministic PRNG (mulberry32). */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function digits(random: () => number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i += 1) out += String(Math.floor(random() * 10));
  return out;
}

/** One call record as JSON text (the shape of DESIGN §6 `user_call_records`). */
export function callRecordJson(index: number, random: () => number): string {
  const id = `${index.toString(36).padStart(8, '0')}-${digits(random, 5)}`;
  const start = new Date(Date.UTC(2024, 0, 1) + index * 37_000 + Math.floor(random() * 1000)).toISOString();
  const name =
    random() < 0.02 ? pick(random, accentedNames) : `${pick(random, firstNames)} ${pick(random, lastNames)}`;
  const record = {
    id,
    uri: `/v1/call-log/${id}`,
    sessionId: digits(random, 11),
    telephonySessionId: `s-${digits(random, 9)}`,
    startTime: start,
    duration: Math.floor(random() * 3600),
    type: random() < 0.97 ? 'Voice' : 'Fax',
    direction: random() < 0.5 ? 'Inbound' : 'Outbound',
    action: pick(random, actions),
    result: pick(random, results),
    from: { name, phoneNumber: `+1${digits(random, 10)}` },
    to: { phoneNumber: `+1${digits(random, 10)}`, location: pick(random, locations) },
    message:
      random() < 0.1 ? { id: digits(random, 9), type: 'VoiceMail', uri: `/message-store/${index}` } : null,
  };
  return JSON.stringify(record);
}

/** Writes `{"data":[…records…]}` to `path` with a stream; returns the number of bytes written. */
export async function writeCallRecordsBody(path: string, records: number, seed = 42): Promise<number> {
  const random = createRandom(seed);
  const out = createWriteStream(path);
  let bytes = 0;
  let piece = '{"data":[';
  for (let i = 0; i < records; i += 1) {
    piece += (i === 0 ? '' : ',') + callRecordJson(i, random);
    if (piece.length >= 1 << 20) {
      bytes += Buffer.byteLength(piece);
      if (!out.write(piece)) await once(out, 'drain');
      piece = '';
    }
  }
  piece += ']}';
  bytes += Buffer.byteLength(piece);
  out.end(piece);
  await once(out, 'finish');
  return bytes;
}

/** The size of `path` in bytes, or undefined when it does not exist. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
