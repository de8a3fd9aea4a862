/**
 * recorder: the run's history as it happens — every client operation (invoke, then ok, fail or
 * info) and every event the watcher saw — kept in memory for the checks and appended to JSONL
 * files as it goes, so a run that dies half-way still leaves what it recorded.
 *
 * Operation lines follow the history format of the chaos suite:
 * `{"process", "type": "invoke"|"ok"|"fail"|"info", "f": "read"|"write"|"cas", "key", "value", "time"}`
 * with `time` in nanoseconds since the run started (monotonic clock).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { WatchRecord } from '../checker/watch.js';

/** OpF is what an operation does. */
export type OpF = 'read' | 'write' | 'cas';

/** OpType says whether a line starts an operation or how it ended. */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** OpValue is a read's result, a write's value or a cas's [expected, new]. */
export type OpValue = number | null | readonly [number | null, number];

/** HistoryOp is one line of history.jsonl. */
export interface HistoryOp {
  readonly process: number;
  readonly type: OpType;
  readonly f: OpF;
  readonly key: string;
  readonly value: OpValue;
  readonly time: number;
  /** error says why a fail or info ended so (kept in memory for the report; not written to the file). */
  readonly error?: string;
  /** final marks the reads of every key after the cluster recovered (in memory only). */
  readonly final?: true;
}

/** Clock gives nanoseconds since the run started. */
export interface Clock {
  nowNs(): number;
}

/** monotonicClock starts counting at its creation. */
export function monotonicClock(): Clock {
  const t0 = process.hrtime.bigint();
  return { nowNs: () => Number(process.hrtime.bigint() - t0) };
}

/** JsonlSink appends one JSON document per line to a file (or nowhere, for tests). */
export class JsonlSink<T> {
  #fd: number | null;
  readonly #line: (item: T) => unknown;
  readonly items: T[] = [];

  /** line picks what of an item goes to the file (default: all of it). */
  constructor(path: string | null, line: (item: T) => unknown = (item) => item) {
    this.#fd = path === null ? null : openSync(path, 'w');
    this.#line = line;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.#fd !== null) writeSync(this.#fd, `${JSON.stringify(this.#line(item))}\n`);
  }

  /** close closes the file; idempotent (pushes after it stay in memory only). */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** Recorder is where the workload and the watcher write what happened. */
export class Recorder {
  readonly clock: Clock;
  readonly ops: JsonlSink<HistoryOp>;
  readonly watch: JsonlSink<WatchRecord>;
  #nextProcess = 0;

  constructor(o: { readonly clock: Clock; readonly historyPath: string | null; readonly watchPath: string | null }) {
    this.clock = o.clock;
    // The file holds exactly the history format's fields; errors and the final mark stay in memory.
    this.ops = new JsonlSink(o.historyPath, (op: HistoryOp) => ({ process: op.process, type: op.type, f: op.f, key: op.key, value: op.value, time: op.time }));
    this.watch = new JsonlSink(o.watchPath);
  }

  /** newProcess hands out a process id never used before in this run. */
  newProcess(): number {
    return this.#nextProcess++;
  }

  invoke(process: number, f: OpF, key: string, value: OpValue, extra: { readonly final?: true } = {}): HistoryOp {
    const op: HistoryOp = { process, type: 'invoke', f, key, value, time: this.clock.nowNs(), ...extra };
    this.ops.push(op);
    return op;
  }

  complete(invoke: HistoryOp, type: Exclude<OpType, 'invoke'>, value: OpValue, error?: string): HistoryOp {
    const op: HistoryOp = {
      process: invoke.process, type, f: invoke.f, key: invoke.key, value, time: this.clock.nowNs(),
      ...(error === undefined ? {} : { error }),
      ...(invoke.final === true ? { final: true as const } : {}),
    };
    this.ops.push(op);
    return op;
  }

  close(): void {
    this.ops.close();
    this.watch.close();
  }
}
