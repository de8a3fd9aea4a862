/**
 * peer-input: what a peer sends is untrusted until checked. The SendSnapshot handler, fed
 * through fake calls: snapshots from another cluster or for another member are refused, one
 * snapshot per peer at a time, and the rpc is answered exactly once. Then fuzzing: random and
 * mutated chunks thrown at the snapshot assembler never throw, and a lying total size allocates
 * nothing up front. (The raft link's own input checks are in peer-link.test.ts and
 * frame-codec.test.ts.)
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message, SnapshotMessage } from '../../src/raft/index.js';
import { logIndex, nodeId, term } from '../../src/raft/types.js';
import { snapshotChunks, SnapshotAssembler, type RaftHandlers } from '../../src/kv/proto/index.js';
import { PeerTransport } from '../../src/kv/transport/peer-transport.js';

const CLUSTER = '42';

class FakeCall extends EventEmitter {
  readonly written: unknown[] = [];
  ended = false;
  destroyed: Error | null = null;
  write(v: unknown): boolean {
    this.written.push(v);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(e: Error): void {
    this.destroyed = e;
  }
}

function rig(): { handlers: RaftHandlers; got: Message[]; logs: string[]; transport: PeerTransport } {
  const got: Message[] = [];
  const logs: string[] = [];
  const transport = new PeerTransport({
    self: nodeId(2),
    clusterId: CLUSTER,
    peers: new Map(),
    onMessage: (m) => got.push(m),
    onUnreachable: () => undefined,
    onSnapshotStatus: () => undefined,
    snapshotData: () => Promise.resolve(new Uint8Array(0)),
    maxSnapshotBytes: 1024,
    log: (m) => logs.push(m),
  });
  return { handlers: transport.handlers(), got, logs, transport };
}

const snap = (from: number, to: number, size: number): SnapshotMessage => ({
  type: 'snap',
  from: nodeId(from),
  to: nodeId(to),
  term: term(2),
  snapshot: { metadata: { index: logIndex(10), term: term(2), confState: { voters: [nodeId(1), nodeId(2)], learners: [] } }, data: new Uint8Array(size).fill(7) },
});

function sendSnapshot(h: RaftHandlers): { call: FakeCall; answers: unknown[] } {
  const call = new FakeCall();
  const answers: unknown[] = [];
  (h.SendSnapshot as unknown as (c: FakeCall, cb: (e: unknown, v?: unknown) => void) => void)(call, (e, v) => answers.push(e ?? v));
  return { call, answers };
}

describe('peer input on the SendSnapshot rpc', () => {
  it('assembles a snapshot and answers once', () => {
    const r = rig();
    const { call, answers } = sendSnapshot(r.handlers);
    for (const c of snapshotChunks(snap(1, 2, 100), CLUSTER, 40)) call.emit('data', c);
    call.emit('end');
    expect(answers).toEqual([{ received: 100 }]);
    expect(r.got).toHaveLength(1);
  });

  it('refuses snapshots from another cluster, for another member, over the size limit, or cut short — answering once', () => {
    const cases: [string, SnapshotMessage, string, RegExp][] = [
      ['another cluster', snap(1, 2, 10), '43', /cluster_id/],
      ['another member', snap(1, 3, 10), CLUSTER, /for member 3/],
      ['too large', snap(1, 2, 2000), CLUSTER, /total_size/],
    ];
    for (const [what, msg, cluster, reason] of cases) {
      const r = rig();
      const { call, answers } = sendSnapshot(r.handlers);
      for (const c of snapshotChunks(msg, cluster, 4)) call.emit('data', c);
      call.emit('end');
      expect(answers, what).toHaveLength(1);
      expect(String((answers[0] as { details?: string }).details), what).toMatch(reason);
      expect(r.got, what).toEqual([]);
    }
    const r = rig();
    const { call, answers } = sendSnapshot(r.handlers);
    call.emit('data', snapshotChunks(snap(1, 2, 10), CLUSTER, 4)[0]);
    call.emit('end');
    call.emit('error', new Error('late'));
    expect(answers).toHaveLength(1);
    expect(String((answers[0] as { details?: string }).details)).toMatch(/ended before all data arrived/);
  });

  it('takes one snapshot per peer at a time', () => {
    const r = rig();
    const first = sendSnapshot(r.handlers);
    const second = sendSnapshot(r.handlers);
    const chunks = snapshotChunks(snap(1, 2, 8), CLUSTER, 4);
    first.call.emit('data', chunks[0]);
    second.call.emit('data', chunks[0]);
    expect(second.answers).toHaveLength(1);
    expect(String((second.answers[0] as { details?: string }).details)).toMatch(/already arriving/);
    first.call.emit('data', chunks[1]);
    expect(first.answers).toEqual([{ received: 8 }]);
    // Once the first is in, the peer may send another.
    const third = sendSnapshot(r.handlers);
    for (const c of chunks) third.call.emit('data', c);
    expect(third.answers).toEqual([{ received: 8 }]);
  });
});

/** mutate changes one field of a frame to an arbitrary value. */
function mutate(frame: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  return { ...frame, [key]: value };
}

describe('fuzzing the peer decoders', () => {
  const anyValue = fc.oneof(fc.anything(), fc.uint8Array({ maxLength: 64 }), fc.bigInt(), fc.constant(undefined), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(-1), fc.constant('9'.repeat(40)));

  it('feeds any chunk sequence to the assembler without a throw, and allocates by what arrives', () => {
    const chunks = snapshotChunks(snap(1, 2, 16), CLUSTER, 4) as unknown as Record<string, unknown>[];
    const frame = fc.oneof(
      anyValue,
      fc.tuple(fc.integer({ min: 0, max: chunks.length - 1 }), fc.constantFrom('cluster_id', 'offset', 'total_size', 'data', 'message'), anyValue).map(([i, k, v]) => mutate(chunks[i]!, k, v)),
      fc.integer({ min: 0, max: chunks.length - 1 }).map((i) => chunks[i]),
    );
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 8 }), (frames) => {
        const asm = new SnapshotAssembler({ maxBytes: 2 ** 31, clusterId: CLUSTER });
        for (const f of frames) {
          const r = asm.push(f);
          if (!r.ok) expect(r.error).toMatch(/^Invalid raftpb\.SnapshotChunk/);
        }
      }),
      { numRuns: 2000 },
    );
    // A first chunk announcing 1 GiB costs nothing until the bytes come.
    const before = process.memoryUsage().arrayBuffers;
    const liar = new SnapshotAssembler({ maxBytes: 2 ** 31, clusterId: CLUSTER });
    expect(liar.push({ ...chunks[0]!, total_size: 2 ** 30 })).toEqual({ ok: true, value: null });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });
});
