/**
 * build: hand-written histories for the checker tests. A history is a list of events
 * `[time, process, type, f, value]` (key "x" unless a sixth element names one), rendered as the
 * JSON lines a chaos run records and parsed back by the real parser, so every test also goes
 * through history.ts.
 */
import { formatEvent, parseHistoryText, type HistoryEvent, type Operation, type Value } from '../../../src/chaos/history.js';

/** Ev is one event of a hand-built history. */
export type Ev =
  | readonly [time: number, process: number, type: 'invoke' | 'ok' | 'fail' | 'info', f: 'read' | 'write', value: Value, key?: string]
  | readonly [time: number, process: number, type: 'invoke' | 'ok' | 'fail' | 'info', f: 'cas', value: readonly [Value, Value], key?: string];

/** toEvent turns a tuple into a history event. */
export function toEvent(e: Ev): HistoryEvent {
  const [time, process, type, , , key = 'x'] = e;
  return e[3] === 'cas' ? { time, process, type, f: 'cas', value: e[4], key } : { time, process, type, f: e[3], value: e[4], key };
}

/** jsonl renders events as a history file's text. */
export function jsonl(evs: readonly Ev[]): string {
  return evs.map((e) => formatEvent(toEvent(e))).join('\n') + '\n';
}

/** ops parses and pairs a hand-built history, failing the test on a parse error. */
export async function ops(evs: readonly Ev[]): Promise<Operation[]> {
  const r = await parseHistoryText(jsonl(evs));
  if (!r.ok) throw new Error(`Bad hand-built history: line ${r.error.line}: ${r.error.message}`);
  return r.value.ops;
}
