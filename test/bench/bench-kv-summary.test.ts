/**
 * bench-kv-summary: several `bench kv --json` runs read together — the parser's refusals, the
 * grouping by cluster size, the ratios and counts, the table and the ratio chart; and the
 * command itself on files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RAFTKUBE_MAIN, runCommand } from '../integration/harness.js';
import { advantage, formatSummary, parseRunJson, renderRatioSvg, summariseRuns, type SummaryRun } from '../../bench/kv/index.js';
import { checkWellFormed } from './xml.js';

interface RowSpec {
  readonly workload: string;
  readonly group: string;
  readonly name: string;
  readonly better: string;
  readonly raftkube?: number;
  readonly etcd?: number;
}

/** runJson writes what `bench kv --compare-etcd --json` would, with the given rows. */
function runJson(o: { members: number; date: string; etcdFirst?: boolean; rows: readonly RowSpec[] }): string {
  return JSON.stringify({
    meta: { date: o.date, command: 'raftkube bench kv', members: o.members, workloads: ['put-latency'], durationS: 10, warmupS: 10, etcdVersion: '3.4.23', node: 'v20', cpus: 2, memGiB: 24, load: { start: 1.5, end: 3.25 } },
    results: [],
    rows: o.rows.map((r) => ({ workload: r.workload, group: r.group, name: r.name, better: r.better, values: { ...(r.raftkube === undefined ? {} : { raftkube: r.raftkube }), ...(r.etcd === undefined ? {} : { etcd: r.etcd }) } })),
    options: { compareEtcd: true, ...(o.etcdFirst === undefined ? {} : { etcdFirst: o.etcdFirst }) },
  });
}

const P50 = { workload: 'put-latency', group: 'put, sequential', name: 'p50 ms', better: 'lower' } as const;
const RATE = { workload: 'put-throughput', group: 'put, 16 in flight', name: 'ops/s', better: 'higher' } as const;

function parsed(file: string, text: string): SummaryRun {
  const r = parseRunJson(file, text);
  if (!r.ok) throw new Error(r.error);
  return r.run;
}

describe('parseRunJson', () => {
  it('reads the run: its size, date, order, load and each figure of both systems', () => {
    const run = parsed('a.json', runJson({ members: 3, date: '2026-12-02T16:13:38.000Z', etcdFirst: true, rows: [{ ...P50, raftkube: 2.8, etcd: 2.5 }, { ...RATE, raftkube: 900 }] }));
    expect(run.info).toEqual({ file: 'a.json', date: '2026-12-02T16:13:38.000Z', members: 3, etcdFirst: true, load: { start: 1.5, end: 3.25 } });
    expect(run.rows).toEqual([
      { ...P50, values: { raftkube: 2.8, etcd: 2.5 } },
      { ...RATE, values: { raftkube: 900 } },
    ]);
    expect(parsed('b.json', runJson({ members: 5, date: '2026-12-02T16:13:38Z', rows: [{ ...P50, raftkube: 1, etcd: 1 }] })).info.etcdFirst).toBe(false);
  });

  it('refuses, naming the file and what is wrong, anything bench kv --compare-etcd did not write', () => {
    const err = (text: string): string => {
      const r = parseRunJson('x.json', text);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err('{"meta": ')).toMatch(/^x\.json: not JSON/);
    expect(err('[1, 2]')).toMatch(/^x\.json: not an object/);
    expect(err('{"rows": []}')).toMatch(/^x\.json: no "meta"/);
    const good = JSON.parse(runJson({ members: 3, date: '2026-12-02T16:13:38Z', rows: [{ ...P50, raftkube: 2, etcd: 1 }] })) as { meta: Record<string, unknown>; rows: Record<string, unknown>[] };
    expect(err(JSON.stringify({ ...good, meta: { ...good.meta, members: 2.5 } }))).toMatch(/"meta\.members" is not a member count/);
    expect(err(JSON.stringify({ ...good, meta: { ...good.meta, date: 'yesterday' } }))).toMatch(/"meta\.date" is not a date/);
    expect(err(JSON.stringify({ ...good, meta: { ...good.meta, load: { start: 1 } } }))).toMatch(/"meta\.load" lacks its start and end/);
    expect(err(JSON.stringify({ ...good, rows: [{ ...good.rows[0], workload: 'put-everything' }] }))).toMatch(/rows\[0\]\.workload is not a workload/);
    expect(err(JSON.stringify({ ...good, rows: [{ ...good.rows[0], better: 'up' }] }))).toMatch(/rows\[0\]\.better is neither/);
    expect(err(JSON.stringify({ ...good, rows: [{ ...good.rows[0], group: 3 }] }))).toMatch(/rows\[0\] lacks its group or name/);
    expect(err(runJson({ members: 3, date: '2026-12-02T16:13:38Z', rows: [{ ...P50, raftkube: 2 }] }))).toMatch(/^x\.json: no figure has both systems; .*--compare-etcd/);
  });
});

describe('summariseRuns', () => {
  const runs = [
    parsed('3b.json', runJson({ members: 3, date: '2026-12-02T17:00:00Z', etcdFirst: true, rows: [{ ...P50, raftkube: 3, etcd: 2 }, { ...RATE, raftkube: 1000, etcd: 1000 }] })),
    parsed('5a.json', runJson({ members: 5, date: '2026-12-02T16:30:00Z', rows: [{ ...P50, raftkube: 4, etcd: 5 }] })),
    parsed('3a.json', runJson({ members: 3, date: '2026-12-02T16:00:00Z', rows: [{ ...P50, raftkube: 1.5, etcd: 2 }] })),
  ];

  it('groups by cluster size, orders each group by date and lines each figure up over its runs', () => {
    const groups = summariseRuns(runs);
    expect(groups.map((g) => [g.members, g.runs.map((r) => r.file)])).toEqual([
      [3, ['3a.json', '3b.json']],
      [5, ['5a.json']],
    ]);
    const [three, five] = groups;
    expect(three?.rows.map((r) => [r.group, r.ratios, r.values, r.atLeastEtcd])).toEqual([
      ['put, sequential', [0.75, 1.5], { raftkube: [1.5, 3], etcd: [2, 2] }, 1],
      // Missing from the first run; equal to etcd's counts as at least as good.
      ['put, 16 in flight', [null, 1], { raftkube: [1000], etcd: [1000] }, 1],
    ]);
    expect(five?.rows.map((r) => [r.ratios, r.atLeastEtcd])).toEqual([[[0.8], 1]]);
  });

  it('counts a higher-is-better figure the other way round', () => {
    const [g] = summariseRuns([
      parsed('a', runJson({ members: 3, date: '2026-12-02T16:00:00Z', rows: [{ ...RATE, raftkube: 900, etcd: 1000 }] })),
      parsed('b', runJson({ members: 3, date: '2026-12-02T16:10:00Z', rows: [{ ...RATE, raftkube: 1200, etcd: 1000 }] })),
    ]);
    expect(g?.rows[0]?.atLeastEtcd).toBe(1);
    expect(g?.rows[0]?.ratios).toEqual([0.9, 1.2]);
  });

  it('prints each group with its runs and a table of ranges, per-run ratios and counts', () => {
    const text = formatSummary(summariseRuns(runs));
    expect(text).toContain('3 members, 2 runs:');
    expect(text).toContain('  run 1: ended 2026-12-02 16:00 UTC, raftkube first, load average 1.50 → 3.25 (3a.json)');
    expect(text).toContain('  run 2: ended 2026-12-02 17:00 UTC, etcd first, load average 1.50 → 3.25 (3b.json)');
    expect(text).toContain('5 members, 1 run:');
    const line = text.split('\n').find((l) => l.startsWith('| put, sequential') && l.includes('0.75×'));
    expect(line?.split('|').map((c) => c.trim())).toEqual(['', 'put, sequential', 'p50 ms ↓', '1.50–3.00', '2.00', '0.75×', '1.50×', '0.75–1.50×', '1 of 2', '']);
    const rate = text.split('\n').find((l) => l.startsWith('| put, 16 in flight'));
    expect(rate?.split('|').map((c) => c.trim())).toEqual(['', 'put, 16 in flight', 'ops/s ↑', '1,000', '1,000', '–', '1.00×', '1.00×', '1 of 1', '']);
  });
});

describe('renderRatioSvg', () => {
  it('turns every ratio into how many times better raftkube did, whichever way the figure counts', () => {
    expect(advantage(0.5, 'lower')).toBe(2);
    expect(advantage(0.5, 'higher')).toBe(0.5);
  });

  it('draws well-formed SVG with one dot per run and figure, right of parity where raftkube did better', () => {
    const runs = [
      parsed('a', runJson({ members: 3, date: '2026-12-02T16:00:00Z', rows: [{ ...P50, raftkube: 1, etcd: 2 }, { ...RATE, raftkube: 500, etcd: 1000 }] })),
      parsed('b', runJson({ members: 5, date: '2026-12-02T16:10:00Z', rows: [{ ...P50, raftkube: 2, etcd: 2 }, { ...RATE, group: 'put, <64> & in flight', raftkube: 1000, etcd: 250 }] })),
    ];
    const svg = renderRatioSvg(summariseRuns(runs), { title: 't', subtitle: 's' });
    expect(checkWellFormed(svg)).toEqual([]);
    const dots = [...svg.matchAll(/<circle class="dot" data-members="(\d+)" data-run="(\d+)" data-label="([^"]*)" cx="([\d.]+)"/g)].map((m) => ({ members: Number(m[1]), label: m[3], cx: Number(m[4]) }));
    expect(dots.map((d) => `${d.members}|${d.label}`)).toEqual(['3|put, sequential: p50 ms', '3|put, 16 in flight: ops/s', '5|put, sequential: p50 ms', '5|put, &lt;64&gt; &amp; in flight: ops/s']);
    const parity = Number(/<line x1="([\d.]+)"[^>]*stroke="#333333"/.exec(svg)?.[1]);
    const cx = (i: number): number => dots[i]?.cx ?? Number.NaN;
    expect(cx(0)).toBeGreaterThan(parity); // p50 half of etcd's: raftkube better
    expect(cx(1)).toBeLessThan(parity); // half etcd's rate: etcd better
    expect(cx(2)).toBeCloseTo(parity, 5);
    // On a log axis 4× lies twice as far from parity as 2×.
    expect(cx(3) - parity).toBeCloseTo(2 * (cx(0) - parity), 0); // coordinates carry one decimal
  });

  it('says so when no figure has both systems', () => {
    const svg = renderRatioSvg([], { title: 'empty' });
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg).toContain('No figure has both systems.');
  });
});

describe('raftkube bench kv-summary', () => {
  it('prints the table of the files it is given and writes the chart; a bad file is refused by name with status 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-summary-'));
    try {
      const a = join(dir, 'a.json');
      const b = join(dir, 'b.json');
      writeFileSync(a, runJson({ members: 3, date: '2026-12-02T16:00:00Z', rows: [{ ...P50, raftkube: 1.5, etcd: 2 }] }));
      writeFileSync(b, runJson({ members: 3, date: '2026-12-02T16:05:00Z', etcdFirst: true, rows: [{ ...P50, raftkube: 2.2, etcd: 2 }] }));
      const svg = join(dir, 'runs.svg');
      const ok = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv-summary', a, b, '--svg', svg], { timeoutMs: 30_000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('raftkube bench kv-summary — 2 runs');
      expect(ok.stdout).toMatch(/\| put, sequential \| p50 ms ↓ \| +1\.50–2\.20 \| +2\.00 \| 0\.75× \| 1\.10× \| +0\.75–1\.10× \| +1 of 2 \|/);
      expect(readFileSync(svg, 'utf8')).toContain('data-members="3" data-run="2"');
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{"meta": {}}');
      const refused = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv-summary', a, bad], { timeoutMs: 30_000 });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`raftkube bench kv-summary: ${bad}: "meta.members" is not a member count`);
      const missing = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv-summary', join(dir, 'none.json')], { timeoutMs: 30_000 });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
