/**
 * The pure parts of `chaos run`: the seeded schedule, flag validation, outcome classification,
 * the availability figures and the timeline plot.
 */
import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { EtcdCallError } from '../../src/kv/client/etcd-client.js';
import { lossProgram } from '../../src/chaos/nemesis/netns.js';
import { FAULT_KINDS, formatSchedule, planSchedule, HOLD_MS, type FaultKind } from '../../src/chaos/nemesis/schedule.js';
import { availability, formatAvailability, pairOps } from '../../src/chaos/report/availability.js';
import { renderTimeline } from '../../src/chaos/report/timeline.js';
import { exitCodeOf } from '../../src/chaos/report/verdicts.js';
import { parseDuration, parseFaults, validateChaosRunOptions, type RawChaosRunOptions } from '../../src/chaos/runner/options.js';
import type { HistoryOp } from '../../src/chaos/runner/recorder.js';
import { classify } from '../../src/chaos/workload/kv.js';

const ALL: FaultKind[] = [...FAULT_KINDS];

describe('planSchedule', () => {
  it('draws the same schedule from the same seed and another from another seed', () => {
    const o = { durationMs: 60_000, kinds: ALL, members: 5 };
    const a = planSchedule({ ...o, seed: 42 });
    expect(planSchedule({ ...o, seed: 42 })).toEqual(a);
    expect(planSchedule({ ...o, seed: 43 })).not.toEqual(a);
    expect(formatSchedule(a, ['m1', 'm2', 'm3', 'm4', 'm5'])).toBe(formatSchedule(planSchedule({ ...o, seed: 42 }), ['m1', 'm2', 'm3', 'm4', 'm5']));
  });

  it('holds one fault at a time, a few seconds each, healed before the end', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = planSchedule({ seed, durationMs: 40_000, kinds: ALL, members: 3 });
      expect(s.length).toBeGreaterThan(0);
      let end = 0;
      for (const f of s) {
        expect(f.atMs).toBeGreaterThanOrEqual(end);
        expect(f.holdMs).toBeGreaterThanOrEqual(HOLD_MS.min);
        expect(f.holdMs).toBeLessThanOrEqual(HOLD_MS.max);
        end = f.atMs + f.holdMs;
      }
      expect(end).toBeLessThanOrEqual(40_000);
    }
  });

  it('uses only the kinds asked for and targets members that exist', () => {
    for (let seed = 0; seed < 50; seed++) {
      for (const f of planSchedule({ seed, durationMs: 60_000, kinds: ['kill', 'pause'], members: 3 })) {
        expect(['kill', 'pause']).toContain(f.fault.kind);
        if (f.fault.kind === 'kill' || f.fault.kind === 'pause') expect(f.fault.member).toBeLessThan(3);
      }
    }
    const replaced = new Set<number>();
    const disk = new Map<string, Set<number>>([['fsync-fail', new Set()], ['fsync-stall', new Set()]]);
    for (let seed = 0; seed < 50; seed++) {
      for (const f of planSchedule({ seed, durationMs: 60_000, kinds: ['member-replace'], members: 5 })) {
        if (f.fault.kind !== 'member-replace') throw new Error('expected a member-replace');
        expect(f.fault.member).toBeLessThan(5);
        replaced.add(f.fault.member);
      }
      for (const f of planSchedule({ seed, durationMs: 60_000, kinds: ['fsync-fail', 'fsync-stall'], members: 3 })) {
        if (f.fault.kind !== 'fsync-fail' && f.fault.kind !== 'fsync-stall') throw new Error('expected an fsync fault');
        expect(f.fault.member).toBeLessThan(3);
        disk.get(f.fault.kind)!.add(f.fault.member);
      }
    }
    expect([...replaced].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const members of disk.values()) expect([...members].sort()).toEqual([0, 1, 2]);
    // Replayable: the same seed plans the same disk faults on the same members.
    expect(planSchedule({ seed: 9, durationMs: 60_000, kinds: ['fsync-fail', 'fsync-stall'], members: 3 })).toEqual(planSchedule({ seed: 9, durationMs: 60_000, kinds: ['fsync-fail', 'fsync-stall'], members: 3 }));
    expect(planSchedule({ seed: 1, durationMs: 60_000, kinds: [], members: 3 })).toEqual([]);
  });

  it('cuts partitions only between groups, leaving a bridge connected to both sides', () => {
    const shapes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      for (const { fault: f } of planSchedule({ seed, durationMs: 60_000, kinds: ['partition'], members: 5 })) {
        if (f.kind !== 'partition') throw new Error('expected a partition');
        shapes.add(f.shape);
        const members = new Set(f.groups.flat());
        expect(members.size).toBe(5);
        for (const [a, b] of f.cut) {
          expect(a).not.toBe(b);
          // No group holds both ends of a cut link.
          expect(f.groups.some((g) => g.includes(a) && g.includes(b))).toBe(false);
        }
        if (f.shape === 'majority-minority') expect(Math.min(...f.groups.map((g) => g.length))).toBe(2);
        if (f.shape === 'isolate') expect(Math.min(...f.groups.map((g) => g.length))).toBe(1);
        if (f.shape === 'bridge') {
          const bridge = f.groups[0]!.find((m) => f.groups[1]!.includes(m));
          expect(bridge).toBeDefined();
          expect(f.cut.some(([a, b]) => a === bridge || b === bridge)).toBe(false);
        }
      }
    }
    expect([...shapes].sort()).toEqual(['bridge', 'isolate', 'majority-minority']);
  });
});

const RAW: RawChaosRunOptions = { masters: '3', duration: '20s', workload: 'kv', net: 'auto', basePort: '42379', rate: '100', workers: '4', keys: '4', timeout: '1500ms' };
const ctx = { randomSeed: 77, command: 'raftkube chaos run', cwd: '/here' };

describe('chaos run flags', () => {
  it('reads durations and fault lists', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('15')).toBe(15_000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseFaults('kill,pause,kill')).toEqual({ ok: true, value: ['kill', 'pause'] });
    expect(parseFaults('none')).toEqual({ ok: true, value: [] });
    const bad = parseFaults('kill,explode');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain('Unknown fault "explode"');
    expect(parseFaults('member-replace,kill')).toEqual({ ok: true, value: ['member-replace', 'kill'] });
    expect(parseFaults('fsync-fail,fsync-stall')).toEqual({ ok: true, value: ['fsync-fail', 'fsync-stall'] });
  });

  it('fills in the defaults and the random seed', () => {
    const v = validateChaosRunOptions(RAW, ctx);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.value.seed).toBe(77);
    expect(v.value.durationMs).toBe(20_000);
    expect(v.value.reportDir).toBe('/here/chaos-report-seed-77');
    expect(v.value.faults.length).toBeGreaterThan(0);
    expect(v.value.staleReads).toBe(false);
  });

  it('refuses what it cannot do, saying what to do instead', () => {
    const err = (raw: Partial<RawChaosRunOptions>): string => {
      const v = validateChaosRunOptions({ ...RAW, ...raw }, ctx);
      return v.ok ? 'accepted' : v.error;
    };
    expect(err({ masters: '4' })).toContain('3 or 5');
    expect(err({ duration: '2s' })).toContain('at least 5s');
    expect(err({ workload: 'cluster' })).toContain('kv, k8s or both');
    expect(err({ workload: 'k8s', endpoints: 'http://127.0.0.1:2379' })).toContain('--workload kv');
    expect(err({ seed: '-1' })).toContain('--seed');
    expect(err({ endpoints: 'http://127.0.0.1:2379', faults: 'kill' })).toContain('--endpoints');
    expect(err({ net: 'loopback', faults: 'partition' })).toContain('--net auto, netns or proxy');
    expect(err({ net: 'loopback', faults: 'kill,delay' })).toContain('injects no network faults');
    expect(err({ net: 'tunnel' })).toContain('auto, netns, proxy or loopback');
    expect(err({ endpoints: 'http://127.0.0.1:2379', net: 'proxy' })).toContain('--net applies');
    expect(err({ endpoints: 'http://127.0.0.1:2379' })).toBe('accepted');
  });

  it('takes every network fault in the proxy mode and any mode without network faults', () => {
    const net = (raw: Partial<RawChaosRunOptions>): string => {
      const v = validateChaosRunOptions({ ...RAW, ...raw }, ctx);
      return v.ok ? v.value.net : v.error;
    };
    expect(net({ net: 'proxy', faults: 'partition,leader-partition,delay,loss' })).toBe('proxy');
    expect(net({ net: 'auto', faults: 'partition' })).toBe('auto');
    expect(net({ net: 'netns', faults: 'loss' })).toBe('netns');
    expect(net({ net: 'loopback', faults: 'kill,pause,leader-kill,restart-all' })).toBe('loopback');
    expect(net({ net: 'proxy', faults: 'kill' })).toBe('proxy');
  });
});

describe('outcome classification', () => {
  it('fails reads, and writes that never left or were refused; anything else is unknown', () => {
    const unavailable = new EtcdCallError(Code.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED', 'e');
    const timeout = new EtcdCallError(Code.DEADLINE_EXCEEDED, 'Deadline exceeded', 'e');
    const dropped = new EtcdCallError(Code.UNAVAILABLE, 'Connection dropped', 'e');
    const noLeader = new EtcdCallError(Code.UNAVAILABLE, 'etcdserver: no leader', 'e');
    expect(classify('read', timeout).type).toBe('fail');
    expect(classify('write', unavailable).type).toBe('fail');
    expect(classify('cas', noLeader).type).toBe('fail');
    expect(classify('write', timeout).type).toBe('info');
    expect(classify('cas', dropped).type).toBe('info');
    expect(classify('write', new Error('socket hang up')).type).toBe('info');
  });
});

describe('loss program', () => {
  it('matches the given share of random numbers', () => {
    const threshold = (p: number): number => Number(lossProgram(p).split(',')[2]!.split(' ')[3]);
    expect(threshold(0)).toBe(0xffffffff);
    expect(threshold(100)).toBe(0);
    expect(threshold(25) / 0xffffffff).toBeCloseTo(0.75, 5);
  });
});

function op(process: number, type: HistoryOp['type'], f: HistoryOp['f'], ms: number, value: HistoryOp['value'] = null): HistoryOp {
  return { process, type, f, key: 'k0', value, time: ms * 1e6 };
}

describe('availability', () => {
  const history: HistoryOp[] = [
    op(0, 'invoke', 'write', 0, 1), op(0, 'ok', 'write', 5, 1),
    // During the fault (1000..2000 ms): one failure, one unknown outcome.
    op(0, 'invoke', 'write', 1100, 2), op(0, 'fail', 'write', 1200, 2),
    op(1, 'invoke', 'write', 1300, 3), op(1, 'info', 'write', 2800, 3),
    op(0, 'invoke', 'read', 1500), op(0, 'ok', 'read', 1510, 1),
    // After the heal: a write invoked at 2100 ms succeeds at 2150 ms.
    op(0, 'invoke', 'write', 2100, 4), op(0, 'ok', 'write', 2150, 4),
    op(2, 'invoke', 'read', 2500),
  ];

  it('pairs operations, counting one never completed as unknown', () => {
    const ops = pairOps(history);
    expect(ops.map((o) => o.type)).toEqual(['ok', 'fail', 'info', 'ok', 'ok', 'info']);
  });

  it('counts successes during and outside faults and the time from heal to the first write', () => {
    const a = availability(pairOps(history), [{ seq: 1, description: 'kill m1', startNs: 1000e6, healNs: 2000e6 }], 3000e6);
    expect(a.duringFaults).toEqual({ ops: 3, ok: 1, fraction: 1 / 3 });
    expect(a.outsideFaults).toEqual({ ops: 3, ok: 2, fraction: 2 / 3 });
    expect(a.recoveries).toEqual([{ seq: 1, description: 'kill m1', healNs: 2000e6, firstWriteMs: 150 }]);
    expect(formatAvailability(a)).toContain('first successful write 150 ms later');
  });

  it('draws faults as bands and every outcome as a dot', () => {
    const svg = renderTimeline(pairOps(history), [{ seq: 1, description: 'kill m1', startNs: 1000e6, healNs: 2000e6 }], { title: 't', subtitle: 's', endNs: 3000e6 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('#1 kill m1');
    expect(svg.match(/<circle/g)?.length).toBe(6);
  });
});

describe('exit code', () => {
  it('is 0 only when every check passed, 1 on a violation, 2 when undecided', () => {
    const v = (result: 'pass' | 'violation' | 'unknown') => ({ check: 'c', result, summary: '' });
    expect(exitCodeOf([v('pass'), v('pass')])).toBe(0);
    expect(exitCodeOf([v('pass'), v('unknown'), v('violation')])).toBe(1);
    expect(exitCodeOf([v('pass'), v('unknown')])).toBe(2);
    expect(exitCodeOf([])).toBe(2);
  });
});
