/**
 * watch: the guarantees of one watcher that follows the whole run, checked against the history.
 *
 * Input: the watcher's records in the order it received them, one JSON object per line:
 *
 *   {"type": "put", "key": "k7", "value": "v12", "modRevision": 418, "revision": 420, "response": 97}
 *   {"type": "reconnect", "fromRevision": 419}
 *
 * - `put` / `delete`: one event. `modRevision` is the revision of the change (for a delete, the
 *   revision of the delete); `revision` is the header revision of the watch response that
 *   carried it; `response` (optional) numbers the responses in arrival order, so events of one
 *   response share it. `value` is the value as the history wrote it (null for a delete).
 * - `reconnect`: the stream broke and the watcher opened a new one starting at `fromRevision`
 *   (the revision after the last one it saw). A record of it before any event is the start.
 *
 * Checks: events are ordered (modRevision never goes back), unique (no key at one revision
 * twice), atomic per revision (all events of one revision arrive in one response), no header
 * behind its events, resumable (a reconnect resumes right after what was seen, and the new
 * stream delivers nothing before its start), and complete against the history: every
 * acknowledged write (ok write or cas) is seen, nothing is seen that no write produced, and two
 * acknowledged writes of a key in real-time order are seen in that order. Values are assumed
 * unique per key (the chaos workloads write them so).
 */
import { readFile } from 'node:fs/promises';
import type { Operation, Value } from '../history.js';

/** WatchEvent is one event the watcher received. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: Value;
  readonly modRevision: number;
  readonly revision: number;
  readonly response?: number;
}

/** WatchRecord is one line of a watch log: an event or a reconnect. */
export type WatchRecord = WatchEvent | { readonly type: 'reconnect'; readonly fromRevision: number };

/** WatchViolation is one broken guarantee; `index` is the 0-based position in the records. */
export type WatchViolation =
  | { readonly kind: 'out-of-order'; readonly index: number; readonly event: WatchEvent; readonly after: number }
  | { readonly kind: 'duplicate'; readonly index: number; readonly event: WatchEvent; readonly first: number }
  | { readonly kind: 'header-behind'; readonly index: number; readonly event: WatchEvent }
  | { readonly kind: 'split-revision'; readonly modRevision: number; readonly responses: readonly number[] }
  | { readonly kind: 'before-start'; readonly index: number; readonly event: WatchEvent; readonly fromRevision: number }
  | { readonly kind: 'resume-gap'; readonly index: number; readonly fromRevision: number; readonly lastSeen: number }
  | { readonly kind: 'missed-write'; readonly op: Operation }
  | { readonly kind: 'phantom'; readonly index: number; readonly event: WatchEvent }
  /** write-order: `first` returned before `second` was invoked, yet the watcher saw `second` first. */
  | { readonly kind: 'write-order'; readonly key: string; readonly first: Operation; readonly second: Operation };

/** WatchResult: ok when there are no violations. */
export interface WatchResult {
  readonly ok: boolean;
  readonly events: number;
  readonly violations: readonly WatchViolation[];
}

function writtenValue(op: Operation): Value | undefined {
  return op.call.f === 'write' ? op.call.value : op.call.f === 'cas' ? op.call.next : undefined;
}

const slot = (key: string, v: Value): string => `${key}\u0000${JSON.stringify(v)}`;

/** checkWatch checks a watcher's records against the history's operations. */
export function checkWatch(records: readonly WatchRecord[], ops: readonly Operation[]): WatchResult {
  const violations: WatchViolation[] = [];
  let lastSeen = 0;
  let start = 0;
  let events = 0;
  const firstAt = new Map<string, number>();
  const batches = new Map<number, Set<number>>();
  /** seenAt: (key, value) -> modRevision of the first put that carried it. */
  const seenAt = new Map<string, number>();
  records.forEach((rec, index) => {
    if (rec.type === 'reconnect') {
      if (events > 0 && rec.fromRevision > lastSeen + 1) violations.push({ kind: 'resume-gap', index, fromRevision: rec.fromRevision, lastSeen });
      start = rec.fromRevision;
      return;
    }
    events++;
    if (rec.revision < rec.modRevision) violations.push({ kind: 'header-behind', index, event: rec });
    if (rec.modRevision < start) violations.push({ kind: 'before-start', index, event: rec, fromRevision: start });
    const id = `${rec.modRevision}\u0000${rec.key}`;
    const first = firstAt.get(id);
    if (first !== undefined) {
      violations.push({ kind: 'duplicate', index, event: rec, first });
      return;
    }
    firstAt.set(id, index);
    if (rec.modRevision < lastSeen) violations.push({ kind: 'out-of-order', index, event: rec, after: lastSeen });
    lastSeen = Math.max(lastSeen, rec.modRevision);
    let b = batches.get(rec.modRevision);
    if (b === undefined) batches.set(rec.modRevision, (b = new Set()));
    b.add(rec.response ?? rec.revision);
    if (rec.type === 'put' && !seenAt.has(slot(rec.key, rec.value))) seenAt.set(slot(rec.key, rec.value), rec.modRevision);
  });
  for (const [modRevision, responses] of batches) {
    if (responses.size > 1) violations.push({ kind: 'split-revision', modRevision, responses: [...responses].sort((a, b) => a - b) });
  }

  // Against the history.
  const writable = new Set<string>();
  const ackedByKey = new Map<string, { op: Operation; rev: number }[]>();
  for (const op of ops) {
    const v = writtenValue(op);
    if (v === undefined || op.completion.type === 'fail') continue;
    writable.add(slot(op.key, v));
    if (op.completion.type !== 'ok') continue;
    const rev = seenAt.get(slot(op.key, v));
    if (rev === undefined) {
      violations.push({ kind: 'missed-write', op });
      continue;
    }
    let list = ackedByKey.get(op.key);
    if (list === undefined) ackedByKey.set(op.key, (list = []));
    list.push({ op, rev });
  }
  records.forEach((rec, index) => {
    if (rec.type === 'reconnect') return;
    // A delete is never explained: the history format has no delete operation.
    if (rec.type === 'delete' || !writable.has(slot(rec.key, rec.value))) violations.push({ kind: 'phantom', index, event: rec });
  });
  for (const [key, list] of ackedByKey) {
    // Walk from the highest revision down, keeping the earliest return among writes seen later;
    // a write invoked after that return but seen before it is out of real-time order.
    list.sort((a, b) => b.rev - a.rev);
    let earliest: { op: Operation; ret: number } | null = null;
    for (const { op } of list) {
      if (earliest !== null && earliest.ret < op.invokeTime) violations.push({ kind: 'write-order', key, first: earliest.op, second: op });
      const ret = op.completion.type === 'ok' ? op.completion.time : Infinity;
      if (earliest === null || ret < earliest.ret) earliest = { op, ret };
    }
  }
  return { ok: violations.length === 0, events, violations };
}

function isScalar(v: unknown): v is Value {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isRevision(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** parseWatchRecord decodes one line of a watch log; `line` is for the error. */
export function parseWatchRecord(text: string, line: number): { ok: true; value: WatchRecord } | { ok: false; error: string } {
  const bad = (why: string): { ok: false; error: string } => ({ ok: false, error: `line ${line}: ${why}` });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    return bad(`Not JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('Not a JSON object.');
  const o = raw as Record<string, unknown>;
  if (o['type'] === 'reconnect') {
    return isRevision(o['fromRevision']) ? { ok: true, value: { type: 'reconnect', fromRevision: o['fromRevision'] } } : bad('A reconnect needs "fromRevision", a whole number.');
  }
  const { type, key, value, modRevision, revision, response } = o;
  if (type !== 'put' && type !== 'delete') return bad(`"type" must be put, delete or reconnect (got ${JSON.stringify(type)}).`);
  if (typeof key !== 'string' || key === '') return bad('"key" must be a non-empty string.');
  if (!isScalar(value)) return bad('"value" must be a JSON scalar (null for a delete).');
  if (!isRevision(modRevision) || !isRevision(revision)) return bad('"modRevision" and "revision" must be whole numbers.');
  if (response !== undefined && !isRevision(response)) return bad('"response", when given, must be a whole number.');
  const event: WatchEvent = response === undefined ? { type, key, value, modRevision, revision } : { type, key, value, modRevision, revision, response };
  return { ok: true, value: event };
}

/** formatWatchRecord renders a record as one line of JSON (no newline). */
export function formatWatchRecord(r: WatchRecord): string {
  return JSON.stringify(r);
}

/** readWatchFile reads a watch log (JSON lines; blank lines skipped). */
export async function readWatchFile(path: string): Promise<{ ok: true; value: WatchRecord[] } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    return { ok: false, error: `Cannot read the watch file ${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const out: WatchRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const r = parseWatchRecord(l, i + 1);
    if (!r.ok) return { ok: false, error: `${path}: ${r.error}` };
    out.push(r.value);
  }
  return { ok: true, value: out };
}
