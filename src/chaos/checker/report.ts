/**
 * report: the checkers' verdicts as text for a person: one line per verdict and, for a history
 * that is not linearizable, its counterexample window as a small table of operations.
 */
import { describeCall, type Operation } from '../history.js';
import type { Counterexample, LinearizabilityResult } from './linearizability.js';
import type { LostWriteResult, LostWriteViolation } from './lost-writes.js';
import type { WatchEvent, WatchResult, WatchViolation } from './watch.js';

/** MAX_COUNTEREXAMPLES: how many non-linearizable keys get their window printed. */
const MAX_COUNTEREXAMPLES = 3;

/** FormatOptions: times are shown in milliseconds from `baseTime` (nanoseconds; default 0). */
export interface FormatOptions {
  readonly baseTime?: number;
}

function ms(ns: number, base: number): string {
  return `${((ns - base) / 1e6).toFixed(3)} ms`;
}

/** formatOperation renders one operation: process, call, outcome, interval and source lines. */
export function formatOperation(op: Operation, o: FormatOptions = {}): string {
  const base = o.baseTime ?? 0;
  const c = op.completion;
  let outcome: string;
  let end: string;
  let lines = `line ${op.invokeLine}`;
  switch (c.type) {
    case 'ok':
      outcome = op.call.f === 'read' ? `ok -> ${JSON.stringify(c.read)}` : 'ok';
      end = ms(c.time, base);
      lines += `-${c.line}`;
      break;
    case 'fail':
    case 'info':
      outcome = c.type === 'info' ? 'info (unknown outcome)' : 'fail';
      end = c.type === 'info' ? `∞ (info at ${ms(c.time, base)})` : ms(c.time, base);
      lines += `-${c.line}`;
      break;
    case 'open':
      outcome = 'never completed (unknown outcome)';
      end = '∞';
      break;
  }
  return `process ${op.process}: ${describeCall(op.call)} ${outcome}  [${ms(op.invokeTime, base)} .. ${end}]  (${lines})`;
}

/** formatCounterexample renders the window where the search got stuck. */
export function formatCounterexample(ce: Counterexample, o: FormatOptions = {}): string {
  const out: string[] = [];
  out.push(`Key ${JSON.stringify(ce.key)} is not linearizable.`);
  out.push(
    `The longest valid order found places ${ce.linearized} of its ${ce.total} relevant operations, leaving the register at ${JSON.stringify(ce.register)}; then this operation must take effect and cannot:`,
  );
  out.push(`  ${formatOperation(ce.stuck, o)}`);
  const others = ce.pending.filter((op) => op.id !== ce.stuck.id);
  if (others.length > 0) {
    out.push('No order of the operations still pending when it returned fits either:');
    for (const op of others) out.push(`  ${formatOperation(op, o)}`);
  } else out.push('No operation was still pending that could have changed the register first.');
  if (ce.placed.length > 0) {
    out.push('Already placed before it (concurrent with it, in every order tried):');
    for (const op of ce.placed) out.push(`  ${formatOperation(op, o)}`);
  }
  return `${out.join('\n')}\n`;
}

/** formatLinearizability renders the verdict, the per-key summary and any counterexample. */
export function formatLinearizability(r: LinearizabilityResult, o: FormatOptions = {}): string {
  const counts = { linearizable: 0, 'not-linearizable': 0, unknown: 0 };
  for (const k of r.keys) counts[k.verdict]++;
  const ops = r.keys.reduce((s, k) => s + k.ops, 0);
  const out: string[] = [];
  out.push(
    `Linearizability: ${r.verdict} (${ops} operations over ${r.keys.length} ${r.keys.length === 1 ? 'key' : 'keys'}: ${counts.linearizable} linearizable, ${counts['not-linearizable']} not, ${counts.unknown} undecided; ${r.steps} search steps in ${(r.elapsedMs / 1000).toFixed(2)} s)`,
  );
  for (const k of r.keys) {
    if (k.verdict === 'unknown') out.push(`  key ${JSON.stringify(k.key)}: undecided (${k.reason === 'time-limit' ? 'the time limit ran out' : 'the search outgrew its memory bound'})`);
  }
  let text = `${out.join('\n')}\n`;
  const bad = r.keys.filter((k) => k.verdict === 'not-linearizable');
  for (const k of bad.slice(0, MAX_COUNTEREXAMPLES)) text += `\n${formatCounterexample(k.counterexample, o)}`;
  if (bad.length > MAX_COUNTEREXAMPLES) text += `\n(${bad.length - MAX_COUNTEREXAMPLES} more keys are not linearizable: ${bad.slice(MAX_COUNTEREXAMPLES).map((k) => JSON.stringify(k.key)).join(', ')})\n`;
  return text;
}

/** MAX_VIOLATIONS: how many violations of one check are printed. */
const MAX_VIOLATIONS = 20;

function listed<T>(items: readonly T[], show: (x: T) => string): string {
  const lines = items.slice(0, MAX_VIOLATIONS).map((x) => `  ${show(x)}`);
  if (items.length > MAX_VIOLATIONS) lines.push(`  ... and ${items.length - MAX_VIOLATIONS} more`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function lostWhy(v: LostWriteViolation, o: FormatOptions): string {
  switch (v.kind) {
    case 'lost':
      return `lost write on ${JSON.stringify(v.key)}: ${formatOperation(v.op, o)}; the final value ${JSON.stringify(v.final)} comes from no write that could follow it`;
    case 'unwritten-final':
      return `key ${JSON.stringify(v.key)} ends at ${JSON.stringify(v.final)}, which no operation wrote`;
    case 'no-final-read':
      return `key ${JSON.stringify(v.key)} has ${v.acknowledged} acknowledged writes but no final value; give every key in the final state`;
  }
}

/** formatLostWrites renders the lost-write verdict. */
export function formatLostWrites(r: LostWriteResult, o: FormatOptions = {}): string {
  const n = r.violations.length;
  const head = `Lost writes: ${r.ok ? 'none' : `${n} ${n === 1 ? 'problem' : 'problems'}`} (${r.acknowledged} acknowledged writes checked against the final state)\n`;
  return head + listed(r.violations, (v) => lostWhy(v, o));
}

function ev(e: WatchEvent): string {
  return `${e.type} ${JSON.stringify(e.key)}=${JSON.stringify(e.value)} at revision ${e.modRevision}`;
}

function watchWhy(v: WatchViolation, o: FormatOptions): string {
  switch (v.kind) {
    case 'out-of-order':
      return `record ${v.index + 1}: ${ev(v.event)} arrived after revision ${v.after}`;
    case 'duplicate':
      return `record ${v.index + 1}: ${ev(v.event)} repeats record ${v.first + 1}`;
    case 'header-behind':
      return `record ${v.index + 1}: ${ev(v.event)} came in a response whose header revision is ${v.event.revision}`;
    case 'split-revision':
      return `revision ${v.modRevision} was split across responses ${v.responses.join(', ')}`;
    case 'before-start':
      return `record ${v.index + 1}: ${ev(v.event)} arrived on a stream started at revision ${v.fromRevision}`;
    case 'resume-gap':
      return `record ${v.index + 1}: the watcher resumed at revision ${v.fromRevision} after seeing only up to ${v.lastSeen}`;
    case 'missed-write':
      return `never seen: ${formatOperation(v.op, o)}`;
    case 'phantom':
      return `record ${v.index + 1}: ${ev(v.event)} matches no write in the history`;
    case 'write-order':
      return `key ${JSON.stringify(v.key)}: seen out of real-time order: ${formatOperation(v.second, o)} was seen before ${formatOperation(v.first, o)}, which returned before it was invoked`;
  }
}

/** formatWatch renders the watch verdict. */
export function formatWatch(r: WatchResult, o: FormatOptions = {}): string {
  const n = r.violations.length;
  const head = `Watch: ${r.ok ? 'all guarantees held' : `${n} ${n === 1 ? 'violation' : 'violations'}`} (${r.events} events)\n`;
  return head + listed(r.violations, (v) => watchWhy(v, o));
}
