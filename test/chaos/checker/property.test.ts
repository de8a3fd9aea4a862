/**
 * property: histories produced by a real linearizable register (simulated: each operation takes
 * effect atomically at some instant between its invoke and its completion; an operation that
 * times out as `info` may take effect later or never; a `fail` never took effect) must be judged
 * linearizable; the same history with one read's value replaced by a value nobody wrote must
 * not. fast-check drives the interleaving, so a failure shrinks to a small schedule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../../src/chaos/checker/index.js';
import { formatEvent, parseHistoryText, type HistoryEvent, type OpCall, type Value } from '../../../src/chaos/history.js';

const PROCESSES = 4;
const KEYS = ['a', 'b'];

interface SimOp {
  readonly process: number;
  readonly key: string;
  readonly call: OpCall;
  applied: boolean;
  read: Value;
  took: boolean;
}

/** simulate runs a schedule (one choice number per step) against a correct register. */
function simulate(choices: readonly number[]): HistoryEvent[] {
  const register = new Map<string, Value>();
  const written = new Map<string, Value[]>(KEYS.map((k) => [k, [null]]));
  const inFlight = new Map<number, SimOp>();
  let zombies: SimOp[] = [];
  const events: HistoryEvent[] = [];
  let time = 0;
  let counter = 0;
  const emit = (op: SimOp, type: HistoryEvent['type'], read: Value = null): void => {
    time += 1;
    const base = { process: op.process, type, key: op.key, time };
    switch (op.call.f) {
      case 'read':
        events.push({ ...base, f: 'read', value: type === 'ok' ? read : null });
        break;
      case 'write':
        events.push({ ...base, f: 'write', value: op.call.value });
        break;
      case 'cas':
        events.push({ ...base, f: 'cas', value: [op.call.expected, op.call.next] });
        break;
    }
  };
  const apply = (op: SimOp): void => {
    const cur = register.get(op.key) ?? null;
    op.applied = true;
    switch (op.call.f) {
      case 'read':
        op.read = cur;
        break;
      case 'write':
        register.set(op.key, op.call.value);
        break;
      case 'cas':
        op.took = cur === op.call.expected;
        if (op.took) register.set(op.key, op.call.next);
        break;
    }
  };
  for (const c of choices) {
    let p = (c >>> 2) % PROCESSES;
    switch (c % 4) {
      case 0: {
        if (inFlight.has(p)) {
          // Busy: the first idle process invokes instead, if there is one.
          const idle = Array.from({ length: PROCESSES }, (_, i) => (p + i) % PROCESSES).find((q) => !inFlight.has(q));
          if (idle === undefined) break;
          p = idle;
        }
        const key = KEYS[(c >>> 4) % KEYS.length]!;
        const fn = (c >>> 5) % 3;
        const value = `v${counter++}`;
        let call: OpCall;
        if (fn === 0) call = { f: 'read' };
        else if (fn === 1) call = { f: 'write', value };
        else {
          const seen = written.get(key)!;
          // Half the time expect the current value, so some cas succeed.
          const expected = (c >>> 7) % 2 === 0 ? (register.get(key) ?? null) : seen[(c >>> 8) % seen.length]!;
          call = { f: 'cas', expected, next: value };
        }
        if (call.f !== 'read') written.get(key)!.push(value);
        const op: SimOp = { process: p, key, call, applied: false, read: null, took: false };
        inFlight.set(p, op);
        emit(op, 'invoke');
        break;
      }
      case 1: {
        // Some operation takes effect: an in-flight one not yet applied, or a timed-out one.
        const candidates = [...[...inFlight.values()].filter((o) => !o.applied), ...zombies];
        const op = candidates[(c >>> 4) % Math.max(1, candidates.length)];
        if (op === undefined) break;
        apply(op);
        zombies = zombies.filter((z) => z !== op);
        break;
      }
      case 2: {
        // Some in-flight operation completes.
        const flying = [...inFlight.values()];
        const op = flying[(c >>> 2) % Math.max(1, flying.length)];
        if (op === undefined) break;
        inFlight.delete(op.process);
        const how = (c >>> 6) % 6;
        if (how === 0) {
          emit(op, 'info');
          if (!op.applied) zombies.push(op);
          break;
        }
        if (!op.applied) {
          if (how === 1) {
            emit(op, 'fail'); // never applied, and now it never will be
            break;
          }
          apply(op); // takes effect at the last instant
        }
        if (op.call.f === 'cas' && !op.took) emit(op, 'fail');
        else emit(op, 'ok', op.read);
        break;
      }
      default:
        time += c % 7;
    }
  }
  return events;
}

async function verdict(events: readonly HistoryEvent[]): Promise<string> {
  const parsed = await parseHistoryText(events.map(formatEvent).join('\n'));
  if (!parsed.ok) throw new Error(`Simulated history did not parse: line ${parsed.error.line}: ${parsed.error.message}`);
  return checkLinearizability(parsed.value.ops, { timeLimitMs: 60_000 }).verdict;
}

const schedule = fc.array(fc.noBias(fc.nat()), { minLength: 20, maxLength: 600, size: 'max' });

describe('checker against a simulated linearizable register', () => {
  it('judges every simulated history linearizable', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (choices) => {
        expect(await verdict(simulate(choices))).toBe('linearizable');
      }),
      { numRuns: 200 },
    );
  });

  it('judges it not linearizable once one ok read returns a value nobody wrote', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.nat(), async (choices, pick) => {
        const events = simulate(choices);
        const reads = events.flatMap((e, i) => (e.type === 'ok' && e.f === 'read' ? [i] : []));
        fc.pre(reads.length > 0);
        const i = reads[pick % reads.length]!;
        const e = events[i]!;
        const corrupted = events.map((x, j) => (j === i && e.f === 'read' ? { ...e, value: 'never-written' } : x));
        expect(await verdict(corrupted)).toBe('not-linearizable');
      }),
      { numRuns: 200 },
    );
  });

  it('judges it not linearizable once one ok read returns an overwritten value (a stale read)', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.nat(), async (choices, pick) => {
        const events = simulate(choices);
        const stale = staleCandidates(events);
        fc.pre(stale.length > 0);
        const [i, value] = stale[pick % stale.length]!;
        const e = events[i]!;
        const corrupted = events.map((x, j) => (j === i && e.f === 'read' ? { ...e, value } : x));
        expect(await verdict(corrupted)).toBe('not-linearizable');
      }),
      { numRuns: 300 },
    );
  });
});

interface Done {
  readonly key: string;
  readonly invoke: number;
  readonly ret: number;
  readonly wrote: Value;
}

/**
 * staleCandidates lists (index of an ok read, value) pairs where the value is certainly stale
 * for that read: it was written by an acknowledged write W1 (values are unique), and another
 * acknowledged write W2 of a different value was invoked after W1 returned and returned before
 * the read was invoked. Every order then puts W1, W2, the read in that sequence.
 */
function staleCandidates(events: readonly HistoryEvent[]): [number, Value][] {
  const open = new Map<number, HistoryEvent>();
  const writes: Done[] = [];
  const out: [number, Value][] = [];
  events.forEach((e, i) => {
    if (e.type === 'invoke') {
      open.set(e.process, e);
      return;
    }
    const inv = open.get(e.process);
    open.delete(e.process);
    if (inv === undefined || e.type !== 'ok') return;
    if (e.f === 'write') writes.push({ key: e.key, invoke: inv.time, ret: e.time, wrote: e.value });
    if (e.f === 'cas') writes.push({ key: e.key, invoke: inv.time, ret: e.time, wrote: e.value[1] });
    if (e.f === 'read') {
      for (const w1 of writes) {
        if (w1.key !== e.key) continue;
        const superseded = writes.some((w2) => w2.key === e.key && w2.wrote !== w1.wrote && w2.invoke > w1.ret && w2.ret < inv.time);
        if (superseded) out.push([i, w1.wrote]);
      }
    }
  });
  return out;
}
