import { describe, expect, it } from 'vitest';
import { sharedBuffersMb } from '../../../src/local/postgres.ts';

const gib = 2 ** 30;

describe('the embedded Postgres shared_buffers', () => {
  it('is a quarter of the memory, between the 128 MB default and 1 GB', () => {
    expect(sharedBuffersMb(24 * gib)).toBe(1024);
    expect(sharedBuffersMb(2 * gib)).toBe(512);
    expect(sharedBuffersMb(gib / 4)).toBe(128);
  });
});
