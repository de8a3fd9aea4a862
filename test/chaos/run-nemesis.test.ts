/**
 * The nemesis against a recording target: each fault is injected, then healed with its own
 * undo; a leader is looked up when its fault starts; network faults go to the network; a fault
 * that cannot be injected is recorded and everything is healed. Schedules start at time 0 and
 * hold for 0 ms, so nothing waits on the clock.
 */
import { describe, expect, it } from 'vitest';
import { Nemesis, type FaultTarget } from '../../src/chaos/nemesis/nemesis.js';
import type { FsyncFailpoint, Replacement, ReplaceOptions } from '../../src/chaos/runner/cluster.js';
import type { NetworkFaults } from '../../src/chaos/nemesis/netns.js';
import type { Fault, ScheduledFault } from '../../src/chaos/nemesis/schedule.js';

class RecordingTarget implements FaultTarget {
  readonly names = ['m1', 'm2', 'm3'];
  readonly calls: string[] = [];
  /** replacements are the pending replacements, settled by the test. */
  readonly replacements: { i: number; o: ReplaceOptions; resolve: (r: Replacement) => void; reject: (e: Error) => void }[] = [];
  constructor(readonly leaderIndex: number | null) {}
  /** exits says how each member's process ended (set by the test). */
  readonly exits = new Map<number, string>();
  async setFailpoint(i: number, fp: FsyncFailpoint | null): Promise<void> {
    this.calls.push(`failpoint ${i} ${fp ?? 'off'}`);
  }
  async clearFailpoints(): Promise<void> {
    this.calls.push('clear failpoints');
  }
  async waitExit(i: number): Promise<string | null> {
    return this.exits.get(i) ?? null;
  }
  replaceMember(i: number, o: ReplaceOptions): Promise<Replacement> {
    this.calls.push(`replace ${i}`);
    return new Promise((resolve, reject) => this.replacements.push({ i, o, resolve, reject }));
  }
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

/** waitForCondition lets promises run until probe holds (bounded: a stuck nemesis fails the test). */
async function waitForCondition(probe: () => boolean): Promise<void> {
  for (let k = 0; k < 1000 && !probe(); k++) await new Promise((r) => setImmediate(r));
  expect(probe()).toBe(true);
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

  it('holds a member replacement until it completes, and records the old and new member IDs', async () => {
    const target = new RecordingTarget(0);
    const n = new Nemesis(schedule({ kind: 'member-replace', member: 1 }, { kind: 'kill', member: 2 }), target, null, clock, () => {});
    const done = n.run(new AbortController().signal);
    await waitForCondition(() => target.replacements.length === 1);
    // The hold (0 ms) is over, but the heal waits for the replacement: nothing else happens yet.
    await new Promise((r) => setImmediate(r));
    expect(target.calls).toEqual(['replace 1']);
    expect(n.current?.kind).toBe('member-replace');
    expect(n.applied[0]?.healNs).toBeNull();
    expect(target.replacements[0]!.o.deadlineMs).toBeGreaterThan(0);
    target.replacements[0]!.resolve({ oldId: '11', newId: '22' });
    await done;
    expect(target.calls).toEqual(['replace 1', 'kill 2', 'restart 2']);
    expect(n.applied[0]).toMatchObject({ kind: 'member-replace', members: ['m2'], description: 'member-replace m2', replaced: { oldId: '11', newId: '22' } });
    expect(n.applied[0]?.error).toBeUndefined();
    expect(n.applied[0]?.healNs).not.toBeNull();
  });

  it('records a replacement that failed and heals everything after it', async () => {
    const target = new RecordingTarget(0);
    const n = new Nemesis(schedule({ kind: 'member-replace', member: 0 }), target, null, clock, () => {});
    const done = n.run(new AbortController().signal);
    await waitForCondition(() => target.replacements.length === 1);
    target.replacements[0]!.reject(new Error('Replacing m1 failed at promote: gave up'));
    await done;
    expect(n.applied[0]?.error).toBe('Replacing m1 failed at promote: gave up');
    expect(n.applied[0]?.replaced).toBeUndefined();
    expect(target.calls).toEqual(['replace 0', 'clear failpoints', 'resume 0', 'restart 0', 'resume 1', 'restart 1', 'resume 2', 'restart 2']);
  });

  it('healAll waits for a replacement under way before restarting anything', async () => {
    const target = new RecordingTarget(0);
    const n = new Nemesis(schedule({ kind: 'member-replace', member: 2 }), target, null, clock, () => {});
    const abort = new AbortController();
    const done = n.run(abort.signal);
    await waitForCondition(() => target.replacements.length === 1);
    let healed = false;
    const all = n.healAll().then(() => (healed = true));
    await new Promise((r) => setImmediate(r));
    expect(healed).toBe(false);
    target.replacements[0]!.resolve({ oldId: '1', newId: '2' });
    await all;
    await done;
    expect(target.calls.slice(0, 1)).toEqual(['replace 2']);
    expect(target.calls).toContain('restart 2');
  });

  it('arms fsync failpoints and heals them: fail restarts the member it stopped, stall disarms', async () => {
    const target = new RecordingTarget(0);
    target.exits.set(1, 'exit code 2');
    const n = await run(schedule({ kind: 'fsync-fail', member: 1 }, { kind: 'fsync-stall', member: 2 }, { kind: 'fsync-fail', member: 0 }), target, null);
    expect(target.calls).toEqual([
      'failpoint 1 fsync=fail', 'failpoint 1 off', 'restart 1',
      'failpoint 2 fsync=stall', 'failpoint 2 off',
      'failpoint 0 fsync=fail', 'failpoint 0 off', 'restart 0',
    ]);
    expect(n.applied.map((a) => [a.description, a.members, a.outcome])).toEqual([
      ['fsync-fail m2', ['m2'], 'the member stopped: exit code 2'],
      ['fsync-stall m3', ['m3'], undefined],
      ['fsync-fail m1', ['m1'], 'still running when healed'],
    ]);
    for (const a of n.applied) expect(a.healNs).not.toBeNull();
  });

  it('records a fault it could not inject and heals everything', async () => {
    const target = new RecordingTarget(0);
    const net = new RecordingNet(true);
    const n = await run(schedule({ kind: 'partition', shape: 'isolate', cut: [[0, 1]], groups: [[0], [1, 2]] }), target, net);
    expect(n.applied[0]?.error).toBe('tc refused');
    expect(net.calls).toEqual(['heal']);
    expect(target.calls).toEqual(['clear failpoints', 'resume 0', 'restart 0', 'resume 1', 'restart 1', 'resume 2', 'restart 2']);
  });
});
