/**
 * Postgres's binary array format (`array_recv`), for the array parameters staging sends: node-postgres passes a
 * Buffer parameter in binary, and Postgres reads it with the receive function of the type it is cast to
 * (`$1::text[]`). Layout, every integer a big-endian int32: the number of dimensions (1), a has-nulls flag (0), the
 * element type's oid, then for the one dimension its length and lower bound (1); then each element as its byte
 * length followed by its bytes in the element type's binary form — a text's UTF-8 bytes (no quoting or escaping), an
 * int4's four bytes, a uuid's sixteen. So a batch's raw texts are written once, and Postgres parses each record on
 * its own. Pure functions, no database.
 */

/** Element type oids (`pg_type.oid`). */
export const textOid = 25;
export const int4Oid = 23;
export const uuidOid = 2950;

/** The header of a one-dimensional array: ndim, has-nulls flag, element oid, length, lower bound. */
export const arrayHeaderBytes = 20;

/** Writes the header of a one-dimensional array of `count` elements of type `oid` at the start of `buffer`. */
function writeArrayHeader(buffer: Buffer, count: number, oid: number): void {
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(0, 4);
  buffer.writeInt32BE(oid, 8);
  buffer.writeInt32BE(count, 12);
  buffer.writeInt32BE(1, 16);
}

/**
 * `values` as a binary array of a fixed-width element type `oid`: each element its length, `width`, then its
 * bytes, which `write` puts at `offset`.
 */
function fixedWidthArray<T>(
  values: readonly T[],
  oid: number,
  width: number,
  write: (array: Buffer, offset: number, value: T) => void,
): Buffer {
  const array = Buffer.allocUnsafe(arrayHeaderBytes + (4 + width) * values.length);
  writeArrayHeader(array, values.length, oid);
  let offset = arrayHeaderBytes;
  for (const value of values) {
    array.writeInt32BE(width, offset);
    write(array, offset + 4, value);
    offset += 4 + width;
  }
  return array;
}

/** `values` (32-bit integers) as a binary `int4[]`. */
export function int4Array(values: readonly number[]): Buffer {
  return fixedWidthArray(values, int4Oid, 4, (array, offset, value) => array.writeInt32BE(value, offset));
}

/** md5 digests (32 hex digits each) as a binary `uuid[]`; throws when one is not 16 bytes of hex. */
export function uuidArray(hexDigests: readonly string[]): Buffer {
  return fixedWidthArray(hexDigests, uuidOid, 16, (array, offset, digest) => {
    if (array.write(digest, offset, 16, 'hex') !== 16) throw new RangeError(`not an md5 digest: ${digest}`);
  });
}

/**
 * `values` as a binary `text[]`, written once. A value given as bytes is copied as it is: it must be UTF-8
 * (`ExtractedRecord.bytes` is the text's encoding).
 */
export function textArray(values: readonly (string | Uint8Array)[]): Buffer {
  let length = arrayHeaderBytes + 4 * values.length;
  for (const value of values) length += typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  const array = Buffer.allocUnsafe(length);
  writeArrayHeader(array, values.length, textOid);
  let offset = arrayHeaderBytes;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string | Uint8Array;
    const start = offset + 4;
    let end: number;
    if (typeof value === 'string') {
      end = start + array.write(value, start, 'utf8');
    } else {
      array.set(value, start);
      end = start + value.length;
    }
    array.writeInt32BE(end - start, offset);
    offset = end;
  }
  return array;
}
