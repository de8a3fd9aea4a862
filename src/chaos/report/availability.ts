/**
 * availability: what a run's faults cost the clients — pairs each invocation with its outcome,
 * then counts how many operations succeeded while a fault was held (and while none was), and
 * how long after each heal the first write succeeded. Pure over the recorded history.
 */
import type { HistoryOp, OpF } from '../runner/recorder.js';

/** FaultWindow is when one fault was held (ns since the run started). */
export interface FaultWindow {
  readonly seq: number;
  readonly description: string;
  readonly startNs: number;
  readonly healNs: number | null;
}

/** CompletedOp is an invocation with its outcome (type 'info' too when the run ended without one). */
export interface CompletedOp {
  readonly process: number;
  readonly f: OpF;
  readonly key: string;
  readonly type: 'ok' | 'fail' | 'info';
  readonly startNs: number;
  readonly endNs: number;
  readonly final: boolean;
}

/** pairOps matches every invoke with the next completion of the same process. */
export function pairOps(history: readonly HistoryOp[]): CompletedOp[] {
  const open = new Map<number, HistoryOp>();
  const out: CompletedOp[] = [];
  let last = 0;
  for (const op of history) {
    last = Math.max(last, op.time);
    if (op.type === 'invoke') {
      open.set(op.process, op);
      continue;
    }
    const inv = open.get(op.process);
    if (inv === undefined) continue;
    open.delete(op.process);
    out.push({ process: op.process, f: inv.f, key: inv.key, type: op.type, startNs: inv.time, endNs: op.time, final: inv.final === true });
  }
  for (const inv of open.values()) out.push({ process: inv.process, f: inv.f, key: inv.key, type: 'info', startNs: inv.time, endNs: last, final: inv.final === true });
  return out.sort((a, b) => a.startNs - b.startNs);
}

/** Share counts operations and how many succeeded. */
export interface Share {
  readonly ops: number;
  readonly ok: number;
  /** fraction is ok / ops (null with no operations). */
  readonly fraction: number | null;
}

/** HealRecovery is how long after a heal the first write succeeded. */
export interface HealRecovery {
  readonly seq: number;
  readonly description: string;
  readonly healNs: number;
  /** firstWriteMs is null when no write invoked after the heal succeeded before the run ended. */
  readonly firstWriteMs: number | null;
}

/** Availability are the figures of the report. */
export interface Availability {
  readonly duringFaults: Share;
  readonly outsideFaults: Share;
  readonly recoveries: readonly HealRecovery[];
}

function share(ops: readonly CompletedOp[]): Share {
  const ok = ops.filter((o) => o.type === 'ok').length;
  return { ops: ops.length, ok, fraction: ops.length === 0 ? null : ok / ops.length };
}

/** availability computes the figures; an operation counts as "during a fault" when it was invoked while one was held. */
export function availability(ops: readonly CompletedOp[], faults: readonly FaultWindow[], endNs: number): Availability {
  const workload = ops.filter((o) => !o.final);
  const held = (t: number): boolean => faults.some((f) => t >= f.startNs && t <= (f.healNs ?? endNs));
  const during = workload.filter((o) => held(o.startNs));
  const outside = workload.filter((o) => !held(o.startNs));
  const writes = workload.filter((o) => o.type === 'ok' && (o.f === 'write' || o.f === 'cas'));
  const recoveries = faults.flatMap((f): HealRecovery[] => {
    if (f.healNs === null) return [];
    const healNs = f.healNs;
    const first = writes.filter((o) => o.startNs >= healNs).reduce<number | null>((m, o) => (m === null || o.endNs < m ? o.endNs : m), null);
    return [{ seq: f.seq, description: f.description, healNs, firstWriteMs: first === null ? null : (first - healNs) / 1e6 }];
  });
  return { duringFaults: share(during), outsideFaults: share(outside), recoveries };
}

/** formatAvailability is the figures as people read them. */
export function formatAvailability(a: Availability): string {
  const pct = (s: Share): string => (s.fraction === null ? 'no operations' : `${(100 * s.fraction).toFixed(1)}% of ${s.ops} operations succeeded`);
  const lines = [`during faults: ${pct(a.duringFaults)}`, `outside faults: ${pct(a.outsideFaults)}`];
  for (const r of a.recoveries) {
    lines.push(`after heal #${r.seq} (${r.description}): ${r.firstWriteMs === null ? 'no write succeeded before the run ended' : `first successful write ${r.firstWriteMs.toFixed(0)} ms later`}`);
  }
  return lines.join('\n');
}
