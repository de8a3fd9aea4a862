/**
 * bench-kv-trace: the pure parts of `raftkube bench kv --trace` — joining the client's samples
 * with hand-built member records into hops with known durations, the quorum choice, the rule
 * that moves an out-of-order point up, the p50/p99 tables — and the member side's pieces: the
 * tracer's ring, the traced request ID and the traced ReadIndex context.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { coveredMs, decodeDump, formatTraceTables, joinTrace, pausedMs, percentile, traceTables, validateBenchKvOptions, type ClientSample, type JoinedSample } from '../../bench/kv/index.js';
import { readContext } from '../../src/raft/driver.js';
import { isTracedReadContext } from '../../src/raft/trace.js';
import { encodeWire, requestIdKey, TRACED_ID_BIT, tracedEntryKey } from '../../src/kv/server/requests.js';
import { MemberTracer, type TraceDump, type TraceEvent, type TraceStage } from '../../src/kv/server/tracer.js';

/** ev builds an event at `us` microseconds. */
function ev(key: string, stage: TraceStage, us: number, peer?: string): TraceEvent {
  return { key, stage, t: String(us * 1000), ...(peer === undefined ? {} : { peer }) };
}
function bind(token: string, ref: string): TraceEvent {
  return { key: token, stage: 'bind', t: '0', ref };
}
function dump(member: string, events: TraceEvent[]): TraceDump {
  return { member, enabled: true, dropped: 0, events };
}
function sample(token: string, kind: 'put' | 'get', sentUs: number, recvUs: number): ClientSample {
  return { token, kind, sentNs: BigInt(sentUs * 1000), recvNs: BigInt(recvUs * 1000) };
}
function hopsUs(j: { hops: readonly { name: string; ms: number }[] }): number[] {
  return j.hops.map((h) => Math.round(h.ms * 1000));
}

// A put served by the leader a; followers b and c; c's acknowledgement arrives first.
const PUT_BY_LEADER: TraceDump[] = [
  dump('a', [ev('T1', 'recv', 100), bind('T1', 'k1'), ev('k1', 'proposed', 150), ev('k1', 'ready', 160), ev('k1', 'app-sent', 170, 'b'), ev('k1', 'app-sent', 175, 'c'), ev('k1', 'synced', 400), ev('k1', 'ack-recv', 500, 'c'), ev('k1', 'ack-recv', 600, 'b'), ev('k1', 'commit', 650), ev('k1', 'applied', 700), ev('T1', 'reply', 720)]),
  dump('b', [ev('k1', 'app-recv', 250, 'a'), ev('k1', 'ready', 260), ev('k1', 'synced', 550), ev('k1', 'ack-sent', 560, 'a')]),
  dump('c', [ev('k1', 'app-recv', 200, 'a'), ev('k1', 'ready', 210), ev('k1', 'synced', 450), ev('k1', 'ack-sent', 460, 'a')]),
];

// A put served by the follower b: forwarded, b's own acknowledgement completes the quorum, and
// the leader's own sync ends after it (so the commit waits for it).
const PUT_BY_FOLLOWER: TraceDump[] = [
  dump('b', [ev('T2', 'recv', 2100), bind('T2', 'k2'), ev('k2', 'proposed', 2120), ev('k2', 'prop-sent', 2130, 'a'), ev('k2', 'app-recv', 2300, 'a'), ev('k2', 'ready', 2310), ev('k2', 'synced', 2500), ev('k2', 'ack-sent', 2510, 'a'), ev('k2', 'commit-recv', 2800, 'a'), ev('k2', 'commit', 2820), ev('k2', 'applied', 2850), ev('T2', 'reply', 2860)]),
  dump('a', [ev('k2', 'prop-recv', 2200, 'b'), ev('k2', 'ready', 2210), ev('k2', 'app-sent', 2220, 'b'), ev('k2', 'app-sent', 2225, 'c'), ev('k2', 'ack-recv', 2600, 'b'), ev('k2', 'synced', 2700), ev('k2', 'commit', 2750), ev('k2', 'applied', 2790)]),
  dump('c', []),
];

// A linearizable get served by the leader, and one served by the follower c.
const GETS: TraceDump[] = [
  dump('a', [ev('G1', 'recv', 5010), bind('G1', 'r1'), ev('r1', 'read-start', 5020), ev('r1', 'hb-sent', 5030, 'b'), ev('r1', 'hb-sent', 5031, 'c'), ev('r1', 'hb-resp-recv', 5100, 'b'), ev('r1', 'hb-resp-recv', 5110, 'c'), ev('r1', 'read-state', 5120), ev('G1', 'read-done', 5130), ev('G1', 'reply', 5150),
    ev('r2', 'read-index-recv', 6050, 'c'), ev('r2', 'hb-sent', 6060, 'b'), ev('r2', 'hb-sent', 6061, 'c'), ev('r2', 'hb-resp-recv', 6150, 'c'), ev('r2', 'hb-resp-recv', 6160, 'b'), ev('r2', 'read-index-resp-sent', 6170, 'c')]),
  dump('b', [ev('r1', 'hb-recv', 5060, 'a'), ev('r1', 'hb-resp-sent', 5070, 'a'), ev('r2', 'hb-recv', 6100, 'a'), ev('r2', 'hb-resp-sent', 6110, 'a')]),
  dump('c', [ev('r1', 'hb-recv', 5070, 'a'), ev('r1', 'hb-resp-sent', 5080, 'a'), ev('G2', 'recv', 6010), bind('G2', 'r2'), ev('r2', 'read-start', 6020), ev('r2', 'read-index-sent', 6030, 'a'), ev('r2', 'hb-recv', 6090, 'a'), ev('r2', 'hb-resp-sent', 6120, 'a'), ev('r2', 'read-index-resp-recv', 6200, 'a'), ev('r2', 'read-state', 6210), ev('G2', 'read-done', 6215), ev('G2', 'reply', 6240)]),
];

describe('joinTrace', () => {
  it('splits a put served by the leader into its hops along the first acknowledgement (3 members)', () => {
    const r = joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 });
    expect(r.incomplete).toEqual([]);
    const j = r.joined[0]!;
    expect(j).toMatchObject({ group: 'put, leader', leader: 'a', serving: 'a', follower: 'c', reordered: false });
    expect(j.hops.map((h) => h.name)).toEqual([
      'client → member (gRPC request)', 'member: decode, hand to Raft', 'leader: to the Ready with the new entry', 'leader: appends handed to the peer link',
      'append: leader → follower (peer link)', 'follower: to the Ready with the entry', 'follower: WAL append + fdatasync', 'follower: acknowledgement handed to the peer link',
      'acknowledgement: follower → leader (peer link)', 'leader: wait for its own WAL sync', 'leader: commit → Ready', 'leader: apply', 'member: wake the request, build the response',
    ]);
    expect(hopsUs(j)).toEqual([100, 50, 10, 15, 25, 10, 240, 10, 40, 0, 150, 50, 20]);
    expect(j.totalMs).toBeCloseTo(1.0, 9);
    expect(j.restMs).toBeCloseTo(0.28, 9);
    expect(j.leaderSyncMs).toBeCloseTo(0.24, 9);
  });

  it('takes the second acknowledgement on 5 members', () => {
    const r = joinTrace([sample('T1', 'put', 0, 1000)], [...PUT_BY_LEADER, dump('d', []), dump('e', [])], { members: 5 });
    expect(r.joined[0]?.follower).toBe('b');
    // b: app-sent 170 → app-recv 250 → ready 260 → synced 550 → ack 560 → leader 600.
    expect(hopsUs(r.joined[0]!).slice(3, 10)).toEqual([10, 80, 10, 290, 10, 40, 0]);
  });

  it('follows a forwarded put and counts the wait for the leader\'s own sync', () => {
    const r = joinTrace([sample('T2', 'put', 2000, 2900)], PUT_BY_FOLLOWER, { members: 3 });
    expect(r.incomplete).toEqual([]);
    const j = r.joined[0]!;
    expect(j).toMatchObject({ group: 'put, follower', leader: 'a', serving: 'b', follower: 'b', reordered: false });
    // recv 2100, proposed 2120, prop-sent 2130, prop-recv 2200, ready 2210, app-sent(b) 2220, app-recv 2300,
    // ready 2310, synced 2500, ack-sent 2510, ack-recv 2600, leader synced 2700, commit 2750,
    // commit-recv 2800, commit 2820, applied 2850, reply 2860.
    expect(hopsUs(j)).toEqual([100, 20, 10, 70, 10, 10, 80, 10, 190, 10, 90, 100, 50, 50, 20, 30, 10]);
    expect(j.restMs).toBeCloseTo(0.04, 9);
  });

  it('splits linearizable gets served by the leader and by a follower', () => {
    const r = joinTrace([sample('G1', 'get', 5000, 5200), sample('G2', 'get', 6000, 6300)], GETS, { members: 3 });
    expect(r.incomplete).toEqual([]);
    const [g1, g2] = r.joined;
    expect(g1).toMatchObject({ group: 'get, leader', follower: 'b' });
    expect(hopsUs(g1!)).toEqual([10, 10, 10, 30, 10, 30, 20, 10, 20]);
    expect(g1!.restMs).toBeCloseTo(0.05, 9);
    expect(g2).toMatchObject({ group: 'get, follower', leader: 'a', serving: 'c', follower: 'c' });
    // recv 6010, read-start 6020, sent 6030, leader 6050, hb-sent(c) 6061, c hb-recv 6090, answer 6120,
    // leader 6150, resp sent 6170, c 6200, read-state 6210, read-done 6215, reply 6240.
    expect(hopsUs(g2!)).toEqual([10, 10, 10, 20, 11, 29, 30, 30, 20, 30, 10, 5, 25]);
  });

  it('moves a point that comes before the previous one up to it, so hops never exceed the total', () => {
    const early = PUT_BY_FOLLOWER.map((d) => (d.member !== 'b' ? d : { ...d, events: d.events.map((e) => (e.stage === 'commit-recv' ? ev('k2', 'commit-recv', 2740, 'a') : e)) }));
    const j = joinTrace([sample('T2', 'put', 2000, 2900)], early, { members: 3 }).joined[0]!;
    expect(j.reordered).toBe(true);
    expect(hopsUs(j)[13]).toBe(0);
    expect(j.hops.reduce((a, h) => a + h.ms, 0)).toBeLessThanOrEqual(j.totalMs);
  });

  it('reports a sample it cannot join, and why', () => {
    const r = joinTrace([sample('nobody', 'put', 0, 10), sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 });
    expect(r.joined.map((j) => j.token)).toEqual(['T1']);
    expect(r.incomplete).toEqual([{ token: 'nobody', reason: 'no member bound the token to a request' }]);
    const noAck = joinTrace([sample('T1', 'put', 0, 1000)], [PUT_BY_LEADER[0]!.events.filter((e) => e.stage !== 'ack-recv')].map((events) => dump('a', events)), { members: 3 });
    expect(noAck.incomplete[0]?.reason).toBe('0 ack-recv on the leader, a quorum needs 1');
  });
});

describe('traceTables', () => {
  it('takes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('summarises each group, in the fixed order, with the rest and the total', () => {
    const j = joinTrace([sample('T1', 'put', 0, 1000), sample('T2', 'put', 2000, 2900), sample('G1', 'get', 5000, 5200)], [...PUT_BY_LEADER, ...PUT_BY_FOLLOWER, ...GETS], { members: 3 });
    const tables = traceTables(j.joined);
    expect(tables.map((t) => [t.group, t.samples])).toEqual([['put, leader', 1], ['put, follower', 1], ['get, leader', 1], ['get, follower', 0]]);
    const put = tables[0]!;
    expect(put.stages).toHaveLength(13);
    expect(put.stages[6]).toEqual({ name: 'follower: WAL append + fdatasync', p50: 0.24, p99: 0.24, tailMean: 0.24, samples: 1, cpuWaitP50: null, cpuWaitTailMean: null });
    expect(put.rest.p50).toBeCloseTo(0.28, 9);
    expect(put.total.p50).toBe(1);
    expect(put.leaderSync?.p50).toBeCloseTo(0.24, 9);
    expect(tables[2]!.leaderSync).toBeNull();
    const text = formatTraceTables(tables);
    expect(text).toContain('put served by the leader — 1 sampled request');
    expect(text).toMatch(/ 7\. follower: WAL append \+ fdatasync\s+0\.240\s+0\.240\s+0\.240/);
    expect(text).toContain('linearizable get served by a follower — 0 sampled requests\n  (no complete samples)');
  });
});

describe('the response out', () => {
  it("splits the rest at the serving member's stream close when the member marked it, for puts and gets", () => {
    const withSent = PUT_BY_LEADER.map((d) => (d.member !== 'a' ? d : { ...d, events: [...d.events, ev('T1', 'sent', 760)] }));
    const put = joinTrace([sample('T1', 'put', 0, 1000)], withSent, { members: 3 }).joined[0]!;
    expect(put.hops.at(-1)).toEqual({ name: 'member: response out (HTTP/2 headers, data, trailers)', ms: 0.04 });
    expect(put.restMs).toBeCloseTo(0.24, 9);
    const without = joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined[0]!;
    expect(without.hops.at(-1)?.name).toBe('member: wake the request, build the response');
    expect(without.restMs).toBeCloseTo(0.28, 9);
    const getSent = GETS.map((d) => (d.events.some((e) => e.key === 'G1' && e.stage === 'reply') ? { ...d, events: [...d.events, ev('G1', 'sent', 5170)] } : d));
    const get = joinTrace([sample('G1', 'get', 5000, 5200)], getSent, { members: 3 }).joined[0]!;
    expect(get.hops.at(-1)?.name).toBe('member: response out (HTTP/2 headers, data, trailers)');
    expect(get.hops.at(-1)?.ms).toBeCloseTo(0.02, 9);
    expect(get.restMs).toBeCloseTo(0.03, 9);
  });
});

describe('the slowest 1 %', () => {
  // 99 requests of 1 ms, slow in no stage, and one of 5 ms, slow in the sync alone: the sync's p99
  // stays at its usual 0.2 ms while its mean over the slowest 1 % shows where the 5 ms went.
  function joined(token: string, syncMs: number, restMs: number, leaderSyncMs: number, clientPausedMs: number | null = null): JoinedSample {
    const hops = [{ name: 'forward', ms: 0.3 }, { name: 'sync', ms: syncMs }];
    return { token, group: 'put, follower', leader: 'a', serving: 'b', follower: 'c', hops, totalMs: 0.3 + syncMs + restMs, restMs, leaderSyncMs, reordered: false, clientPausedMs, memberPausedMs: null, trailersMs: null, clientCpuWaitMs: null, membersCpuWaitMs: null };
  }
  const all = [...Array.from({ length: 99 }, (_, i) => joined(`T${i}`, 0.2, 0.5, 0.1)), joined('slow', 4.2, 0.5, 0.9)];

  it("gives each stage its mean over the slowest 1 % by total, which the stage's p99 does not show", () => {
    const t = traceTables(all)[1]!;
    expect(t.stages[1]).toMatchObject({ name: 'sync', p99: 0.2, tailMean: 4.2 });
    expect(t.stages[0]).toMatchObject({ name: 'forward', tailMean: 0.3 });
    expect(t.rest.tailMean).toBeCloseTo(0.5, 9);
    expect(t.total.tailMean).toBeCloseTo(5, 9);
    expect(t.leaderSync?.tailMean).toBeCloseTo(0.9, 9);
    const text = formatTraceTables(traceTables(all));
    expect(text).toMatch(/ 2\. sync\s+0\.200\s+0\.200\s+4\.200/);
  });

  it('takes one request in a hundred, rounding up', () => {
    const two = [...all, ...all.map((j) => ({ ...j, token: `${j.token}'`, hops: j.hops.map((h) => (h.name === 'sync' && j.token === 'slow' ? { ...h, ms: 2.2 } : h)), totalMs: j.token === 'slow' ? 3 : j.totalMs }))];
    expect(traceTables(two)[1]!.stages[1]!.tailMean).toBeCloseTo((4.2 + 2.2) / 2, 9);
    expect(traceTables([...all, joined('another', 0.2, 0.5, 0.1)])[1]!.stages[1]!.tailMean).toBeCloseTo((4.2 + 0.2) / 2, 9);
  });
});

describe("the client's own pauses", () => {
  const ns = (ms: number): bigint => BigInt(Math.round(ms * 1e6));
  const pauses = [{ startNs: ns(1), endNs: ns(3) }, { startNs: ns(5), endNs: ns(5.5) }, { startNs: ns(9), endNs: ns(12) }];

  it('counts the part of each pause that falls within a request', () => {
    expect(pausedMs(pauses, ns(0), ns(10))).toBeCloseTo(2 + 0.5 + 1, 9);
    expect(pausedMs(pauses, ns(2), ns(5.25))).toBeCloseTo(1 + 0.25, 9);
    expect(pausedMs(pauses, ns(3), ns(5))).toBe(0);
    expect(pausedMs([], ns(0), ns(10))).toBe(0);
  });

  it("joins a sample's pauses and shows them under the rest, with their own slowest-1 % mean", () => {
    const j = joinTrace([{ ...sample('T1', 'put', 0, 1000), pausedMs: 0.2 }], PUT_BY_LEADER, { members: 3 });
    expect(j.joined[0]?.clientPausedMs).toBe(0.2);
    const t = traceTables(j.joined)[0]!;
    expect(t.clientPaused).toMatchObject({ p50: 0.2, p99: 0.2, tailMean: 0.2 });
    expect(formatTraceTables([t])).toMatch(/\(in stage 1 or the rest\) the client's own GC pauses\s+0\.200\s+0\.200\s+0\.200/);
    const unmeasured = joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 });
    expect(unmeasured.joined[0]?.clientPausedMs).toBeNull();
    expect(traceTables(unmeasured.joined)[0]!.clientPaused).toBeNull();
    expect(formatTraceTables(traceTables(unmeasured.joined))).not.toContain('GC pauses');
  });
});

describe("the members' own pauses", () => {
  const ns = (ms: number): bigint => BigInt(Math.round(ms * 1e6));
  const pause = (fromUs: number, toUs: number): { start: string; end: string } => ({ start: String(fromUs * 1000), end: String(toUs * 1000) });

  it('counts a stretch in which several processes stood still once', () => {
    const ps = [{ startNs: ns(1), endNs: ns(3) }, { startNs: ns(2), endNs: ns(4) }, { startNs: ns(6), endNs: ns(7) }, { startNs: ns(6.5), endNs: ns(6.75) }];
    expect(coveredMs(ps, ns(0), ns(10))).toBeCloseTo(3 + 1, 9);
    expect(coveredMs(ps, ns(2.5), ns(6.5))).toBeCloseTo(1.5 + 0.5, 9);
    expect(coveredMs(ps, ns(4), ns(6))).toBe(0);
    expect(coveredMs([], ns(0), ns(10))).toBe(0);
  });

  it("splits them into the members the request waited for and the others, and shows both", () => {
    // The put T1 (0–1000 µs) served by the leader a, quorum by c: a and c are on its path, b is not.
    const withGc = PUT_BY_LEADER.map((d) => ({ ...d, gc: d.member === 'a' ? [pause(300, 500)] : d.member === 'b' ? [pause(100, 900), pause(2000, 3000)] : [pause(450, 550), pause(990, 1200)] }));
    const j = joinTrace([sample('T1', 'put', 0, 1000)], withGc, { members: 3 }).joined[0]!;
    expect(j.memberPausedMs?.path).toBeCloseTo(0.25 + 0.01, 9);
    expect(j.memberPausedMs?.others).toBeCloseTo(0.8, 9);
    const t = traceTables([j])[0]!;
    expect(t.pathPaused).toMatchObject({ name: '(within the stages) GC pauses of the members it waited for', samples: 1 });
    expect(t.pathPaused?.p50).toBeCloseTo(0.26, 9);
    expect(t.othersPaused?.tailMean).toBeCloseTo(0.8, 9);
    expect(formatTraceTables([t])).toMatch(/\(beside the path\) the other members' GC pauses\s+0\.800\s+0\.800\s+0\.800/);
    // A forwarded put waited for its serving follower b, the leader a and the acknowledging b: c is beside.
    const fwd = PUT_BY_FOLLOWER.map((d) => ({ ...d, gc: d.member === 'c' ? [pause(2100, 2200)] : [] }));
    const f = joinTrace([sample('T2', 'put', 2000, 3000)], fwd, { members: 3 }).joined[0]!;
    expect(f.memberPausedMs).toEqual({ path: 0, others: 0.1 });
  });

  it("measures the client's wait from the response message to its trailers when it heard the headers", () => {
    const j = joinTrace([{ ...sample('T1', 'put', 0, 1000), headersNs: 850_000n }], PUT_BY_LEADER, { members: 3 }).joined[0]!;
    expect(j.trailersMs).toBeCloseTo(0.15, 9);
    const t = traceTables([j])[0]!;
    expect(t.trailers).toMatchObject({ name: '(in response out and the rest) client: response message → trailers', samples: 1 });
    expect(formatTraceTables([t])).toMatch(/client: response message → trailers\s+0\.150\s+0\.150\s+0\.150/);
    const without = joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined[0]!;
    expect(without.trailersMs).toBeNull();
    expect(traceTables([without])[0]!.trailers).toBeNull();
  });

  it("shows the client's wait for a CPU within each request when it was measured", () => {
    const j = joinTrace([{ ...sample('T1', 'put', 0, 1000), cpuWaitMs: 0.4 }], PUT_BY_LEADER, { members: 3 }).joined[0]!;
    expect(j.clientCpuWaitMs).toBe(0.4);
    const t = traceTables([j])[0]!;
    expect(t.clientCpuWait).toMatchObject({ name: '(in stage 1 or the rest) the client waiting for a CPU', p50: 0.4, tailMean: 0.4 });
    expect(formatTraceTables([t])).toMatch(/the client waiting for a CPU\s+0\.400\s+0\.400\s+0\.400/);
    expect(traceTables(joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined)[0]!.clientCpuWait).toBeNull();
  });

  it('says nothing of them when no member sent any', () => {
    const j = joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined[0]!;
    expect(j.memberPausedMs).toBeNull();
    const t = traceTables([j])[0]!;
    expect(t.pathPaused).toBeNull();
    expect(t.othersPaused).toBeNull();
    expect(formatTraceTables([t])).not.toContain('GC pauses');
  });

  it('reads them from /debug/trace, and refuses a malformed record', () => {
    const body = { member: 'a', enabled: true, dropped: 0, events: [], gc: [pause(1, 2)], gcDropped: 0 };
    expect(decodeDump(body, 'm1').gc).toEqual([{ start: '1000', end: '2000' }]);
    expect(decodeDump({ ...body, gc: undefined, gcDropped: undefined }, 'm1').gc).toBeUndefined();
    for (const gc of [[{ start: '5', end: '4' }], [{ start: '1' }], 'soon', [{ start: '-1', end: '2' }]]) {
      expect(() => decodeDump({ ...body, gc }, 'm1'), JSON.stringify(gc)).toThrow(/m1: \/debug\/trace returned GC pauses of the wrong shape/);
    }
    expect(() => decodeDump({ ...body, gcDropped: 'none' }, 'm1')).toThrow(/GC pauses of the wrong shape/);
  });

  it("a member records its own pauses on hrtime's clock while tracing, and none while off", async () => {
    const t = new MemberTracer('a');
    const churn = async (): Promise<void> => {
      let keep: number[][] = [];
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 20_000; i++) keep.push([i, i + 1]);
        keep = [];
        await new Promise<void>((r) => setImmediate(r));
      }
    };
    await churn();
    expect(t.drain().gc).toEqual([]);
    const from = process.hrtime.bigint();
    t.enable();
    await churn();
    const d = t.drain();
    const to = process.hrtime.bigint();
    expect(d.gc?.length).toBeGreaterThan(0);
    expect(d.gcDropped).toBe(0);
    for (const p of d.gc ?? []) {
      expect(BigInt(p.end)).toBeGreaterThanOrEqual(BigInt(p.start));
      expect(BigInt(p.start)).toBeGreaterThanOrEqual(from);
      expect(BigInt(p.end)).toBeLessThanOrEqual(to);
    }
    // Read once: the next read has only what came after.
    expect(t.drain().gc?.length ?? 0).toBeLessThan(d.gc?.length ?? 0);
    t.disable();
    await churn();
    expect(t.drain().gc).toEqual([]);
  });
});

describe("the members' wait for a CPU", () => {
  // PUT_BY_LEADER with run-queue readings: c waited 30 µs before it read the append (after its
  // reading at 10 µs; the hop from the leader's send at 175 lasted only 25 µs, so 25 count) and
  // 100 µs during its fdatasync; a waited 20 µs before it read c's acknowledgement (after its
  // reading at 400, its own sync).
  const waitedUs: Record<string, (e: TraceEvent) => number> = {
    a: (e) => (Number(e.t) / 1000 >= 500 ? 20 : 0),
    b: () => 0,
    c: (e) => (Number(e.t) / 1000 >= 450 ? 130 : Number(e.t) / 1000 >= 200 ? 30 : 0),
  };
  const withWaits = PUT_BY_LEADER.map((d) => {
    const events = [ev('earlier', 'applied', d.member === 'a' ? 0 : 10), ...d.events];
    return { ...d, events: events.map((e) => (e.stage === 'bind' ? e : { ...e, waited: String(waitedUs[d.member]!(e) * 1000) })) };
  });

  it('gives each hop the wait of the member it ends on, from that member\'s last reading at or before the hop began', () => {
    const j = joinTrace([sample('T1', 'put', 0, 1000)], withWaits, { members: 3 }).joined[0]!;
    const waits = Object.fromEntries(j.hops.map((h) => [h.name, Math.round((h.cpuWaitMs ?? -1) * 1000)]));
    expect(waits).toMatchObject({
      'client → member (gRPC request)': 0,
      'append: leader → follower (peer link)': 25,
      'follower: to the Ready with the entry': 0,
      'follower: WAL append + fdatasync': 100,
      'acknowledgement: follower → leader (peer link)': 20,
      'leader: commit → Ready': 0,
    });
    expect(j.membersCpuWaitMs).toBeCloseTo(0.145, 9);
    // The hops are unchanged by the readings.
    expect(hopsUs(j)).toEqual(hopsUs(joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined[0]!));
  });

  it('shows the wait beside each stage and in all, and nothing of it when no member sent readings', () => {
    const t = traceTables(joinTrace([sample('T1', 'put', 0, 1000)], withWaits, { members: 3 }).joined)[0]!;
    expect(t.stages.find((r) => r.name === 'follower: WAL append + fdatasync')).toMatchObject({ cpuWaitP50: 0.1, cpuWaitTailMean: 0.1 });
    expect(t.membersCpuWait).toMatchObject({ name: '(within the stages) the members on the path waiting for a CPU', samples: 1 });
    const text = formatTraceTables([t]);
    expect(text).toContain('CPU wait p50');
    expect(text).toMatch(/follower: WAL append \+ fdatasync\s+0\.240\s+0\.240\s+0\.240\s+0\.100\s+0\.100/);
    expect(text).toMatch(/the members on the path waiting for a CPU\s+0\.145\s+0\.145\s+0\.145/);
    const plain = traceTables(joinTrace([sample('T1', 'put', 0, 1000)], PUT_BY_LEADER, { members: 3 }).joined)[0]!;
    expect(plain.membersCpuWait).toBeNull();
    expect(plain.stages.every((r) => r.cpuWaitP50 === null && r.cpuWaitTailMean === null)).toBe(true);
    expect(formatTraceTables([plain])).not.toContain('a CPU');
  });

  it('reads them from /debug/trace, and refuses a malformed one', () => {
    const body = { member: 'a', enabled: true, dropped: 0, events: [{ ...ev('k', 'ready', 1), waited: '1500' }] };
    expect(decodeDump(body, 'm1').events[0]?.waited).toBe('1500');
    for (const waited of ['-1', 'soon', 12]) expect(() => decodeDump({ ...body, events: [{ ...ev('k', 'ready', 1), waited }] }, 'm1'), String(waited)).toThrow(/m1: \/debug\/trace returned a body of the wrong shape/);
  });

  it.skipIf(!existsSync('/proc/thread-self/schedstat'))('a member stamps each point with its thread\'s run-queue wait so far while tracing', () => {
    const t = new MemberTracer('a');
    t.enable();
    t.mark('k', 'ready');
    t.mark('k', 'synced');
    const [e1, e2] = t.drain().events;
    expect(e1?.waited).toMatch(/^\d+$/);
    expect(BigInt(e2?.waited ?? '-1')).toBeGreaterThanOrEqual(BigInt(e1?.waited ?? '0'));
    t.disable();
  });
});

describe('bench kv --trace flags', () => {
  it('refuses --trace with etcd, and the trace flags without --trace', () => {
    expect(validateBenchKvOptions({ endpoints: '127.0.0.1:2379', trace: true, compareEtcd: true })).toMatchObject({ ok: false, error: expect.stringContaining('--trace measures raftkube alone') as unknown });
    expect(validateBenchKvOptions({ endpoints: '127.0.0.1:2379', traceOut: 'x.json' })).toMatchObject({ ok: false, error: expect.stringContaining('add --trace') as unknown });
    expect(validateBenchKvOptions({ endpoints: '127.0.0.1:2379', trace: true, traceSample: '0' })).toMatchObject({ ok: false, error: expect.stringContaining('--trace-sample') as unknown });
    const v = validateBenchKvOptions({ endpoints: '127.0.0.1:2379', trace: true, traceOut: 'x.json' });
    expect(v.ok && v.value.trace).toEqual({ every: 4, outPath: 'x.json' });
  });
});

describe('member tracing', () => {
  it('records nothing while off, keeps the newest events when the ring is full, and empties it when read', () => {
    const t = new MemberTracer('a', 3);
    t.mark('k', 'ready');
    expect(t.drain().events).toEqual([]);
    t.enable();
    for (const s of ['proposed', 'ready', 'synced', 'commit', 'applied'] as const) t.mark('k', s, 0xb);
    t.bind('tok', 'k');
    const d = t.drain();
    expect(d).toMatchObject({ member: 'a', enabled: true, dropped: 3 });
    expect(d.events.map((e) => e.stage)).toEqual(['commit', 'applied', 'bind']);
    expect(d.events[0]?.peer).toBe('b');
    expect(d.events[2]).toMatchObject({ key: 'tok', ref: 'k' });
    const times = d.events.map((e) => BigInt(e.t));
    expect(times[0]! <= times[1]! && times[1]! <= times[2]!).toBe(true);
    expect(t.drain().events).toEqual([]);
    t.disable();
    t.mark('k', 'ready');
    expect(t.drain()).toMatchObject({ enabled: false, events: [] });
  });

  it('recognises a sampled entry by its request ID, and a sampled read by its context', () => {
    const id = (0x1234abcdn << 32n) | 7n;
    expect(tracedEntryKey(encodeWire('put', id, { key: Buffer.from('k'), value: Buffer.from('v') }))).toBeNull();
    expect(tracedEntryKey(encodeWire('put', id | TRACED_ID_BIT, { key: Buffer.from('k'), value: Buffer.from('v') }))).toBe(requestIdKey(id | TRACED_ID_BIT));
    expect(requestIdKey(id | TRACED_ID_BIT)).toBe('1234abcd80000007');
    const inc = new Uint8Array(8).fill(3);
    expect(isTracedReadContext(readContext(5, inc, 9))).toBe(false);
    expect(isTracedReadContext(readContext(5, inc, -9))).toBe(true);
    expect(isTracedReadContext(null)).toBe(false);
  });
});
