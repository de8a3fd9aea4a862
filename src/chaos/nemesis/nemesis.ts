/**
 * nemesis: carries out a schedule — at each fault's time it injects the fault, holds it, then
 * heals it — and records what really happened (when, on which members: a leader is looked up
 * when its fault starts). `healAll` undoes everything whatever state a run ends in.
 */
import type { Clock } from '../runner/recorder.js';
import type { FsyncFailpoint, Replacement, ReplaceOptions } from '../runner/cluster.js';
import type { NetworkFaults } from './netns.js';
import { describeFault, type ScheduledFault } from './schedule.js';

/** FaultTarget is what the nemesis acts on: the members of the cluster. */
export interface FaultTarget {
  readonly names: readonly string[];
  kill(i: number): Promise<void>;
  restart(i: number): void;
  pause(i: number): void;
  resume(i: number): void;
  leader(): Promise<number | null>;
  /** replaceMember replaces member i by a fresh one (see ChaosCluster.replaceMember); resolves once it is a healthy voter. */
  replaceMember(i: number, o: ReplaceOptions): Promise<Replacement>;
  /** setFailpoint arms member i's test-only fsync failpoint (null disarms it) and tells the member. */
  setFailpoint(i: number, fp: FsyncFailpoint | null): Promise<void>;
  /** clearFailpoints disarms every armed failpoint. */
  clearFailpoints(): Promise<void>;
  /** waitExit waits (at most timeoutMs) for member i's process to end and says how it ended ("exit code 2"), or null if it still runs. */
  waitExit(i: number, timeoutMs: number): Promise<string | null>;
}

/** FSYNC_FAIL_EXIT_MS bounds how long the heal of fsync-fail waits for the member to stop. */
export const FSYNC_FAIL_EXIT_MS = 15_000;

/** REPLACE_DEADLINE_MS bounds a member replacement, from the kill to a healthy voting successor. */
export const REPLACE_DEADLINE_MS = 60_000;

/** AppliedFault is one fault as it happened, times in ns since the run started. */
export interface AppliedFault {
  readonly seq: number;
  readonly kind: ScheduledFault['fault']['kind'];
  readonly description: string;
  readonly startNs: number;
  healNs: number | null;
  /** members names the members the fault hit. */
  readonly members: readonly string[];
  /** error says why the fault could not be injected (it is then healed at once) or healed. */
  error?: string;
  /** replaced says, for member-replace, which member ID was removed and which took its place. */
  replaced?: Replacement;
  /** outcome says what became of the member, for faults whose effect is up to it (fsync-fail: how it exited). */
  outcome?: string;
}

/** Undo heals one injected fault. */
type Undo = () => Promise<void>;

function abortableWait(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Nemesis injects the scheduled faults. */
export class Nemesis {
  readonly applied: AppliedFault[] = [];
  readonly #schedule: readonly ScheduledFault[];
  readonly #target: FaultTarget;
  readonly #net: NetworkFaults | null;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  #current: AppliedFault | null = null;
  /** #pending is a replacement still under way (its heal, or healAll, waits for it). */
  #pending: Promise<void> | null = null;

  constructor(schedule: readonly ScheduledFault[], target: FaultTarget, net: NetworkFaults | null, clock: Clock, log: (line: string) => void) {
    this.#schedule = schedule;
    this.#target = target;
    this.#net = net;
    this.#clock = clock;
    this.#log = log;
  }

  /** current is the fault being held right now, if any. */
  get current(): AppliedFault | null {
    return this.#current;
  }

  /** run follows the schedule until it ends or signal aborts; the last fault is healed either way. */
  async run(signal: AbortSignal): Promise<void> {
    for (const s of this.#schedule) {
      await abortableWait(s.atMs - this.#clock.nowNs() / 1e6, signal);
      if (signal.aborted) return;
      const undo = await this.#inject(s, signal);
      await abortableWait(s.atMs + s.holdMs - this.#clock.nowNs() / 1e6, signal);
      await this.#heal(undo);
    }
  }

  async #inject(s: ScheduledFault, signal: AbortSignal): Promise<Undo> {
    const names = this.#target.names;
    const record = (members: readonly number[], extra = ''): AppliedFault => {
      const a: AppliedFault = { seq: s.seq, kind: s.fault.kind, description: `${describeFault(s.fault, names)}${extra}`, startNs: this.#clock.nowNs(), healNs: null, members: members.map((i) => names[i]!) };
      this.applied.push(a);
      this.#current = a;
      this.#log(`fault #${s.seq} at ${(a.startNs / 1e9).toFixed(1)}s: ${a.description}`);
      return a;
    };
    const net = this.#net;
    const f = s.fault;
    let a: AppliedFault | null = null;
    try {
      switch (f.kind) {
        case 'kill': {
          a = record([f.member]);
          await this.#target.kill(f.member);
          return async () => this.#target.restart(f.member);
        }
        case 'pause': {
          a = record([f.member]);
          this.#target.pause(f.member);
          return async () => this.#target.resume(f.member);
        }
        case 'leader-kill': {
          const l = await this.#target.leader();
          if (l === null) {
            a = record([], ' (no leader at that moment: nothing killed)');
            return async () => {};
          }
          a = record([l], ` (${names[l]})`);
          await this.#target.kill(l);
          return async () => this.#target.restart(l);
        }
        case 'member-replace': {
          const applied = record([f.member]);
          a = applied;
          // The replacement runs on while the fault is held; the heal is its completion.
          const outcome = this.#target.replaceMember(f.member, { deadlineMs: REPLACE_DEADLINE_MS, signal, onStep: (_, detail) => this.#log(`fault #${s.seq}: ${detail}`) })
            .then((r): string | null => {
              applied.replaced = r;
              return null;
            }, (err: unknown): string => (err instanceof Error ? err.message : String(err)));
          const pending = outcome.then(() => undefined);
          this.#pending = pending;
          return async () => {
            const error = await outcome;
            if (this.#pending === pending) this.#pending = null;
            if (error !== null) {
              applied.error = error;
              throw new Error(error);
            }
          };
        }
        case 'fsync-fail': {
          const applied = record([f.member]);
          a = applied;
          await this.#target.setFailpoint(f.member, 'fsync=fail');
          // The member must exit at its next sync (the workload keeps it syncing); the heal waits
          // for that (on a loaded machine the hold may end first), then restarts it.
          return async () => {
            const how = await this.#target.waitExit(f.member, FSYNC_FAIL_EXIT_MS);
            applied.outcome = how === null ? 'still running when healed' : `the member stopped: ${how}`;
            await this.#target.setFailpoint(f.member, null);
            this.#target.restart(f.member);
          };
        }
        case 'fsync-stall': {
          a = record([f.member]);
          await this.#target.setFailpoint(f.member, 'fsync=stall');
          return () => this.#target.setFailpoint(f.member, null);
        }
        case 'restart-all': {
          const all = names.map((_, i) => i);
          a = record(all);
          for (const i of all) await this.#target.kill(i);
          return async () => {
            for (const i of all) this.#target.restart(i);
          };
        }
        case 'partition':
        case 'leader-partition':
        case 'delay':
        case 'loss': {
          if (net === null) throw new Error('BUG: a network fault was scheduled without a network to inject it');
          if (f.kind === 'partition') {
            a = record([...new Set(f.cut.flat())]);
            await net.cut(f.cut);
          } else if (f.kind === 'leader-partition') {
            const l = await this.#target.leader();
            if (l === null) {
              a = record([], ' (no leader at that moment: nothing cut)');
              return async () => {};
            }
            a = record([l], ` (${names[l]} cut off)`);
            await net.cut(names.map((_, j) => [l, j] as const).filter(([x, y]) => x !== y));
          } else if (f.kind === 'delay') {
            a = record(names.map((_, i) => i));
            await net.delay(f.ms);
          } else if (f.kind === 'loss') {
            a = record(names.map((_, i) => i));
            await net.loss(f.percent);
          }
          return () => net.heal();
        }
      }
    } catch (err: unknown) {
      const msg = err instanceof Error ? err.message : String(err);
      if (a === null) a = record([]);
      a.error = msg;
      this.#log(`fault #${s.seq} could not be injected: ${msg}`);
      return () => this.healAll();
    }
  }

  async #heal(undo: Undo): Promise<void> {
    const a = this.#current;
    try {
      await undo();
    } catch (err: unknown) {
      this.#log(`healing fault #${a?.seq ?? '?'} failed (${err instanceof Error ? err.message : String(err)}); healing everything`);
      await this.healAll();
    }
    if (a !== null) {
      a.healNs = this.#clock.nowNs();
      this.#log(`healed #${a.seq} at ${(a.healNs / 1e9).toFixed(1)}s`);
    }
    this.#current = null;
  }

  /** healAll disarms failpoints, continues every member, starts every stopped one and removes network faults. */
  async healAll(): Promise<void> {
    // A replacement under way owns its member until it ends (at the latest at its deadline).
    if (this.#pending !== null) await this.#pending;
    this.#pending = null;
    await this.#target.clearFailpoints();
    for (let i = 0; i < this.#target.names.length; i++) {
      this.#target.resume(i);
      this.#target.restart(i);
    }
    await this.#net?.heal();
    if (this.#current !== null && this.#current.healNs === null) this.#current.healNs = this.#clock.nowNs();
    this.#current = null;
  }
}
