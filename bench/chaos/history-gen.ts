/**
 * history-gen: synthetic histories of a correct register for the checker benchmark. Each
 * process issues operations back to back on random keys; every operation takes effect at a
 * random instant inside its interval (so the history is linearizable by construction), except
 * timed-out ones (`info`), which take effect at a random later instant or never. A seeded
 * generator makes every run the same history.
 */
import type { HistoryEvent, Value } from '../../src/chaos/history.js';

/** GenOptions shapes the history. */
export interface GenOptions {
  readonly ops: number;
  readonly keys: number;
  readonly processes: number;
  /** infoRate: the fraction of operations that time out (default 0.01). */
  readonly infoRate: number;
  readonly seed: number;
}

/** mulberry32 is a small seeded PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  readonly process: number;
  readonly key: string;
  readonly f: 'read' | 'write' | 'cas';
  readonly call: number;
  readonly ret: number;
  /** at: when it takes effect; null for a timed-out operation that never does. */
  readonly at: number | null;
  readonly info: boolean;
  readonly value: string;
  expected: Value;
  read: Value;
  took: boolean;
}

/** generateHistory returns the events of a linearizable history, in time order. */
export function generateHistory(o: GenOptions): HistoryEvent[] {
  const rnd = mulberry32(o.seed);
  const planned: Planned[] = [];
  const clock = new Array<number>(o.processes).fill(0);
  for (let i = 0; i < o.ops; i++) {
    const process = i % o.processes;
    const call = clock[process]! + Math.floor(rnd() * 200_000); // up to 0.2 ms think time
    const ret = call + 500_000 + Math.floor(rnd() * 4_500_000); // 0.5-5 ms latency
    const info = rnd() < o.infoRate;
    const at = info ? (rnd() < 0.5 ? null : call + Math.floor(rnd() * 50_000_000)) : call + Math.floor(rnd() * (ret - call));
    const r = rnd();
    const f = r < 0.5 ? 'read' : r < 0.85 ? 'write' : 'cas';
    planned.push({ process, key: `k${Math.floor(rnd() * o.keys)}`, f, call, ret, at, info, value: `v${i}`, expected: null, read: null, took: false });
    // Jepsen gives a timed-out process a new id; keep ids distinct per lane instead.
    clock[process] = ret + 1;
  }
  // Apply in the order the operations take effect; cas expects the current value most times.
  const register = new Map<string, Value>();
  const effective = planned.filter((p) => p.at !== null).sort((a, b) => a.at! - b.at!);
  for (const p of effective) {
    const cur = register.get(p.key) ?? null;
    if (p.f === 'read') p.read = cur;
    else if (p.f === 'write') register.set(p.key, p.value);
    else {
      p.expected = rnd() < 0.7 ? cur : `v${Math.floor(rnd() * o.ops)}`;
      p.took = p.expected === cur;
      if (p.took) register.set(p.key, p.value);
    }
  }
  const events: { e: HistoryEvent; order: number }[] = [];
  for (const p of planned) {
    const base = { process: p.process, key: p.key };
    const completion = p.info ? 'info' : p.f === 'cas' && !p.took ? 'fail' : 'ok';
    const at = (type: HistoryEvent['type'], time: number): HistoryEvent => {
      switch (p.f) {
        case 'read':
          return { ...base, type, time, f: 'read', value: type === 'ok' ? p.read : null };
        case 'write':
          return { ...base, type, time, f: 'write', value: p.value };
        case 'cas':
          return { ...base, type, time, f: 'cas', value: [p.expected, p.value] };
      }
    };
    events.push({ e: at('invoke', p.call), order: 0 }, { e: at(completion, p.ret), order: 1 });
  }
  events.sort((a, b) => a.e.time - b.e.time || a.order - b.order);
  return events.map((x) => x.e);
}
