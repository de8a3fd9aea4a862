/**
 * history: the client-operation history of a chaos run, one JSON event per line in the style of
 * Jepsen and Porcupine, and its pairing into operations.
 *
 * One line is one event:
 *
 *   {"process": 3, "type": "invoke", "f": "write", "key": "k7", "value": "v12", "time": 1200340}
 *
 * - `process`: a whole number ≥ 0 naming the client that issued the operation. A process has at
 *   most one operation outstanding: its next `invoke` comes after the completion of the last.
 * - `type`: `invoke` when the operation is sent; then exactly one completion: `ok` (it took
 *   effect, and for a read this is what it saw), `fail` (it certainly did not take effect) or
 *   `info` (unknown, e.g. a timeout: it may take effect at any later time, or never). An
 *   operation with no completion by the end of the file counts as `info`. After `info` the
 *   process may invoke again (Jepsen would give it a new id; either works here).
 * - `f`: `read`, `write` or `cas`.
 * - `key`: the register (a non-empty string).
 * - `value`: a JSON scalar (string, number, boolean or null). `read`: null on the invoke, the
 *   value read on `ok` (null when the key was absent). `write`: the value written. `cas`:
 *   `[expected, new]`. On `fail` and `info`, the invoke's value again (it is not used).
 * - `time`: nanoseconds on one monotonic clock for the whole run, ideally counted from its
 *   start (numbers above 2^53 lose precision). A completion is never earlier than its invoke.
 *
 * The parser streams (a history of millions of lines is never held as text) and reports the
 * first bad line by number with what is wrong; pairing reports an unmatched or mismatched
 * completion the same way. Errors are values, never exceptions.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Value is what a register holds: a JSON scalar; null means absent. */
export type Value = string | number | boolean | null;

/** OpFunction names the three operations on a register. */
export type OpFunction = 'read' | 'write' | 'cas';

/** EventType: invoke, then one completion (ok, fail or info). */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

interface EventBase {
  readonly process: number;
  readonly type: EventType;
  readonly key: string;
  readonly time: number;
}

/** ReadEvent: value null on invoke; on ok the value read (null when absent). */
export interface ReadEvent extends EventBase {
  readonly f: 'read';
  readonly value: Value;
}

/** WriteEvent: value is the value written. */
export interface WriteEvent extends EventBase {
  readonly f: 'write';
  readonly value: Value;
}

/** CasEvent: value is [expected, new]. */
export interface CasEvent extends EventBase {
  readonly f: 'cas';
  readonly value: readonly [Value, Value];
}

/** HistoryEvent is one line of a history file. */
export type HistoryEvent = ReadEvent | WriteEvent | CasEvent;

/** OpCall is what an operation asked for. */
export type OpCall =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: Value }
  | { readonly f: 'cas'; readonly expected: Value; readonly next: Value };

/**
 * Completion is how an operation ended. `read` is the value an ok read returned (null for ok
 * writes and cas). `open`: the history ended before any completion; it is treated as `info`.
 */
export type Completion =
  | { readonly type: 'ok'; readonly time: number; readonly line: number; readonly read: Value }
  | { readonly type: 'fail'; readonly time: number; readonly line: number }
  | { readonly type: 'info'; readonly time: number; readonly line: number }
  | { readonly type: 'open' };

/** Operation is an invoke paired with its completion. `id` is its index in the pairing order. */
export interface Operation {
  readonly id: number;
  readonly process: number;
  readonly key: string;
  readonly call: OpCall;
  readonly invokeTime: number;
  readonly invokeLine: number;
  readonly completion: Completion;
}

/** HistoryError is a bad line (or a bad pairing) of a history, with its 1-based line number. */
export interface HistoryError {
  readonly line: number;
  readonly message: string;
}

/** Result is a value or an error, never a throw. */
export type Result<T, E = HistoryError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** formatHistoryError renders an error as `line N: message`. */
export function formatHistoryError(e: HistoryError): string {
  return `line ${e.line}: ${e.message}`;
}

const FIELDS = new Set(['process', 'type', 'f', 'key', 'value', 'time']);

function isValue(v: unknown): v is Value {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function fail<T>(line: number, message: string): Result<T> {
  return { ok: false, error: { line, message } };
}

/**
 * parseEvent decodes one line of a history. Blank lines are the caller's to skip. `line` is used
 * only for the error.
 */
export function parseEvent(text: string, line: number): Result<HistoryEvent> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    return fail(line, `Not JSON (${why}); each line must be one JSON object.`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(line, 'Not a JSON object; each line must be one event object.');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) return fail(line, `Unknown field "${k}"; an event has process, type, f, key, value and time.`);
  const { process, type, f, key, value, time } = o;
  if (typeof process !== 'number' || !Number.isSafeInteger(process) || process < 0) return fail(line, `"process" must be a whole number, 0 or more (got ${JSON.stringify(process)}).`);
  if (type !== 'invoke' && type !== 'ok' && type !== 'fail' && type !== 'info') return fail(line, `"type" must be invoke, ok, fail or info (got ${JSON.stringify(type)}).`);
  if (typeof key !== 'string' || key === '') return fail(line, `"key" must be a non-empty string (got ${JSON.stringify(key)}).`);
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return fail(line, `"time" must be a number of nanoseconds, 0 or more (got ${JSON.stringify(time)}).`);
  if (!('value' in o)) return fail(line, '"value" is missing (use null where there is none).');
  switch (f) {
    case 'read':
      if (!isValue(value)) return fail(line, `A read's "value" must be a JSON scalar or null (got ${JSON.stringify(value)}).`);
      if (type === 'invoke' && value !== null) return fail(line, `A read's invoke must have "value": null (got ${JSON.stringify(value)}).`);
      return { ok: true, value: { process, type, f, key, value, time } };
    case 'write':
      if (!isValue(value)) return fail(line, `A write's "value" must be a JSON scalar (got ${JSON.stringify(value)}).`);
      return { ok: true, value: { process, type, f, key, value, time } };
    case 'cas': {
      if (!Array.isArray(value) || value.length !== 2 || !isValue(value[0]) || !isValue(value[1])) {
        return fail(line, `A cas's "value" must be [expected, new], two JSON scalars (got ${JSON.stringify(value)}).`);
      }
      const pair: readonly [Value, Value] = [value[0], value[1]];
      return { ok: true, value: { process, type, f, key, value: pair, time } };
    }
    default:
      return fail(line, `"f" must be read, write or cas (got ${JSON.stringify(f)}).`);
  }
}

/** formatEvent renders an event as one line of JSON (no newline). */
export function formatEvent(e: HistoryEvent): string {
  return JSON.stringify({ process: e.process, type: e.type, f: e.f, key: e.key, value: e.value, time: e.time });
}

function callOf(e: HistoryEvent): OpCall {
  switch (e.f) {
    case 'read':
      return { f: 'read' };
    case 'write':
      return { f: 'write', value: e.value };
    case 'cas':
      return { f: 'cas', expected: e.value[0], next: e.value[1] };
  }
}

function sameCall(a: OpCall, b: OpCall): boolean {
  switch (a.f) {
    case 'read':
      return b.f === 'read';
    case 'write':
      return b.f === 'write' && a.value === b.value;
    case 'cas':
      return b.f === 'cas' && a.expected === b.expected && a.next === b.next;
  }
}

interface Pending {
  readonly process: number;
  readonly key: string;
  readonly call: OpCall;
  readonly time: number;
  readonly line: number;
}

/**
 * HistoryPairer turns a stream of events into operations: feed events in file order with
 * `add`, then `finish` for the operations (in invoke order; ids are indexes into that list).
 * `add` returns an error for a completion without an invoke, a second invoke while one is
 * outstanding, a completion whose f, key or value differs from its invoke's, or a completion
 * earlier than its invoke.
 */
export class HistoryPairer {
  readonly #pending = new Map<number, { readonly index: number; readonly p: Pending }>();
  readonly #slots: (Pending | Operation)[] = [];
  #events = 0;

  /** add feeds one event read from `line`. */
  add(e: HistoryEvent, line: number): Result<void> {
    this.#events++;
    const call = callOf(e);
    const outstanding = this.#pending.get(e.process);
    if (e.type === 'invoke') {
      if (outstanding !== undefined) {
        return fail(line, `Process ${e.process} invokes again while its operation from line ${outstanding.p.line} is outstanding; complete it first (ok, fail or info).`);
      }
      const p: Pending = { process: e.process, key: e.key, call, time: e.time, line };
      this.#pending.set(e.process, { index: this.#slots.length, p });
      this.#slots.push(p);
      return { ok: true, value: undefined };
    }
    if (outstanding === undefined) return fail(line, `Process ${e.process} completes (${e.type}) an operation it never invoked.`);
    const p = outstanding.p;
    if (p.key !== e.key || !sameCall(p.call, call)) {
      return fail(line, `This ${e.type} of ${e.f} on "${e.key}" does not match process ${e.process}'s invoke on line ${p.line} (${describeCall(p.call)} on "${p.key}").`);
    }
    if (e.time < p.time) return fail(line, `Completes at ${e.time} ns, before its invoke on line ${p.line} at ${p.time} ns.`);
    const completion: Completion =
      e.type === 'ok' ? { type: 'ok', time: e.time, line, read: e.f === 'read' ? e.value : null } : { type: e.type, time: e.time, line };
    this.#slots[outstanding.index] = { id: outstanding.index, process: p.process, key: p.key, call: p.call, invokeTime: p.time, invokeLine: p.line, completion };
    this.#pending.delete(e.process);
    return { ok: true, value: undefined };
  }

  /** events is how many events were added. */
  get events(): number {
    return this.#events;
  }

  /** finish returns every operation; invokes never completed become `open` (treated as info). */
  finish(): Operation[] {
    return this.#slots.map((s, id) =>
      'id' in s ? s : { id, process: s.process, key: s.key, call: s.call, invokeTime: s.time, invokeLine: s.line, completion: { type: 'open' } },
    );
  }
}

/** describeCall renders a call as `read`, `write "v"` or `cas "a"->"b"`. */
export function describeCall(c: OpCall): string {
  switch (c.f) {
    case 'read':
      return 'read';
    case 'write':
      return `write ${JSON.stringify(c.value)}`;
    case 'cas':
      return `cas ${JSON.stringify(c.expected)}->${JSON.stringify(c.next)}`;
  }
}

/** ParsedHistory is a whole history, paired. */
export interface ParsedHistory {
  readonly events: number;
  readonly ops: Operation[];
}

/** parseHistoryLines parses and pairs a history given as lines (blank lines are skipped). */
export async function parseHistoryLines(lines: AsyncIterable<string> | Iterable<string>): Promise<Result<ParsedHistory>> {
  const pairer = new HistoryPairer();
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    const e = parseEvent(text, n);
    if (!e.ok) return e;
    const added = pairer.add(e.value, n);
    if (!added.ok) return added;
  }
  return { ok: true, value: { events: pairer.events, ops: pairer.finish() } };
}

/** parseHistoryText parses and pairs a history held as one string. */
export function parseHistoryText(text: string): Promise<Result<ParsedHistory>> {
  return parseHistoryLines(text.split('\n'));
}

/** readHistoryStream parses and pairs a history from a byte stream, line by line. */
export async function readHistoryStream(input: Readable): Promise<Result<ParsedHistory>> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    return await parseHistoryLines(rl);
  } finally {
    rl.close();
    input.destroy();
  }
}

/** readHistoryFile parses and pairs the history file at `path`; a missing file is an error at line 0. */
export async function readHistoryFile(path: string): Promise<Result<ParsedHistory>> {
  const input = createReadStream(path);
  const opened = await new Promise<Error | null>((resolve) => {
    input.once('ready', () => resolve(null));
    input.once('error', (err) => resolve(err));
  });
  if (opened !== null) return fail(0, `Cannot read the history file ${path}: ${opened.message}`);
  return readHistoryStream(input);
}

/**
 * HistoryWriter appends events to a stream as JSON lines, honouring backpressure: `write`
 * resolves once the stream can take more. `close` ends the stream and resolves when flushed.
 */
export class HistoryWriter {
  readonly #out: Writable;

  constructor(out: Writable) {
    this.#out = out;
  }

  /** write appends one event. */
  async write(e: HistoryEvent): Promise<void> {
    if (!this.#out.write(`${formatEvent(e)}\n`)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.#out.off('error', onError);
          resolve();
        };
        const onError = (err: Error): void => {
          this.#out.off('drain', onDrain);
          reject(err);
        };
        this.#out.once('drain', onDrain);
        this.#out.once('error', onError);
      });
    }
  }

  /** close ends the stream. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.once('error', reject);
      this.#out.end(() => resolve());
    });
  }
}
