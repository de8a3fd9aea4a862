// CRC-32C against published check values and a bit-at-a-time reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/raft/wal/index.js';
import { crc32cRange } from '../../src/raft/wal/crc32c.js';

function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the check values of RFC 3720 and the CRC catalogue', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with a bitwise reference on any bytes, ranges and continuation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (data, a, b) => {
        expect(crc32c(data)).toBe(reference(data));
        const lo = Math.min(a, b) % (data.length + 1);
        const hi = Math.max(lo, Math.max(a, b) % (data.length + 1));
        expect(crc32cRange(data, lo, hi)).toBe(reference(data.subarray(lo, hi)));
        expect(crc32c(data.subarray(lo), crc32c(data.subarray(0, lo)))).toBe(reference(data));
      }),
    );
  });
});
