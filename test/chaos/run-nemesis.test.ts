/**
 * The nemesis against a recording target: each fault is injected, then healed with its own
 * undo; a leader is looked up when its fault starts; network faults go to the network; a fault
 * that cannot be injected is recorded and everything is healed. Schedules start at time 0 and
 * hold for 0 ms, so nothing waits on the clock.
 */
import { describe, expect, it } from 'vitest';
import { Nemesis, type FaultTarget } from '../../src/chaos/nemesis/nemesis.js';
import type { NetworkFaults } from '../../src/chaos/nemesis/netns.js';
import type { Fault, ScheduledFault } from '../../src/chaos/nemesis/schedule.js';

class RecordingTarget implements FaultTarget {
  readonly names = ['m1', 'm2', 'm3'];
  readonly calls: string[] = [];
  constructor(readonly leaderIndex: number | null) {}
  async kill(i: number): Promise<void> {
    this.calls.push(`kill ${i}`);
  }
  restart(i: number): void {
    this.calls.push(`restart ${i}`);
  }
  pause(i: number): void {
    this.calls.push(`pause ${i}`);
  }
  resume(i: number): void {
    this.calls.push(`resume ${i}`);
  }
  async leader(): Promise<number | null> {
    return this.leaderIndex;
  }
}

class RecordingNet implements NetworkFaults {
  readonly mode = 'recording';
  readonly calls: string[] = [];
  constructor(readonly failCut = false) {}
  async cut(pairs: readonly (readonly [number, number])[]): Promise<void> {
    if (this.failCut) throw new Error('tc refused');
    this.calls.push(`cut ${pairs.map(([a, b]) => `${a}-${b}`).join(',')}`);
  }
  async delay(ms: number): Promise<void> {
    this.calls.push(`delay ${ms}`);
  }
  async loss(percent: number): Promise<void> {
    this.calls.push(`loss ${percent}`);
  }
  async heal(): Promise<void> {
    this.calls.push('heal');
  }
}

function schedule(...faults: Fault[]): ScheduledFault[] {
  return faults.map((fault, i) => ({ seq: i + 1, atMs: 0, holdMs: 0, fault }));
}

let t = 0;
const clock = { nowNs: () => (t += 1_000_000) };

async function run(s: ScheduledFault[], target: RecordingTarget, net: NetworkFaults | null): Promise<Nemesis> {
  const n = new Nemesis(s, target, net, clock, () => {});
  await n.run(new AbortController().signal);
  return n;
}

describe('nemesis', () => {
  it('injects and heals process faults in schedule order', async () => {
    const target = new RecordingTarget(2);
    const n = await run(schedule({ kind: 'kill', member: 0 }, { kind: 'pause', member: 1 }, { kind: 'leader-kill' }, { kind: 'restart-all' }), target, null);
    expect(target.calls).toEqual(['kill 0', 'restart 0', 'pause 1', 'resume 1', 'kill 2', 'restart 2', 'kill 0', 'kill 1', 'kill 2', 'restart 0', 'restart 1', 'restart 2']);
    expect(n.applied.map((a) => [a.seq, a.members])).toEqual([[1, ['m1']], [2, ['m2']], [3, ['m3']], [4, ['m1', 'm2', 'm3']]]);
    for (const a of n.applied) {
      expect(a.healNs).not.toBeNull();
      expect(a.healNs!).toBeGreaterThan(a.startNs);
    }
    expect(n.current).toBeNull();
  });

  it('says so when there is no leader to kill or cut off', async () => {
    const target = new RecordingTarget(null);
    const net = new RecordingNet();
    const n = await run(schedule({ kind: 'leader-kill' }, { kind: 'leader-partition' }), target, net);
    expect(target.calls).toEqual([]);
    expect(net.calls).toEqual([]);
    expect(n.applied.map((a) => a.description)).toEqual(['leader-kill (no leader at that moment: nothing killed)', 'leader-partition (no leader at that moment: nothing cut)']);
  });

  it('sends network faults to the network and heals them', async () => {
    const target = new RecordingTarget(1);
    const net = new RecordingNet();
    await run(schedule(
      { kind: 'partition', shape: 'isolate', cut: [[0, 1], [0, 2]], groups: [[0], [1, 2]] },
      { kind: 'leader-partition' },
      { kind: 'delay', ms: 100 },
      { kind: 'loss', percent: 20 },
    ), target, net);
    expect(net.calls).toEqual(['cut 0-1,0-2', 'heal', 'cut 1-0,1-2', 'heal', 'delay 100', 'heal', 'loss 20', 'heal']);
  });

  it('records a fault it could not inject and heals everything', async () => {
    const target = new RecordingTarget(0);
    const net = new RecordingNet(true);
    const n = await run(schedule({ kind: 'partition', shape: 'isolate', cut: [[0, 1]], groups: [[0], [1, 2]] }), target, net);
    expect(n.applied[0]?.error).toBe('tc refused');
    expect(net.calls).toEqual(['heal']);
    expect(target.calls).toEqual(['resume 0', 'restart 0', 'resume 1', 'restart 1', 'resume 2', 'restart 2']);
  });
});
