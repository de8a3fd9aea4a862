/**
 * frame-codec: the raft link's wire format. Every message type but snap round-trips exactly
 * through a batch frame; a stream of frames cut into arbitrary chunks, or several frames in
 * one chunk, reads back as the same frames; the hello is checked (magic, version, member 0);
 * and fuzzing — random bytes, and valid frames with bytes flipped, cut or appended — never
 * throws, always ends in a value or a LinkError, and a lying length allocates nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry, type Message } from '../../src/raft/types.js';
import {
  clusterIdOnWire,
  decodeBatchBody,
  decodeBatchFrame,
  encodeAccept,
  encodeBatchFrame,
  encodeHello,
  encodeRefuse,
  FRAME_VERSION,
  FrameKind,
  FrameReader,
  HELLO_BYTES,
  isLinkError,
  messageSize,
  type Frame,
  type Hello,
  type LinkError,
} from '../../src/kv/transport/frame-codec.js';

const FROM = nodeId(7);
const TO = nodeId(9);
const LINK = { from: FROM, to: TO };

function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const termArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(term);
const indexArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(logIndex);
const bytesArb = fc.uint8Array({ maxLength: 40 });
const contextArb = fc.option(bytesArb, { nil: null });
const entryArb: fc.Arbitrary<Entry> = rec({ term: termArb, index: indexArb, type: fc.constantFrom('normal' as const, 'conf-change' as const), data: bytesArb });
const env = { from: FROM, to: TO };

/** messageArb covers every message type the link carries (all but snap). */
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  rec({ term: termArb, index: indexArb, logTerm: termArb, entries: fc.array(entryArb, { maxLength: 4 }), commit: indexArb }).map((m): Message => ({ type: 'app', ...env, ...m })),
  rec({ term: termArb, index: indexArb, reject: fc.boolean(), rejectHint: indexArb, logTerm: termArb }).map((m): Message => ({ type: 'app-resp', ...env, ...m })),
  rec({ term: termArb, type: fc.constantFrom('vote' as const, 'pre-vote' as const), index: indexArb, logTerm: termArb, force: fc.boolean() }).map((m): Message => ({ ...env, ...m })),
  rec({ term: termArb, type: fc.constantFrom('vote-resp' as const, 'pre-vote-resp' as const), reject: fc.boolean() }).map((m): Message => ({ ...env, ...m })),
  rec({ term: termArb, commit: indexArb, context: contextArb }).map((m): Message => ({ type: 'heartbeat', ...env, ...m })),
  rec({ term: termArb, context: contextArb }).map((m): Message => ({ type: 'heartbeat-resp', ...env, ...m })),
  rec({ term: termArb }).map((m): Message => ({ type: 'timeout-now', ...env, ...m })),
  rec({ term: termArb, context: bytesArb }).map((m): Message => ({ type: 'read-index', ...env, ...m })),
  rec({ term: termArb, index: indexArb, context: bytesArb }).map((m): Message => ({ type: 'read-index-resp', ...env, ...m })),
  rec({ term: termArb, entries: fc.array(entryArb, { maxLength: 4 }) }).map((m): Message => ({ type: 'prop', ...env, ...m })),
);

const LINK_TYPES = ['app', 'app-resp', 'vote', 'pre-vote', 'vote-resp', 'pre-vote-resp', 'heartbeat', 'heartbeat-resp', 'timeout-now', 'read-index', 'read-index-resp', 'prop'];

/** drain reads everything a reader has ready. */
function drain(r: FrameReader): (Frame | { readonly hello: Hello } | LinkError)[] {
  const out: (Frame | { readonly hello: Hello } | LinkError)[] = [];
  for (let x = r.next(); x !== null; x = r.next()) {
    out.push(x);
    if (isLinkError(x)) break;
  }
  return out;
}

/** cut splits bytes at the given cut points (sorted, deduplicated, within range). */
function cut(b: Buffer, points: readonly number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...at, b.length]) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('batch frames', () => {
  it('round-trip every message type exactly', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 6 }), (msgs) => {
        for (const m of msgs) seen.add(m.type);
        const frame = encodeBatchFrame(msgs);
        expect(frame.length).toBe(5 + msgs.reduce((n, m) => n + messageSize(m), 0));
        expect(decodeBatchFrame(frame, LINK)).toStrictEqual({ ok: true, value: msgs });
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toStrictEqual([...LINK_TYPES].sort());
  });

  it('keeps an absent heartbeat context apart from an empty one, and gives plain Uint8Arrays back', () => {
    const hb = { type: 'heartbeat', ...env, term: term(3), commit: logIndex(4) } as const;
    for (const context of [null, new Uint8Array(0), new Uint8Array([1, 2])]) {
      const d = decodeBatchFrame(encodeBatchFrame([{ ...hb, context }]), LINK);
      expect(d).toStrictEqual({ ok: true, value: [{ ...hb, context }] });
    }
    const app: Message = { type: 'app', ...env, term: term(1), index: logIndex(0), logTerm: term(0), commit: logIndex(0), entries: [{ term: term(1), index: logIndex(1), type: 'normal', data: Buffer.from([5, 6]) }] };
    const d = decodeBatchFrame(encodeBatchFrame([app]), LINK);
    if (!d.ok || d.value[0]?.type !== 'app') throw new Error('expected an app message back');
    expect(d.value[0].entries[0]!.data.constructor).toBe(Uint8Array);
  });

  it('refuses to encode a snap message and decodes none', () => {
    const snap: Message = { type: 'snap', ...env, term: term(1), snapshot: { metadata: { index: logIndex(1), term: term(1), confState: { voters: [], learners: [] } }, data: new Uint8Array(0) } };
    expect(() => encodeBatchFrame([snap])).toThrow(/SendSnapshot/);
    const body = Buffer.from([FrameKind.batch, 9, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeBatchBody(body, LINK)).toMatchObject({ ok: false, error: { kind: 'malformed', message: expect.stringMatching(/snap message/) as unknown } });
  });

  it('refuses numbers over 2^53, booleans other than 0/1, unknown types and counts the frame cannot hold', () => {
    const hb = encodeBatchFrame([{ type: 'vote-resp', ...env, term: term(1), reject: false }]);
    const bigTerm = Buffer.from(hb);
    bigTerm.writeUInt32LE(0x20_0000, 10);
    expect(decodeBatchFrame(bigTerm, LINK)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/term is larger than 2\^53/) as unknown } });
    const badBool = Buffer.from(hb);
    badBool[14] = 2;
    expect(decodeBatchFrame(badBool, LINK)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/reject is 2/) as unknown } });
    const badType = Buffer.from(hb);
    badType[5] = 99;
    expect(decodeBatchFrame(badType, LINK)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/unknown type 99/) as unknown } });
    const prop = encodeBatchFrame([{ type: 'prop', ...env, term: term(0), entries: [] }]);
    prop.writeUInt32LE(0xffff_ffff, 14);
    expect(decodeBatchFrame(prop, LINK)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/count 4294967295 does not fit/) as unknown } });
  });

  it('names the field it could not read by message, type and entry', () => {
    const entry = (i: number): Entry => ({ term: term(1), index: logIndex(i), type: 'normal', data: Buffer.from('abc') });
    const frame = encodeBatchFrame([
      { type: 'heartbeat', ...env, term: term(1), commit: logIndex(1), context: null },
      { type: 'prop', ...env, term: term(1), entries: [entry(1), entry(2)] },
    ]);
    // Cut inside the second entry's data (its last byte), then inside its data length.
    const message = (cut: number): string => {
      const body = frame.subarray(4, frame.length - cut);
      const d = decodeBatchBody(Buffer.from(body), LINK);
      return d.ok ? 'decoded' : d.error.message;
    };
    expect(message(1)).toBe('Malformed batch frame: message 1 (13) entries[1].data needs 3 bytes, 2 are left in the frame');
    expect(message(5)).toBe('Malformed batch frame: message 1 (13) entries[1].data length needs 4 bytes, 2 are left in the frame');
    // A message after one with entries is named afresh: no entry index carried over.
    const then = encodeBatchFrame([
      { type: 'prop', ...env, term: term(1), entries: [entry(1)] },
      { type: 'heartbeat', ...env, term: term(1), commit: logIndex(1), context: null },
    ]);
    const cutHeartbeat = decodeBatchBody(Buffer.from(then.subarray(4, then.length - 4)), LINK);
    expect(cutHeartbeat).toMatchObject({ ok: false, error: { message: 'Malformed batch frame: message 1 (7) commit needs 8 bytes, 5 are left in the frame' } });
    const bad = Buffer.from(frame);
    // The last entry is term (8), index (8), type (1), data length (4) and 3 bytes of data.
    bad.writeUInt32LE(0x20_0000, bad.length - 24 + 4);
    expect(decodeBatchFrame(bad, LINK)).toMatchObject({ ok: false, error: { message: 'Malformed batch frame: message 1 (13) entries[1].term is larger than 2^53 - 1' } });
  });
});

describe('the frame reader', () => {
  const hello = encodeHello({ clusterId: '18446744073709551615', from: FROM, to: TO });

  it('reads a hello and frames however the stream is cut, and several frames from one chunk', () => {
    fc.assert(
      fc.property(fc.array(fc.array(messageArb, { maxLength: 3 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (batches, points) => {
        const frames = batches.map((b) => encodeBatchFrame(b));
        const stream = Buffer.concat([hello, ...frames]);
        const r = new FrameReader({ maxFrameBytes: 1 << 20, hello: true });
        const got: unknown[] = [];
        for (const part of cut(stream, points)) {
          r.push(part);
          got.push(...drain(r));
        }
        expect(got[0]).toStrictEqual({ hello: { version: FRAME_VERSION, clusterId: '18446744073709551615', from: FROM, to: TO } });
        const decoded = (got.slice(1) as Frame[]).map((f) => {
          expect(f.kind).toBe(FrameKind.batch);
          return decodeBatchBody(f.body, LINK);
        });
        expect(decoded).toStrictEqual(batches.map((value) => ({ ok: true, value })));
        expect(r.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('reads accept and refuse frames', () => {
    const r = new FrameReader({ maxFrameBytes: 4096, hello: false });
    r.push(Buffer.concat([encodeAccept(), encodeRefuse('Cluster 5 is not cluster 6')]));
    const [a, b] = drain(r) as Frame[];
    expect(a?.kind).toBe(FrameKind.accept);
    expect(b?.kind).toBe(FrameKind.refuse);
    expect(b?.body.subarray(1).toString('utf8')).toBe('Cluster 5 is not cluster 6');
    expect(encodeRefuse('x'.repeat(5000)).length).toBe(5 + 1024);
  });

  it('refuses another protocol, another version, member 0, an empty frame and an oversized one', () => {
    const first = (bytes: Buffer, o = { maxFrameBytes: 64, hello: true }): unknown => {
      const r = new FrameReader(o);
      r.push(bytes);
      return drain(r).at(-1);
    };
    expect(first(Buffer.from('PRI * HTTP/2.0'))).toMatchObject({ kind: 'not-a-link' });
    expect(first(Buffer.from('RX'))).toMatchObject({ kind: 'not-a-link' });
    const v2 = Buffer.from(hello);
    v2.writeUInt16LE(2, 4);
    expect(first(v2.subarray(0, 6))).toMatchObject({ kind: 'version', message: expect.stringMatching(/version 2, this member version 1/) as unknown });
    expect(first(encodeHello({ clusterId: '1', from: FROM, to: TO }).fill(0, 22))).toMatchObject({ kind: 'malformed', message: expect.stringMatching(/member 0/) as unknown });
    expect(first(Buffer.concat([hello, Buffer.from([0, 0, 0, 0])]))).toMatchObject({ kind: 'malformed', message: expect.stringMatching(/empty frame/) as unknown });
    expect(first(Buffer.concat([hello, Buffer.from([65, 0, 0, 0])]))).toMatchObject({ kind: 'too-large', message: expect.stringMatching(/65 bytes is over the limit of 64/) as unknown });
    // Once failed, the reader stays failed and keeps nothing.
    const r = new FrameReader({ maxFrameBytes: 64, hello: false });
    r.push(Buffer.from([65, 0, 0, 0]));
    expect(r.next()).toMatchObject({ kind: 'too-large' });
    r.push(encodeAccept());
    expect(r.next()).toMatchObject({ kind: 'too-large' });
    expect(r.buffered).toBe(0);
  });

  it('keeps the cluster id as uint64', () => {
    expect(clusterIdOnWire('42')).toBe('42');
    expect(clusterIdOnWire('-1')).toBe('18446744073709551615');
    expect(HELLO_BYTES).toBe(hello.length);
  });
});

describe('fuzzing the frame reader and batch decoder', () => {
  const good = Buffer.concat([
    encodeHello({ clusterId: '42', from: FROM, to: TO }),
    encodeBatchFrame([
      { type: 'heartbeat', ...env, term: term(3), commit: logIndex(1), context: new Uint8Array([1]) },
      { type: 'app', ...env, term: term(3), index: logIndex(1), logTerm: term(3), commit: logIndex(1), entries: [{ term: term(3), index: logIndex(2), type: 'normal', data: new Uint8Array([1, 2, 3]) }] },
    ]),
    encodeBatchFrame([{ type: 'read-index-resp', ...env, term: term(3), index: logIndex(2), context: new Uint8Array([9]) }]),
  ]);
  /** mutation: flip bytes, truncate, or append garbage to the valid stream. */
  const mutated = fc.oneof(
    fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Buffer.from(good);
      for (const [i, v] of flips) b[i] = v;
      return b;
    }),
    fc.nat(good.length).map((n) => good.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((g) => Buffer.concat([good, g])),
    fc.uint8Array({ maxLength: 200 }).map((g) => Buffer.concat([good.subarray(0, HELLO_BYTES), g])),
    fc.uint8Array({ maxLength: 200 }).map((g) => Buffer.from(g)),
  );

  it('ends every input in frames or a LinkError, never a throw', () => {
    fc.assert(
      fc.property(mutated, fc.array(fc.nat(), { maxLength: 6 }), (bytes, points) => {
        const r = new FrameReader({ maxFrameBytes: 1024, hello: true });
        let link = LINK;
        for (const part of cut(bytes, points)) {
          r.push(part);
          for (const x of drain(r)) {
            if (isLinkError(x)) {
              expect(x.kind).toMatch(/^(not-a-link|version|too-large|malformed)$/);
              expect(x.message.length).toBeGreaterThan(0);
            } else if ('hello' in x) {
              link = { from: x.hello.from, to: x.hello.to };
            } else if (x.kind === FrameKind.batch) {
              const d = decodeBatchBody(x.body, link);
              if (!d.ok) expect(d.error.message).toMatch(/^Malformed batch frame: /);
            }
          }
        }
        expect(r.buffered).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('allocates by what arrives, not by what a length announces', () => {
    const before = process.memoryUsage().arrayBuffers;
    const readers: FrameReader[] = [];
    for (let i = 0; i < 64; i++) {
      const r = new FrameReader({ maxFrameBytes: 128 * 1024 * 1024, hello: false });
      const head = Buffer.alloc(8);
      head.writeUInt32LE(128 * 1024 * 1024, 0);
      r.push(head);
      expect(r.next()).toBeNull();
      readers.push(r);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(readers.every((r) => r.buffered === 4)).toBe(true);
  });
});
