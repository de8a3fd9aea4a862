/**
 * write: the report directory of a chaos run — schedule.json, verdicts.json, availability.json,
 * timeline.svg and summary.txt beside the history (history.jsonl) and the watcher's record
 * (watch.jsonl) that the recorder wrote during the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppliedFault } from '../nemesis/nemesis.js';
import { formatSchedule, type FaultKind, type ScheduledFault } from '../nemesis/schedule.js';
import type { HistoryOp } from '../runner/recorder.js';
import { availability, formatAvailability, pairOps, type Availability, type FaultWindow } from './availability.js';
import { renderTimeline } from './timeline.js';
import type { CheckVerdict } from './verdicts.js';

/** RunFacts describe the run for the report. */
export interface RunFacts {
  readonly command: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly members: readonly string[];
  readonly faults: readonly FaultKind[];
  /** netMode says how members and network faults ran. */
  readonly netMode: string;
  readonly schedule: readonly ScheduledFault[];
  readonly applied: readonly AppliedFault[];
  readonly endNs: number;
  readonly watch: { readonly events: number; readonly reconnects: number };
  /** finalValues is each key's value as the final reads saw it (absent: unread). */
  readonly finalValues: Readonly<Record<string, number | null>>;
  readonly unreadKeys: readonly string[];
  /** load is the machine's 1-minute load average at the start and the end, and its core count. */
  readonly load: { readonly start: number; readonly end: number; readonly cores: number };
  /** notes are things that went wrong along the way (a heal that failed, an interrupt). */
  readonly notes: readonly string[];
  /** workload says which clients ran: kv, k8s or both. */
  readonly workload: 'kv' | 'k8s' | 'both';
  /** k8s counts the k8s workload's requests, when it ran. */
  readonly k8s?: { readonly ok: number; readonly fail: number; readonly info: number; readonly deployments: number };
}

/** ReportFiles names what was written. */
export interface ReportFiles {
  readonly availability: Availability;
  readonly summary: string;
}

/** topErrors counts the failure messages of the run, most frequent first. */
function topErrors(ops: readonly HistoryOp[], n: number): string[] {
  const counts = new Map<string, number>();
  for (const op of ops) if (op.error !== undefined) counts.set(`${op.type} ${op.f}: ${op.error}`, (counts.get(`${op.type} ${op.f}: ${op.error}`) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([e, c]) => `${c} × ${e}`);
}

/** writeReport writes everything but the live files and returns the summary text. */
export function writeReport(dir: string, facts: RunFacts, ops: readonly HistoryOp[], verdicts: readonly CheckVerdict[], exitCode: number): ReportFiles {
  const windows: FaultWindow[] = facts.applied.map((a) => ({ seq: a.seq, description: a.description, startNs: a.startNs, healNs: a.healNs }));
  const completed = pairOps(ops);
  const avail = availability(completed, windows, facts.endNs);
  writeFileSync(join(dir, 'schedule.json'), `${JSON.stringify({ seed: facts.seed, durationMs: facts.durationMs, members: facts.members, faults: facts.faults, netMode: facts.netMode, load: facts.load, planned: facts.schedule, applied: facts.applied }, null, 2)}\n`);
  writeFileSync(join(dir, 'verdicts.json'), `${JSON.stringify({ exitCode, verdicts }, null, 2)}\n`);
  writeFileSync(join(dir, 'availability.json'), `${JSON.stringify(avail, null, 2)}\n`);
  // The final state in the lost-write check's format: every key read after recovery, by value.
  writeFileSync(join(dir, 'final-state.json'), `${JSON.stringify(facts.finalValues, null, 2)}\n`);
  const counts = { ok: 0, fail: 0, info: 0 };
  for (const c of completed) if (!c.final) counts[c.type]++;
  writeFileSync(
    join(dir, 'timeline.svg'),
    renderTimeline(completed.filter((c) => !c.final), windows, {
      title: `raftkube chaos run — seed ${facts.seed}, ${facts.members.length} members`,
      subtitle: `${counts.ok} ok, ${counts.fail} fail, ${counts.info} info; faults: ${facts.faults.join(', ') || 'none'}; load average ${facts.load.start.toFixed(1)} on ${facts.load.cores} cores`,
      endNs: facts.endNs,
    }),
  );
  const lines: string[] = [];
  lines.push(`raftkube chaos run, seed ${facts.seed}: ${exitCode === 0 ? 'every check passed' : exitCode === 1 ? 'a check found a violation' : 'a check could not decide'} (exit ${exitCode})`);
  lines.push(`command: ${facts.command}`);
  lines.push(`members: ${facts.members.join(', ')}; ${facts.netMode}`);
  // Latencies and availability depend on what else the machine was doing: say so.
  lines.push(`machine: ${facts.load.cores} cores, load average ${facts.load.start.toFixed(1)} at the start and ${facts.load.end.toFixed(1)} at the end`);
  lines.push(`workload: ${facts.workload}; operations: ${counts.ok} ok, ${counts.fail} fail, ${counts.info} info over ${(facts.endNs / 1e9).toFixed(1)} s${facts.workload === 'k8s' ? '' : `; watcher: ${facts.watch.events} events, ${facts.watch.reconnects} reconnects`}`);
  if (facts.k8s !== undefined) lines.push(`k8s requests (in the figures above): ${facts.k8s.ok} ok, ${facts.k8s.fail} fail, ${facts.k8s.info} info on ${facts.k8s.deployments} Deployments and their ConfigMaps`);
  lines.push('', 'schedule:', formatSchedule(facts.schedule, facts.members).trimEnd());
  if (facts.applied.length > 0) {
    lines.push('', 'faults as injected:');
    for (const a of facts.applied) lines.push(`  #${a.seq} ${(a.startNs / 1e9).toFixed(1)}s–${a.healNs === null ? '?' : `${(a.healNs / 1e9).toFixed(1)}s`}: ${a.description}${a.replaced === undefined ? '' : ` (member ${a.replaced.oldId} replaced by ${a.replaced.newId})`}${a.outcome === undefined ? '' : ` (${a.outcome})`}${a.error === undefined ? '' : ` (failed: ${a.error})`}`);
  }
  lines.push('', 'availability:', ...formatAvailability(avail).split('\n').map((l) => `  ${l}`));
  const errors = topErrors(ops, 6);
  if (errors.length > 0) lines.push('', 'most frequent errors:', ...errors.map((e) => `  ${e}`));
  if (facts.unreadKeys.length > 0) lines.push('', `final reads: ${facts.unreadKeys.length} keys could not be read after recovery (${facts.unreadKeys.slice(0, 5).join(', ')})`);
  if (facts.notes.length > 0) lines.push('', 'notes:', ...facts.notes.map((n) => `  ${n}`));
  lines.push('', 'verdicts:', ...verdicts.map((v) => `  ${v.check}: ${v.result} — ${v.summary}`));
  for (const v of verdicts) if (v.details !== undefined && v.result !== 'pass') lines.push('', `${v.check}:`, v.details.trimEnd());
  const summary = `${lines.join('\n')}\n`;
  writeFileSync(join(dir, 'summary.txt'), summary);
  return { availability: avail, summary };
}
