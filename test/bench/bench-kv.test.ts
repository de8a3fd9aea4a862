/**
 * bench-kv: the pure parts of `raftkube bench kv` — flag validation, the comparison table and
 * its ratios, the SVG plot, /proc parsing, the etcd command line. No processes, no sleeps.
 */
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWellFormed } from './xml.js';
import {
  buildRows,
  combineGc,
  CpuWaitClock,
  cpuWaitSummary,
  describeCpuWait,
  describeGc,
  describeLoad,
  describeMembersCpu,
  etcdArgs,
  GcWatch,
  LatencyRecorder,
  MembersClock,
  formatRatio,
  formatNotes,
  formatTable,
  formatValue,
  listenPorts,
  parseSchedstat,
  parseProcIo,
  parseSchedstatWait,
  parseVmRssKiB,
  plotSeries,
  planEtcdMembers,
  readProcessIo,
  readProcessSched,
  ratio,
  renderSvg,
  renderFiguresSvg,
  figureBars,
  split,
  summarise,
  validateBenchKvOptions,
  verdict,
  type LatencySummary,
  type WorkloadResult,
} from '../../bench/kv/index.js';
import { prefixEnd } from '../../src/kv/client/watch-stream.js';

function summary(p50: number, p99: number): LatencySummary {
  return { count: 100, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 };
}

const RESULTS: WorkloadResult[] = [
  {
    workload: 'put-latency',
    system: 'raftkube',
    figures: [
      { group: 'put, sequential', name: 'ops/s', value: 900, better: 'higher' },
      { group: 'put, sequential', name: 'p99 ms', value: 6, better: 'lower' },
    ],
    latencies: [{ label: 'put, sequential', summary: summary(1.2, 6) }],
    errors: 0,
    notes: [],
  },
  {
    workload: 'put-latency',
    system: 'etcd',
    figures: [
      { group: 'put, sequential', name: 'ops/s', value: 800, better: 'higher' },
      { group: 'put, sequential', name: 'p99 ms', value: 4, better: 'lower' },
    ],
    latencies: [{ label: 'put, sequential', summary: summary(1.0, 4) }],
    errors: 0,
    notes: ['something worth knowing'],
  },
  {
    workload: 'watch-latency',
    system: 'etcd',
    figures: [{ group: 'watch, 100 watchers', name: 'p50 ms', value: 1.6, better: 'lower' }],
    latencies: [{ label: 'watch, 100 watchers <&>', summary: summary(1.6, 5) }],
    errors: 0,
    notes: [],
  },
];

describe('validateBenchKvOptions', () => {
  it('resolves defaults for a raftkube-vs-etcd run', () => {
    const v = validateBenchKvOptions({ endpoints: 'http://127.0.0.1:32379,127.0.0.1:32381,localhost:32383', compareEtcd: true });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.value.endpoints).toEqual(['http://127.0.0.1:32379', 'http://127.0.0.1:32381', 'http://localhost:32383']);
    expect(v.value.workloads).toEqual(['put-latency', 'put-throughput', 'range-latency', 'watch-latency', 'watch-fanout']);
    expect(v.value.etcd).toEqual({ members: null, bin: '/usr/bin/etcd', basePort: 42379 });
    expect(v.value.raftkube).toBe(true);
    expect(v.value.durationMs).toBe(10_000);
    expect(v.value.warmupMs).toBe(10_000);
    expect(v.value.keys).toBe(1_000_000);
    expect(v.value.watchers).toBe(100);
    expect(v.value.watchClients).toBe(2);
    expect(v.value.putClients).toBe(2);
  });

  it('takes --watch-clients from 1 to 16', () => {
    const one = validateBenchKvOptions({ etcdOnly: true, watchClients: '1' });
    expect(one.ok && one.value.watchClients).toBe(1);
    for (const bad of ['0', '17', 'two']) {
      const v = validateBenchKvOptions({ etcdOnly: true, watchClients: bad });
      expect(v.ok, bad).toBe(false);
      expect(!v.ok && v.error).toMatch(/--watch-clients/);
    }
  });

  it('takes --put-clients from 1 to 16', () => {
    const one = validateBenchKvOptions({ etcdOnly: true, putClients: '1' });
    expect(one.ok && one.value.putClients).toBe(1);
    for (const bad of ['0', '17', 'many', '1.5']) {
      const v = validateBenchKvOptions({ etcdOnly: true, putClients: bad });
      expect(v.ok, bad).toBe(false);
      expect(!v.ok && v.error).toMatch(/--put-clients/);
    }
  });

  it('adds the heavy workloads to all only with --heavy, and keeps the canonical order', () => {
    const v = validateBenchKvOptions({ etcdOnly: true, workload: 'all', heavy: true });
    expect(v.ok && v.value.workloads.slice(-2)).toEqual(['memory', 'recovery']);
    const w = validateBenchKvOptions({ etcdOnly: true, workload: 'recovery,put-latency' });
    expect(w.ok && w.value.workloads).toEqual(['put-latency', 'recovery']);
  });

  it('keeps raftkube first unless --etcd-first, which needs --compare-etcd', () => {
    const plain = validateBenchKvOptions({ endpoints: 'http://127.0.0.1:2379', compareEtcd: true });
    expect(plain.ok && plain.value.etcdFirst).toBe(false);
    const swapped = validateBenchKvOptions({ endpoints: 'http://127.0.0.1:2379', compareEtcd: true, etcdFirst: true });
    expect(swapped.ok && swapped.value.etcdFirst).toBe(true);
    const alone = validateBenchKvOptions({ endpoints: 'http://127.0.0.1:2379', etcdFirst: true });
    expect(alone.ok).toBe(false);
    expect(!alone.ok && alone.error).toMatch(/add --compare-etcd/);
  });

  it('keeps etcdctl\'s TLS flags for raftkube\'s endpoints and refuses them with --etcd-only', () => {
    const v = validateBenchKvOptions({ endpoints: 'https://127.0.0.1:2379', cacert: 'ca.crt', cert: 'c.crt', key: 'c.key' });
    expect(v.ok && v.value.tlsFiles).toEqual({ cacert: 'ca.crt', cert: 'c.crt', key: 'c.key' });
    const none = validateBenchKvOptions({ endpoints: 'http://127.0.0.1:2379' });
    expect(none.ok && none.value.tlsFiles).toBeNull();
    const etcdOnly = validateBenchKvOptions({ etcdOnly: true, cacert: 'ca.crt' });
    expect(!etcdOnly.ok && etcdOnly.error).toMatch(/--etcd-only/);
  });

  it('defaults --etcd-only to 3 members and does not measure raftkube', () => {
    const v = validateBenchKvOptions({ etcdOnly: true });
    expect(v.ok && v.value.etcd?.members).toBe(3);
    expect(v.ok && v.value.raftkube).toBe(false);
  });

  it.each([
    [{}, /--endpoints URLs or --cluster-file/],
    [{ endpoints: 'http://10.0.0.1:2379' }, /not on loopback/],
    [{ endpoints: 'unix://127.0.0.1:2379' }, /uses unix:; the benchmark speaks gRPC over http:\/\/ or https:\/\/ only/],
    [{ endpoints: '127.0.0.1' }, /no port/],
    [{ endpoints: '127.0.0.1:1,127.0.0.1:1' }, /twice/],
    [{ endpoints: ' , ' }, /empty/],
    [{ endpoints: '127.0.0.1:1', workload: 'put-lat' }, /Unknown workload "put-lat"/],
    [{ endpoints: '127.0.0.1:1', workload: 'memory' }, /--cluster-file/],
    [{ endpoints: '127.0.0.1:1', members: '4' }, /odd/],
    [{ endpoints: '127.0.0.1:1', members: 'three' }, /--members must be a whole number/],
    [{ endpoints: '127.0.0.1:1', duration: '0' }, /--duration/],
    [{ endpoints: '127.0.0.1:1', duration: 'soon' }, /--duration/],
    [{ endpoints: '127.0.0.1:1', warmup: '-1' }, /--warmup/],
    [{ endpoints: '127.0.0.1:1', warmup: 'a while' }, /--warmup/],
    [{ endpoints: '127.0.0.1:1', count: '-5' }, /--count/],
    [{ etcdOnly: true, endpoints: '127.0.0.1:1' }, /--etcd-only/],
    [{ etcdOnly: true, etcdBasePort: '80' }, /--etcd-base-port/],
  ])('refuses %j', (raw, message) => {
    const v = validateBenchKvOptions(raw);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatch(message);
  });
});

describe('comparison table', () => {
  const rows = buildRows(RESULTS);

  it('lines up each figure of both systems in one row, in first-seen order', () => {
    expect(rows.map((r) => `${r.group}/${r.name}`)).toEqual(['put, sequential/ops/s', 'put, sequential/p99 ms', 'watch, 100 watchers/p50 ms']);
    expect(rows[0]?.values).toEqual({ raftkube: 900, etcd: 800 });
    expect(rows[2]?.values).toEqual({ etcd: 1.6 });
  });

  it('computes raftkube/etcd and says who is better in the direction that matters', () => {
    expect(ratio(rows[0]!)).toBeCloseTo(1.125);
    expect(formatRatio(rows[0]!)).toBe('1.13× (raftkube better)');
    expect(formatRatio(rows[1]!)).toBe('1.50× (etcd better)');
    expect(formatRatio(rows[2]!)).toBe('–');
    expect(verdict(0.5, 'lower')).toBe('raftkube better');
    expect(verdict(0.5, 'higher')).toBe('etcd better');
    expect(verdict(1.04, 'higher')).toBe('same');
  });

  it('formats rates as whole numbers and latencies with a few significant digits', () => {
    expect(formatValue('ops/s', 4321.6)).toBe('4,322');
    expect(formatValue('events/s delivered', 85835.2)).toBe('85,835');
    expect(formatValue('p99 ms', 145.2)).toBe('145');
    expect(formatValue('p99 ms', 24.23)).toBe('24.2');
    expect(formatValue('p50 ms', 1.613)).toBe('1.61');
    expect(formatValue('p50 ms', 0.4321)).toBe('0.432');
    expect(formatValue('p50 ms', undefined)).toBe('–');
  });

  it('notes every result\'s notes, then each phase in which the client used 70 % of a core or more', () => {
    const withCpu: WorkloadResult[] = [
      { ...RESULTS[0]!, clientCpu: [{ group: 'put, sequential', percentOfCore: 27 }, { group: 'put, 16 in flight', percentOfCore: 70 }] },
      { ...RESULTS[1]!, clientCpu: [{ group: 'put, sequential', percentOfCore: 69.9 }] },
    ];
    expect(formatNotes(withCpu)).toEqual([
      'etcd put-latency: something worth knowing',
      'raftkube put, 16 in flight: the client used 70 % of a core; it may be what limits this phase (it shares the machine\'s cores with the members)',
    ]);
    expect(formatNotes(RESULTS)).toEqual(['etcd put-latency: something worth knowing']);
  });

  it('flags a phase driven by several client threads by each thread\'s share of the CPU', () => {
    const threaded: WorkloadResult[] = [
      { ...RESULTS[0]!, clientCpu: [{ group: 'put, 64 in flight', percentOfCore: 139, threads: 2 }, { group: 'put, 256 in flight', percentOfCore: 140, threads: 2 }] },
    ];
    expect(formatNotes(threaded)).toEqual([
      "raftkube put, 256 in flight: the client's 2 threads used 140 % of a core together; they may be what limits this phase (they share the machine's cores with the members)",
    ]);
  });

  it('prints an aligned Markdown table with a ratio column only when both systems ran', () => {
    const t = formatTable(rows).split('\n');
    expect(t[0]).toMatch(/^\| workload +\| figure +\| raftkube \| etcd \| raftkube\/etcd +\|$/);
    expect(t[1]).toMatch(/^\|-+\|-+\|-+:\|-+:\|-+\|$/);
    expect(t[2]).toContain('ops/s ↑');
    expect(t[3]).toContain('p99 ms ↓');
    expect(new Set(t.map((l) => [...l].length)).size).toBe(1);
    const etcdOnly = formatTable(buildRows(RESULTS.filter((r) => r.system === 'etcd')));
    expect(etcdOnly.split('\n')[0]).toMatch(/^\| workload +\| figure +\| etcd \|$/);
  });
});

describe('renderSvg', () => {
  it('draws well-formed SVG with a p50 and a p99 bar per system and series', () => {
    const series = plotSeries(RESULTS);
    expect(series).toHaveLength(3);
    const svg = renderSvg(series, { title: 'raftkube bench kv — 3 members', subtitle: 'p50 & p99' });
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const bars = [...svg.matchAll(/data-series="([\w-]+)" data-label="([^"]*)"/g)].map((m) => `${m[1]}|${m[2]}`);
    expect(bars.sort()).toEqual([
      'etcd-p50|put, sequential',
      'etcd-p50|watch, 100 watchers &lt;&amp;&gt;',
      'etcd-p99|put, sequential',
      'etcd-p99|watch, 100 watchers &lt;&amp;&gt;',
      'raftkube-p50|put, sequential',
      'raftkube-p99|put, sequential',
    ]);
    expect(svg).toContain('p50 &amp; p99');
  });

  it('puts a longer bar on the higher latency (log axis)', () => {
    const svg = renderSvg(plotSeries(RESULTS.slice(0, 2)), { title: 't' });
    const height = (series: string): number => Number(new RegExp(`data-series="${series}"[^>]* height="([\\d.]+)"`).exec(svg)?.[1]);
    expect(height('raftkube-p99')).toBeGreaterThan(height('raftkube-p50'));
    expect(height('raftkube-p99')).toBeGreaterThan(height('etcd-p99'));
  });

  it('says so when there is nothing to plot', () => {
    const svg = renderSvg([], { title: 'empty' });
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg).toContain('No latency series');
  });
});

describe('renderFiguresSvg', () => {
  const heavy = (system: 'raftkube' | 'etcd', serving: number, rss: number): WorkloadResult[] => [
    { workload: 'memory', system, figures: [{ group: 'memory, 1,000,000 keys × 256 B', name: 'RSS after, largest member MiB', value: rss, better: 'lower' }], latencies: [], errors: 0, notes: [] },
    { workload: 'recovery', system, figures: [{ group: 'recovery of a follower after kill -9', name: 'until serving s', value: serving, better: 'lower' }], latencies: [], errors: 0, notes: [] },
  ];
  const runs = [...heavy('raftkube', 4.65, 772), ...heavy('etcd', 7.82, 1163), ...RESULTS];

  it('plots the figures of memory and recovery, each system side by side, and nothing of the latency workloads', () => {
    const figures = figureBars(runs);
    expect(figures).toEqual([
      { group: 'memory, 1,000,000 keys × 256 B', name: 'RSS after, largest member MiB', better: 'lower', values: { raftkube: 772, etcd: 1163 } },
      { group: 'recovery of a follower after kill -9', name: 'until serving s', better: 'lower', values: { raftkube: 4.65, etcd: 7.82 } },
    ]);
    const svg = renderFiguresSvg(figures, { title: 'raftkube bench kv — 5 members', subtitle: 'linear' });
    expect(checkWellFormed(svg)).toEqual([]);
    const bars = [...svg.matchAll(/data-series="(\w+)" data-label="([^"]*)"/g)].map((m) => `${m[1]}|${m[2]}`);
    expect(bars).toEqual([
      'raftkube|memory, 1,000,000 keys × 256 B: RSS after, largest member MiB',
      'etcd|memory, 1,000,000 keys × 256 B: RSS after, largest member MiB',
      'raftkube|recovery of a follower after kill -9: until serving s',
      'etcd|recovery of a follower after kill -9: until serving s',
    ]);
    expect(svg).toContain('>4.65<');
    expect(svg).toContain('>1,163<');
    expect(svg).toContain('>until serving s ↓<');
  });

  it('scales each figure to its own largest value', () => {
    const svg = renderFiguresSvg(figureBars(runs), { title: 't' });
    const heights = [...svg.matchAll(/class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    // etcd's bar is the tallest of each figure; raftkube's is in proportion.
    expect(heights[1]).toBe(heights[3]);
    expect(heights[0]! / heights[1]!).toBeCloseTo(772 / 1163, 2);
    expect(heights[2]! / heights[3]!).toBeCloseTo(4.65 / 7.82, 2);
  });

  it('says so when there is nothing to plot', () => {
    const svg = renderFiguresSvg(figureBars(RESULTS), { title: 'empty' });
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg).toContain('No figures to plot');
  });
});

describe('helpers', () => {
  it("says the machine's load average at the start and at the end of a run", () => {
    expect(describeLoad({ start: 1.5, end: 3.456 })).toBe('load average 1.50 at the start, 3.46 at the end');
    expect(describeLoad({ start: 0, end: 0 })).toBe('load average 0.00 at the start, 0.00 at the end');
  });


  it('reads VmRSS from /proc/<pid>/status text', () => {
    expect(parseVmRssKiB('Name:\tetcd\nVmPeak:\t  900 kB\nVmRSS:\t  153600 kB\nRssAnon:\t 1 kB\n')).toBe(153600);
    expect(parseVmRssKiB('Name:\tkthreadd\n')).toBeNull();
  });

  it('builds the etcd command line with every flag the cluster needs', () => {
    const plan = planEtcdMembers(3, 42379);
    expect(plan.map((m) => m.clientURL)).toEqual(['http://127.0.0.1:42379', 'http://127.0.0.1:42381', 'http://127.0.0.1:42383']);
    const args = etcdArgs(plan, plan[1]!, '/data', 'tok');
    const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
    expect(flag('--name')).toBe('bench-etcd-2');
    expect(flag('--data-dir')).toBe('/data/bench-etcd-2');
    expect(flag('--listen-peer-urls')).toBe('http://127.0.0.1:42382');
    expect(flag('--initial-cluster')).toBe('bench-etcd-1=http://127.0.0.1:42380,bench-etcd-2=http://127.0.0.1:42382,bench-etcd-3=http://127.0.0.1:42384');
    expect(flag('--initial-cluster-state')).toBe('new');
    expect(flag('--initial-cluster-token')).toBe('tok');
  });

  it('finds the ports a member listens on in its command line', () => {
    expect(listenPorts(['etcd', '--listen-client-urls', 'http://127.0.0.1:42379', '--listen-peer-urls=http://127.0.0.1:42380,http://127.0.0.1:42390/'])).toEqual([42379, 42380, 42390]);
    expect(listenPorts(['node', 'main.js', 'kv', '--name', 'm1'])).toEqual([]);
  });

  it('computes the range end of a prefix', () => {
    expect(prefixEnd('/a/').toString()).toBe('/a0');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0xff]))]).toEqual([0]);
  });
});

describe('several client threads', () => {
  it('splits requests in flight and operation bounds into shares that differ by at most one', () => {
    expect(split(16, 2)).toEqual([8, 8]);
    expect(split(7, 3)).toEqual([3, 2, 2]);
    expect(split(2, 4)).toEqual([1, 1, 0, 0]);
    for (const [total, parts] of [[100_000, 3], [255, 2], [1, 1]] as const) {
      const s = split(total, parts);
      expect(s.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
    }
  });

  it('merges the threads\' latency histograms into the one a single recorder would have', () => {
    const all = new LatencyRecorder();
    const parts = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
    for (let i = 0; i < 3_000; i++) {
      const ms = 0.2 + ((i * 7919) % 1000) / 37;
      all.recordMs(ms);
      parts[i % 3]!.recordMs(ms);
    }
    const merged = new LatencyRecorder();
    for (const p of parts) merged.addEncoded(p.encode());
    const { max, ...rest } = merged.summary();
    const { max: maxAll, ...restAll } = all.summary();
    expect(rest).toEqual(restAll);
    // A decoded histogram knows its maximum to its buckets' precision (3 significant digits).
    expect(Math.abs(max - maxAll) / maxAll).toBeLessThan(0.002);
    expect(merged.count).toBe(3_000);
    expect(() => merged.addEncoded('not a histogram')).toThrow();
  });

  it('adds up the threads\' GC pauses and keeps the longest', () => {
    expect(combineGc([{ pauses: 3, totalMs: 9, longestMs: 6 }, { pauses: 2, totalMs: 4, longestMs: 3 }, { pauses: 0, totalMs: 0, longestMs: 0 }])).toEqual({ pauses: 5, totalMs: 13, longestMs: 6 });
    expect(combineGc([])).toEqual({ pauses: 0, totalMs: 0, longestMs: 0 });
  });
});

describe("the members' CPU and wait for one", () => {
  it('reads all three numbers of schedstat text', () => {
    expect(parseSchedstat('58847804 773313 7\n')).toEqual({ cpuNs: 58847804, waitNs: 773313, runs: 7 });
    expect(parseSchedstat('1 2')).toBeNull();
  });

  it('needs to know the processes', () => {
    expect(MembersClock.open(undefined)).toBeNull();
    expect(MembersClock.open({ members: null })).toBeNull();
    expect(MembersClock.open({ members: [] })).toBeNull();
    expect(describeMembersCpu(null)).toBe('');
    expect(describeMembersCpu({ processes: 3, cpuMsPerOp: 1.234, waitMsPerOp: 0.5, runsPerOp: 16.04, cores: 0.87, syscalls: null }, 'put')).toBe(', members 1.23 ms of CPU and 0.50 ms waiting for one per put (16.0 runs on a CPU, 0.87 cores)');
    expect(describeMembersCpu({ processes: 3, cpuMsPerOp: 1.234, waitMsPerOp: 0.5, runsPerOp: 16.04, cores: 0.87, syscalls: { reads: 4.04, writes: 5.96 } }, 'put')).toBe(', members 1.23 ms of CPU and 0.50 ms waiting for one per put (16.0 runs on a CPU, 4.0 reads and 6.0 writes, 0.87 cores)');
  });

  it('reads the system-call counts of /proc/PID/io text, and nothing from anything else', () => {
    const text = 'rchar: 2012\nwchar: 336\nsyscr: 17\nsyscw: 9\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n';
    expect(parseProcIo(text)).toEqual({ reads: 17, writes: 9 });
    expect(parseProcIo('rchar: 1\nsyscr: 2\n')).toBeNull();
    expect(parseProcIo('syscr: -2\nsyscw: 3\n')).toBeNull();
    expect(parseProcIo('')).toBeNull();
    expect(readProcessIo(2 ** 22 + 7)).toBeNull();
  });

  it.skipIf(!existsSync('/proc/thread-self/schedstat'))('sums every thread of a process, and divides a phase by its requests', () => {
    const before = readProcessSched(process.pid);
    expect(before?.runs).toBeGreaterThan(0);
    const member = { name: 'm1', clientURL: 'http://127.0.0.1:1', logPath: '', pids: () => [process.pid], replacePid: () => undefined };
    const clock = MembersClock.open({ members: [member, member] });
    expect(clock?.pids).toEqual([process.pid, process.pid]);
    // Spin until this process has used 30 ms of CPU (by its own count, however long a busy
    // machine makes that take).
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let x = 0;
    const usedMs = (): number => {
      const u = process.cpuUsage(cpu0);
      return (u.user + u.system) / 1000;
    };
    while (usedMs() < 30) x += Math.sqrt(x + 1);
    const wallMs = performance.now() - t0;
    const m = clock?.stop(10, wallMs);
    expect(x).toBeGreaterThan(0);
    // Two "members" in one process: each counts its ≥ 30 ms of CPU, so 2 × ≥ 3 ms per request.
    expect(m?.processes).toBe(2);
    expect(m?.cpuMsPerOp).toBeGreaterThanOrEqual(5.9);
    // cores is the same CPU over the wall time.
    expect(m?.cores).toBeCloseTo(((m?.cpuMsPerOp ?? 0) * 10) / wallMs, 9);
    expect(m?.cores).toBeGreaterThan(0);
    expect(clock?.stop(0, 10)).toBeNull();
    expect(readProcessSched(2 ** 22 + 7)).toBeNull();
  });

  it.skipIf(!existsSync(`/proc/${process.pid}/io`))("counts the members' write-like system calls per request", () => {
    const member = { name: 'm1', clientURL: 'http://127.0.0.1:1', logPath: '', pids: () => [process.pid], replacePid: () => undefined };
    const clock = MembersClock.open({ members: [member] });
    // 40 writes of one byte each to a file: at least 40 write-like calls, 4 per request of 10.
    const dir = mkdtempSync(join(tmpdir(), 'raftkube-io-'));
    const fd = openSync(join(dir, 'f'), 'w');
    try {
      for (let i = 0; i < 40; i++) writeSync(fd, 'x');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
    const m = clock?.stop(10, 1);
    expect(m?.syscalls?.writes).toBeGreaterThanOrEqual(4);
    expect(m?.syscalls?.reads).toBeGreaterThanOrEqual(0);
  });
});

describe("the client's wait for a CPU", () => {
  it('reads the run-queue wait from schedstat text, and nothing from anything else', () => {
    expect(parseSchedstatWait('58847804 773313 7\n')).toBe(773313);
    expect(parseSchedstatWait('0 0 1')).toBe(0);
    for (const bad of ['', '1 2', 'a b c', '1 2 3 4', '-1 -2 3']) expect(parseSchedstatWait(bad), bad).toBeNull();
  });

  it('sums the waits and takes their mean over the slowest 1 % of the requests by latency', () => {
    const latency = Array.from({ length: 200 }, (_, i) => (i === 17 ? 9 : i === 80 ? 7 : 1));
    const wait = Array.from({ length: 200 }, (_, i) => (i === 17 ? 3 : i === 80 ? 0.25 : 0.01));
    const s = cpuWaitSummary(latency, wait);
    expect(s.totalMs).toBeCloseTo(3 + 0.25 + 198 * 0.01, 9);
    expect(s.slowest).toBe(2);
    expect(s.slowestMeanMs).toBeCloseTo((3 + 0.25) / 2, 9);
    expect(s.slowestOverHalfMs).toBe(1);
    expect(describeCpuWait(s)).toBe(', client waited for a CPU 5 ms in all, 1.63 ms per request in the slowest 1 % (1 of 2 over 0.5 ms)');
    expect(describeCpuWait(null)).toBe('');
    expect(cpuWaitSummary([], [])).toMatchObject({ totalMs: 0, slowest: 0, slowestMeanMs: 0 });
  });

  it('reads this thread\'s wait where the kernel keeps schedstat, and never goes backwards', () => {
    const clock = CpuWaitClock.open();
    if (!existsSync('/proc/thread-self/schedstat')) {
      expect(clock).toBeNull();
      return;
    }
    expect(clock).not.toBeNull();
    const a = clock!.waitedNs();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i % 7;
    const b = clock!.waitedNs();
    clock!.close();
    expect(x).toBeGreaterThan(0);
    expect(a).not.toBeNull();
    expect(b!).toBeGreaterThanOrEqual(a!);
  });
});

describe("the client's own GC pauses", () => {
  it('counts, sums and finds the longest pause, and says so in the phase line', () => {
    const ms = (v: number): bigint => BigInt(Math.round(v * 1e6));
    const g = summarise([{ startNs: ms(1), endNs: ms(3.5) }, { startNs: ms(10), endNs: ms(10.5) }, { startNs: ms(20), endNs: ms(26) }]);
    expect(g).toEqual({ pauses: 3, totalMs: 9, longestMs: 6 });
    expect(describeGc(g)).toBe('client GC 3 pauses, 9 ms in all, longest 6.0 ms');
    expect(describeGc(summarise([]))).toBe('no client GC pause');
  });

  it("records this process's collections on hrtime's clock", async () => {
    const from = process.hrtime.bigint();
    const w = new GcWatch();
    let keep: number[][] = [];
    // Garbage until a collection has been reported: entries arrive from the loop's check phase.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20_000; i++) keep.push([i, i + 1]);
      keep = [];
      await new Promise<void>((r) => setImmediate(r));
    }
    const pauses = w.stop();
    const to = process.hrtime.bigint();
    expect(pauses.length).toBeGreaterThan(0);
    for (const p of pauses) {
      expect(p.endNs).toBeGreaterThanOrEqual(p.startNs);
      expect(p.startNs).toBeGreaterThanOrEqual(from);
      expect(p.endNs).toBeLessThanOrEqual(to);
    }
  });
});
