/**
 * trace: DriverTrace, the marks the driver records for sampled requests (bench kv --trace),
 * driven with synthetic Readies and messages against a recording tracer. An entry is sampled
 * when its data starts with the byte 0xEE (its key is the rest, as text); a read is sampled when
 * its context has a negative sequence.
 */
import { describe, expect, it } from 'vitest';
import { contextKey, readContext } from '../../src/raft/read-context.js';
import { DriverTrace, isTracedReadContext, MAX_TRACED_OPEN, type RaftTracer, type RaftTraceStage } from '../../src/raft/trace.js';
import type { Entry, Message, NodeId, Ready } from '../../src/raft/types.js';
import { logIndex, nodeId, term } from '../../src/raft/types.js';

type Mark = readonly [key: string, stage: RaftTraceStage, peer?: number];

class Recorder implements RaftTracer {
  on = true;
  marks: Mark[] = [];
  entryKey(data: Uint8Array): string | null {
    return data[0] === 0xee ? new TextDecoder().decode(data.subarray(1)) : null;
  }
  mark(key: string, stage: RaftTraceStage, peer?: number): void {
    this.marks.push(peer === undefined ? [key, stage] : [key, stage, peer]);
  }
  take(): Mark[] {
    const m = this.marks;
    this.marks = [];
    return m;
  }
}

const enc = new TextEncoder();
/** sampled is an entry of a sampled request with trace key `key`. */
function sampled(index: number, key: string): Entry {
  return { term: term(1), index: logIndex(index), type: 'normal', data: Uint8Array.of(0xee, ...enc.encode(key)) };
}
/** plain is an entry of a request that is not sampled. */
function plain(index: number): Entry {
  return { term: term(1), index: logIndex(index), type: 'normal', data: Uint8Array.of(1, 2, 3) };
}

function ready(p: { entries?: Entry[]; committed?: Entry[] }): Ready {
  return {
    softState: null, hardState: null, snapshot: null, entries: p.entries ?? [], committedEntries: p.committed ?? [],
    messages: [], messagesAfterPersist: [], readStates: [], droppedProposals: [], mustSync: (p.entries ?? []).length > 0,
  };
}

const n = (id: number): NodeId => nodeId(id);
const env = (from: number, to: number): { from: NodeId; to: NodeId; term: ReturnType<typeof term> } => ({ from: n(from), to: n(to), term: term(1) });
const app = (from: number, to: number, entries: Entry[], commit: number): Message => ({ ...env(from, to), type: 'app', index: logIndex(0), logTerm: term(0), entries, commit: logIndex(commit) });
const appResp = (from: number, to: number, index: number, reject = false): Message => ({ ...env(from, to), type: 'app-resp', index: logIndex(index), reject, rejectHint: logIndex(0), logTerm: term(0) });
const heartbeat = (from: number, to: number, commit: number, context: Uint8Array | null = null): Message => ({ ...env(from, to), type: 'heartbeat', commit: logIndex(commit), context });

const INC = new Uint8Array(8).fill(7);
const TRACED_CTX = readContext(2, INC, -3);
const PLAIN_CTX = readContext(2, INC, 3);
const TRACED_KEY = contextKey(TRACED_CTX);

describe('isTracedReadContext and contextKey', () => {
  it('tells a sampled read\'s context by its negative sequence, and only a context of the right size', () => {
    expect(isTracedReadContext(TRACED_CTX)).toBe(true);
    expect(isTracedReadContext(PLAIN_CTX)).toBe(false);
    expect(isTracedReadContext(readContext(2, INC, 0))).toBe(false);
    expect(isTracedReadContext(null)).toBe(false);
    // The right sign bit on a context one byte short (or long) is not a read context of ours.
    expect(isTracedReadContext(TRACED_CTX.subarray(1))).toBe(false);
    expect(isTracedReadContext(Uint8Array.of(0, ...TRACED_CTX))).toBe(false);
    expect(isTracedReadContext(new Uint8Array(25).fill(0x80))).toBe(false);
    expect(isTracedReadContext(new Uint8Array(24).fill(0x80))).toBe(true);
  });

  it('keys a context by its own bytes in hex, also when it is a view into a larger buffer', () => {
    expect(contextKey(Uint8Array.of(0x00, 0xab, 0x10))).toBe('00ab10');
    const big = Uint8Array.of(9, 9, 0x01, 0xff, 9);
    expect(contextKey(big.subarray(2, 4))).toBe('01ff');
    expect(TRACED_KEY).toHaveLength(48);
  });
});

describe('DriverTrace', () => {
  it('follows its tracer\'s on switch', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    expect(t.on).toBe(true);
    r.on = false;
    expect(t.on).toBe(false);
  });

  it('marks the sampled data among proposals, and the start of a read round', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.proposed([plain(1).data, sampled(2, 'w1').data, sampled(3, 'w2').data]);
    t.readStart('rk');
    expect(r.take()).toEqual([['w1', 'proposed'], ['w2', 'proposed'], ['rk', 'read-start']]);
  });

  it('marks a Ready\'s sampled new entries, returns them, and marks and forgets them when committed', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    expect(t.ready(ready({ entries: [plain(1)] }))).toBeNull();
    expect(t.openCount).toBe(0);
    const fresh = t.ready(ready({ entries: [sampled(2, 'a'), plain(3), sampled(4, 'b')] }));
    expect(fresh).toEqual([{ index: 2, key: 'a' }, { index: 4, key: 'b' }]);
    expect(t.openCount).toBe(2);
    t.synced(fresh);
    t.synced(null);
    expect(r.take()).toEqual([['a', 'ready'], ['b', 'ready'], ['a', 'synced'], ['b', 'synced']]);
    expect(t.ready(ready({ committed: [plain(1), sampled(2, 'a')] }))).toBeNull();
    expect(r.take()).toEqual([['a', 'commit']]);
    expect(t.openCount).toBe(1);
    // A committed entry no longer collects acknowledgements; the open one still does.
    t.received(appResp(3, 1, 4));
    expect(r.take()).toEqual([['b', 'ack-recv', 3]]);
  });

  it('marks applied entries and read states only when sampled', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.applied(plain(1));
    t.applied(sampled(2, 'a'));
    t.readState(PLAIN_CTX);
    t.readState(TRACED_CTX);
    expect(r.take()).toEqual([['a', 'applied'], [TRACED_KEY, 'read-state']]);
  });

  it('marks each follower\'s acknowledgement of each open entry once, and ignores rejections', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.ready(ready({ entries: [sampled(5, 'a'), sampled(6, 'b'), sampled(7, 'c')] }));
    r.take();
    t.received(appResp(2, 1, 6, true));
    expect(r.take()).toEqual([]);
    t.received(appResp(2, 1, 6));
    expect(r.take()).toEqual([['a', 'ack-recv', 2], ['b', 'ack-recv', 2]]);
    // The same follower again, now covering 7: only the new entry is marked.
    t.received(appResp(2, 1, 7));
    expect(r.take()).toEqual([['c', 'ack-recv', 2]]);
    // Another follower's acknowledgement counts on its own.
    t.received(appResp(3, 1, 5));
    expect(r.take()).toEqual([['a', 'ack-recv', 3]]);
    // The same entry in a later Ready (appended again) keeps the acknowledgements already marked.
    t.ready(ready({ entries: [sampled(5, 'a')] }));
    r.take();
    t.received(appResp(3, 1, 5));
    expect(r.take()).toEqual([]);
  });

  it('marks a commit notice once per entry, from a heartbeat or an append, and counts one heard before the entry\'s Ready', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.ready(ready({ entries: [sampled(3, 'a'), sampled(4, 'b')] }));
    r.take();
    t.received(heartbeat(1, 2, 3));
    expect(r.take()).toEqual([['a', 'commit-recv', 1]]);
    t.received(heartbeat(1, 2, 3));
    expect(r.take()).toEqual([]);
    t.received(app(1, 2, [], 4));
    expect(r.take()).toEqual([['b', 'commit-recv', 1]]);
    // The leader (now 3) announces commit 6 before this member's Ready takes entries 5 to 7.
    t.received(heartbeat(3, 2, 6));
    // A lower commit index from elsewhere does not replace the highest notice, nor does the
    // same one heard again: the first to announce it is its source.
    t.received(heartbeat(1, 2, 2));
    t.received(app(1, 2, [], 6));
    r.take();
    t.ready(ready({ entries: [sampled(5, 'c'), sampled(6, 'd'), sampled(7, 'e')] }));
    expect(r.take()).toEqual([['c', 'ready'], ['c', 'commit-recv', 3], ['d', 'ready'], ['d', 'commit-recv', 3], ['e', 'ready']]);
    // Entries noticed at their Ready are not marked again by the next notice.
    t.received(heartbeat(3, 2, 7));
    expect(r.take()).toEqual([['e', 'commit-recv', 3]]);
  });

  it('marks sampled entries in received appends and forwarded proposals', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.received(app(1, 2, [plain(1), sampled(2, 'a')], 0));
    t.received({ ...env(3, 1), type: 'prop', entries: [sampled(0, 'p'), plain(0)] });
    expect(r.take()).toEqual([['a', 'app-recv', 1], ['p', 'prop-recv', 3]]);
  });

  it('takes no commit notice from a forwarded proposal (it carries no commit index)', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.ready(ready({ entries: [sampled(2, 'a')] }));
    r.take();
    t.received({ ...env(3, 1), type: 'prop', entries: [plain(0)] });
    expect(r.take()).toEqual([]);
  });

  it('marks sampled entries, acknowledgements and reads in sent messages', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    const fresh = [{ index: 4, key: 'a' }, { index: 5, key: 'b' }];
    t.sent([
      app(1, 2, [sampled(4, 'a'), plain(5)], 3),
      { ...env(2, 1), type: 'prop', entries: [sampled(0, 'p')] },
      appResp(2, 1, 4),
      appResp(2, 1, 5, true),
      heartbeat(1, 3, 3, TRACED_CTX),
      heartbeat(1, 3, 3, PLAIN_CTX),
      heartbeat(1, 3, 3, null),
      { ...env(3, 1), type: 'heartbeat-resp', context: TRACED_CTX },
      { ...env(2, 1), type: 'read-index', context: TRACED_CTX },
      { ...env(1, 2), type: 'read-index-resp', index: logIndex(4), context: TRACED_CTX },
      { ...env(1, 2), type: 'read-index-resp', index: logIndex(4), context: PLAIN_CTX },
      { ...env(1, 2), type: 'vote', index: logIndex(4), logTerm: term(1), force: false },
      { ...env(1, 2), type: 'timeout-now' },
    ], fresh);
    expect(r.take()).toEqual([
      ['a', 'app-sent', 2],
      ['p', 'prop-sent', 1],
      ['a', 'ack-sent', 1],
      [TRACED_KEY, 'hb-sent', 3],
      [TRACED_KEY, 'hb-resp-sent', 1],
      [TRACED_KEY, 'read-index-sent', 1],
      [TRACED_KEY, 'read-index-resp-sent', 2],
    ]);
    // An acknowledgement marks only this Ready's own sampled entries.
    t.sent([appResp(2, 1, 9)], null);
    expect(r.take()).toEqual([]);
  });

  it('marks reads in received messages; only a heartbeat also brings a commit notice', () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    t.ready(ready({ entries: [sampled(2, 'a')] }));
    r.take();
    t.received({ ...env(1, 2), type: 'read-index-resp', index: logIndex(9), context: TRACED_CTX });
    t.received({ ...env(3, 1), type: 'heartbeat-resp', context: TRACED_CTX });
    t.received({ ...env(3, 1), type: 'read-index', context: PLAIN_CTX });
    t.received({ ...env(3, 1), type: 'read-index', context: TRACED_CTX });
    t.received({ ...env(1, 2), type: 'vote-resp', reject: false });
    expect(r.take()).toEqual([
      [TRACED_KEY, 'read-index-resp-recv', 1],
      [TRACED_KEY, 'hb-resp-recv', 3],
      [TRACED_KEY, 'read-index-recv', 3],
    ]);
    t.received(heartbeat(1, 2, 2, TRACED_CTX));
    expect(r.take()).toEqual([[TRACED_KEY, 'hb-recv', 1], ['a', 'commit-recv', 1]]);
  });

  it(`follows at most ${MAX_TRACED_OPEN} open entries; the rest go unmarked until the first commit`, () => {
    const r = new Recorder();
    const t = new DriverTrace(r);
    const entries = Array.from({ length: MAX_TRACED_OPEN + 1 }, (_, i) => sampled(i + 1, `k${i + 1}`));
    t.ready(ready({ entries }));
    expect(t.openCount).toBe(MAX_TRACED_OPEN);
    r.take();
    t.received(appResp(2, 1, MAX_TRACED_OPEN + 1));
    const acked = r.take();
    expect(acked).toHaveLength(MAX_TRACED_OPEN);
    expect(acked.some(([key]) => key === `k${MAX_TRACED_OPEN + 1}`)).toBe(false);
    // Once one commits, there is room again.
    t.ready(ready({ committed: [entries[0]!] }));
    t.ready(ready({ entries: [sampled(MAX_TRACED_OPEN + 2, 'late')] }));
    expect(t.openCount).toBe(MAX_TRACED_OPEN);
  });
});
