import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDataset } from '../../src/sandbox/dataset.ts';
import { hostileKinds } from '../../src/sandbox/hostile.ts';
import { chunksToText } from '../../src/sandbox/json-body.ts';
import { JsonByteWriter, quotedBytes } from '../../src/sandbox/json-writer.ts';
import { createRandom } from '../../src/sandbox/random.ts';
import { defaultCounts } from '../../src/sandbox/resources.ts';

const written = (write: (writer: JsonByteWriter) => void, size = 8): string => {
  const writer = new JsonByteWriter(Buffer.alloc(size));
  write(writer);
  return writer.buffer.toString('utf8', 0, writer.position);
};

describe('JsonByteWriter', () => {
  it('writes integers in base 10 and 36 like Number#toString, growing its buffer when needed', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (value) => {
        expect(written((writer) => writer.integer(value), 2)).toBe(String(value));
        expect(written((writer) => writer.base36(value), 2)).toBe(value.toString(36));
      }),
    );
  });

  it('writes exactly `count` random digits and hex digits', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 40 }), (seed, count) => {
        expect(written((writer) => writer.digits(createRandom(seed), count))).toMatch(
          new RegExp(`^\\d{${count}}$`),
        );
        expect(written((writer) => writer.hexDigits(createRandom(seed), count))).toMatch(
          new RegExp(`^[0-9a-f]{${count}}$`),
        );
      }),
    );
  });

  it('writes quoted unicode, text and repeats', () => {
    const [quoted] = quotedBytes(['Zoë "李" 📱\t']);
    const text = written((writer) => {
      writer.bytes(quoted as Buffer);
      writer.byte(0x2c);
      writer.text('"é"');
      writer.repeat(0, 3);
      writer.twoDigits(7);
    }, 4);
    expect(text).toBe('"Zoë "李" 📱\\t","é""Zo07'.replace('"Zoë "李"', '"Zoë \\"李\\"'));
  });
});

describe('record chunks', () => {
  it('the chunks of any page are exactly prefix + record texts joined by commas + suffix', () => {
    const dataset = createDataset({
      seed: 4,
      counts: { ...defaultCounts, user_call_records: 600, contacts: 300 },
      hostile: { every: 7, kinds: hostileKinds },
    });
    fc.assert(
      fc.property(
        fc.constantFrom('user_call_records' as const, 'contacts' as const),
        fc.nat({ max: 600 }),
        fc.nat({ max: 600 }),
        (resource, a, b) => {
          const [start, end] = a <= b ? [a, b] : [b, a];
          const expected = `[${[...dataset.recordTexts(resource, start, end)].join(',')}]`;
          expect(chunksToText(dataset.pageChunks(resource, start, end, { prefix: '[', suffix: ']' }))).toBe(
            expected,
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('every call record is valid JSON with the fields of DESIGN §6', () => {
    const dataset = createDataset({
      seed: 8,
      counts: { ...defaultCounts, user_call_records: 2000, user_active_calls: 200 },
    });
    for (const resource of ['user_call_records', 'user_active_calls'] as const) {
      for (const text of dataset.recordTexts(resource)) {
        const record = JSON.parse(text) as Record<string, unknown>;
        expect(Object.keys(record)).toEqual([
          'id',
          'uri',
          'sessionId',
          'telephonySessionId',
          'startTime',
          'duration',
          'type',
          'direction',
          'action',
          'result',
          'from',
          'to',
          'message',
        ]);
        expect(record.uri).toBe(`https://api.example.com/v1/${resource}/${String(record.id)}`);
        expect(new Date(String(record.startTime)).toISOString()).toBe(record.startTime);
      }
    }
  });
});
