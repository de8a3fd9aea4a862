/**
 * lost-writes: no acknowledged write is lost. Input: the history's operations and the final
 * state — the value of every key read once the run is over and the cluster healed (null when
 * the key is absent). Every `ok` write (and successful cas) must be visible at the end or
 * superseded: the final value was written by an operation that may have taken effect after it
 * (one that had not returned before it was invoked; an `info` operation may land at any time).
 * A final value no operation wrote is reported too. Values are assumed unique per key, as the
 * chaos workloads write them; with repeated values the check is lenient, never wrong.
 *
 * The final state is a JSON object, `{"k1": "v9", "k2": null}`, in a file or a string.
 */
import { readFile } from 'node:fs/promises';
import type { Operation, Value } from '../history.js';

/** FinalState maps every key to the value read at the end (null when absent). */
export type FinalState = ReadonlyMap<string, Value>;

/** LostWriteViolation is one thing the final state says went wrong. */
export type LostWriteViolation =
  /** lost: an acknowledged write neither visible nor superseded by the writer of the final value. */
  | { readonly kind: 'lost'; readonly key: string; readonly op: Operation; readonly final: Value }
  /** unwritten-final: the final value of the key was written by no operation (ok or unknown). */
  | { readonly kind: 'unwritten-final'; readonly key: string; readonly final: Value }
  /** no-final-read: the key has acknowledged writes but no final value was given. */
  | { readonly kind: 'no-final-read'; readonly key: string; readonly acknowledged: number };

/** LostWriteResult: ok when there are no violations; `acknowledged` counts the writes checked. */
export interface LostWriteResult {
  readonly ok: boolean;
  readonly acknowledged: number;
  readonly violations: readonly LostWriteViolation[];
}

interface Writer {
  readonly op: Operation;
  readonly value: Value;
  readonly ret: number;
}

function writtenValue(op: Operation): Value | undefined {
  return op.call.f === 'write' ? op.call.value : op.call.f === 'cas' ? op.call.next : undefined;
}

/** checkLostWrites checks every acknowledged write against the final state. */
export function checkLostWrites(ops: readonly Operation[], final: FinalState): LostWriteResult {
  const byKey = new Map<string, Writer[]>();
  for (const op of ops) {
    const value = writtenValue(op);
    if (value === undefined || op.completion.type === 'fail') continue;
    const ret = op.completion.type === 'ok' ? op.completion.time : Infinity;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push({ op, value, ret });
  }
  const violations: LostWriteViolation[] = [];
  let acknowledged = 0;
  for (const [key, writers] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const acked = writers.filter((w) => w.op.completion.type === 'ok');
    acknowledged += acked.length;
    if (!final.has(key)) {
      if (acked.length > 0) violations.push({ kind: 'no-final-read', key, acknowledged: acked.length });
      continue;
    }
    const f = final.get(key) ?? null;
    const finalWriters = writers.filter((w) => w.value === f);
    if (f !== null && finalWriters.length === 0) {
      violations.push({ kind: 'unwritten-final', key, final: f });
      continue;
    }
    // The latest return among the final value's writers: a write invoked after it cannot be
    // followed by any of them, so it should have been the one left visible.
    const lastPossible = finalWriters.reduce((m, w) => Math.max(m, w.ret), -Infinity);
    for (const w of acked) {
      if (w.value === f) continue;
      if (lastPossible >= w.op.invokeTime) continue;
      violations.push({ kind: 'lost', key, op: w.op, final: f });
    }
  }
  return { ok: violations.length === 0, acknowledged, violations };
}

/** parseFinalState decodes a JSON object of key -> scalar value; errors are values. */
export function parseFinalState(text: string): { ok: true; value: FinalState } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    return { ok: false, error: `Not JSON (${err instanceof Error ? err.message : String(err)}); the final state is one object of key -> value.` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'Not a JSON object; the final state is one object of key -> value (null when absent).' };
  const out = new Map<string, Value>();
  for (const [k, v] of Object.entries(raw)) {
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      return { ok: false, error: `The final value of ${JSON.stringify(k)} must be a JSON scalar or null (got ${JSON.stringify(v)}).` };
    }
    out.set(k, v as Value);
  }
  return { ok: true, value: out };
}

/** readFinalState reads and decodes a final-state file. */
export async function readFinalState(path: string): Promise<{ ok: true; value: FinalState } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    return { ok: false, error: `Cannot read the final-state file ${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const r = parseFinalState(text);
  return r.ok ? r : { ok: false, error: `${path}: ${r.error}` };
}
