/**
 * nodes-report: what `raftkube bench nodes` prints — the conditions, the figures of the
 * simulated-nodes process (memory, CPU), the Lease renewal gaps, a table of the checks made
 * during the hold, and the verdict with every failed check. Pure: no I/O.
 */
import { markdownTable } from '../control-plane/report.js';
import { formatCensus } from './cluster.js';
import { formatMeta, ms } from './report.js';
import type { BenchNodesReport, ProcessUse } from './types.js';

function use(u: ProcessUse | null): string {
  return u === null ? '–' : `${u.rssMiB} MiB RSS, ${u.cpuSeconds.toFixed(1)} CPU s`;
}

/** formatNodesReport renders a run for the terminal and for bench/RESULTS.md. */
export function formatNodesReport(r: BenchNodesReport): string {
  const g = r.leaseRenewGapMs;
  const rows = r.checks.map((c) => [
    (c.atMs / 1000).toFixed(1),
    c.nodesReady.toLocaleString('en-US'),
    c.leasesFresh.toLocaleString('en-US'),
    (c.maxLeaseLagMs / 1000).toFixed(1),
    c.podsRunning.toLocaleString('en-US'),
    c.podsReady.toLocaleString('en-US'),
    c.agentCpuPct === null ? '–' : c.agentCpuPct.toFixed(1),
    c.agentRssMiB === null ? '–' : String(c.agentRssMiB),
  ]);
  const lines = [
    '',
    ...formatMeta(r.meta),
    `Nodes at the start: ${formatCensus(r.census)}`,
    `Pods: ${r.meta.pods.toLocaleString('en-US')} created in ${r.createSeconds} s, ${r.allRunningSeconds === null ? 'NOT all Running and Ready within the timeout' : `all Running and Ready ${r.allRunningSeconds} s after the first create`}`,
    `Simulated-nodes process${r.agentPid === null ? ': not found in cluster.json' : ` (pid ${r.agentPid})`}: before the pods ${use(r.agentBefore)}; at the end ${use(r.agentAfter)}; ${r.agentCpuPctHold === null ? '' : `${r.agentCpuPctHold.toFixed(1)} % of a core over the ${r.meta.holdSeconds} s hold`}`,
    `Lease renewals during the hold: ${g.count.toLocaleString('en-US')}, time between two renewals of a node p50 ${ms(g.p50)} ms, p99 ${ms(g.p99)} ms, max ${ms(g.max)} ms; a Lease counts as stale after ${ms(r.leaseStaleMs)} ms`,
    '',
    markdownTable(['hold s', 'nodes Ready', 'Leases fresh', 'oldest Lease s', 'pods Running', 'pods Ready', 'agent CPU %', 'agent RSS MiB'], rows, new Set([0, 1, 2, 3, 4, 5, 6, 7])),
    '',
    r.failures.length === 0 ? `PASSED: ${r.meta.nodes.toLocaleString('en-US')} nodes Ready, Leases fresh and ${r.meta.pods.toLocaleString('en-US')} pods Running and Ready at every one of ${r.checks.length} checks over ${r.meta.holdSeconds} s` : `FAILED: ${r.failures.length} broken check${r.failures.length === 1 ? '' : 's'}`,
    ...r.failures.slice(0, 30).map((f) => `  - ${f}`),
    ...(r.failures.length > 30 ? [`  - … and ${r.failures.length - 30} more`] : []),
    ...r.notes.map((n) => `Note: ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}
