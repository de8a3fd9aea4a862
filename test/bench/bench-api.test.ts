/**
 * bench-api: `raftkube bench api` — its pure parts (cluster.json and kubeconfig reading, flags,
 * the event-name scan, goals, table and SVG), and one end-to-end run of the command with
 * --quick against two in-process apiservers (without the etcd-layer baseline: there is no etcd layer) (the real registry over in-memory storage, REST
 * and gRPC faces over TLS with a cluster CA) described by a cluster.json and a kubeconfig.
 * No timing thresholds: the figures are checked for presence, not size.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import {
  apiServerPids,
  eventPodName,
  formatSeriesTable,
  judgeGoals,
  parseClusterJson,
  parseKubeconfig,
  renderApiSvg,
  validateBenchApiOptions,
  type ApiSeries,
  type BenchApiReport,
} from '../../bench/control-plane/index.js';
import type { LatencySummary } from '../../bench/kv/index.js';
import { openapiV2, openapiV3, openapiV3Index } from '../../src/control-plane/api/openapi.js';
import { RESOURCES } from '../../src/control-plane/api/resources.js';
import { GrpcFace, serveGrpc } from '../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../src/control-plane/apiserver/registry/bootstrap.js';
import { ApiRegistry } from '../../src/control-plane/apiserver/registry/registry.js';
import type { UserInfo } from '../../src/control-plane/apiserver/registry-api.js';
import { createRestServer, type RestServer } from '../../src/control-plane/apiserver/rest/index.js';
import { productionSchema } from '../../src/control-plane/apiserver/schema-functions.js';
import { ensurePki } from '../../src/control-plane/auth/pki.js';
import { registerBenchApiCommand } from '../../src/cli/bench-api.js';
import { memoryStorage } from '../control-plane/registry/memory-storage.js';

const TOKEN = 'bench-api-test-token';
const ADMIN: UserInfo = { username: 'admin', uid: 'admin', groups: ['system:masters', 'system:authenticated'] };

function summary(p50: number, p99: number): LatencySummary {
  return { count: 100, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 };
}

function series(kind: ApiSeries['kind'], label: string, concurrency: number, p99: number): ApiSeries {
  return { kind, label, via: 'rest', concurrency, summary: summary(p99 / 4, p99), rate: kind === 'create' ? 120 : 0, errors: 0, notes: [] };
}

describe('reading the cluster', () => {
  it('takes apiserver URLs, gRPC addresses and pids from cluster.json', () => {
    const text = JSON.stringify({
      masters: [
        { name: 'm1', pids: [10, 11], clientURL: 'http://127.0.0.1:2379', peerURL: 'http://127.0.0.1:2380', apiserverURL: 'https://127.0.0.1:6443/', grpcAddress: '127.0.0.1:6444' },
        { name: 'm2', pids: [12, 'x', -1], clientURL: 'http://127.0.0.1:2381', peerURL: 'http://127.0.0.1:2382', apiserverURL: 'https://127.0.0.1:6445', components: { kv: 12 } },
      ],
    });
    expect(parseClusterJson(text.replace('"pids":[10,11],', '"pids":[10,11],"components":{"kv":10,"apiserver":11},'), 'cluster.json')).toEqual([
      { name: 'm1', apiserverURL: 'https://127.0.0.1:6443', grpcAddress: '127.0.0.1:6444', pids: [10, 11], apiserverPid: 11 },
      { name: 'm2', apiserverURL: 'https://127.0.0.1:6445', grpcAddress: null, pids: [12], apiserverPid: null },
    ]);
  });

  it.each([
    ['not json', /not JSON/],
    ['{"masters": []}', /no masters/],
    ['{"masters": [{"name": "m1", "pids": [1]}]}', /m1 has no apiserverURL; start the cluster with a raftkube up that runs the apiservers/],
    ['{"masters": [{"name": "m1", "apiserverURL": "127.0.0.1:6443"}]}', /not http\(s\):\/\/host:port/],
  ])('refuses %s', (text, message) => {
    expect(() => parseClusterJson(text, 'cluster.json')).toThrow(message);
  });

  it('reads the current context\'s CA and token from a kubeconfig', () => {
    const kc = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'b',
      clusters: [{ name: 'other', cluster: { server: 'https://x' } }, { name: 'rk', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') } }],
      users: [{ name: 'admin', user: { token: 'sekret' } }],
      contexts: [{ name: 'a', context: { cluster: 'other', user: 'admin' } }, { name: 'b', context: { cluster: 'rk', user: 'admin' } }],
    });
    expect(parseKubeconfig(kc, '/x/kubeconfig')).toEqual({ server: 'https://127.0.0.1:6443', caPem: 'PEM', token: 'sekret' });
    const noToken = kc.replace('token: sekret', 'username: bob');
    expect(() => parseKubeconfig(noToken, '/x/kubeconfig')).toThrow(/no bearer token/);
  });

  it('takes the apiserver pid cluster.json names, else finds it among the pids by its command line', () => {
    const argv: Record<number, string[]> = { 1: ['node', 'main.js', 'kv', '--name', 'm1'], 2: ['node', 'main.js', 'apiserver', '--name', 'm1'], 3: ['node', 'main.js', 'kv'] };
    const r = apiServerPids([{ name: 'm1', apiserverURL: 'https://a', grpcAddress: null, pids: [1, 2], apiserverPid: null }, { name: 'm2', apiserverURL: 'https://b', grpcAddress: null, pids: [3, 4], apiserverPid: null }, { name: 'm3', apiserverURL: 'https://c', grpcAddress: null, pids: [5, 6], apiserverPid: 6 }], (p) => argv[p] ?? null);
    expect(r).toEqual({ pids: [{ master: 'm1', pid: 2 }, { master: 'm3', pid: 6 }], missing: ['m2'] });
  });
});

describe('flags', () => {
  it('uses the full sizes by default and the small ones with --quick; explicit numbers win', () => {
    const full = validateBenchApiOptions({ dataDir: '/d' });
    expect(full.ok && [full.value.clients, full.value.watchers, full.value.pods, full.value.durationMs]).toEqual([50, 1000, 10_000, 15_000]);
    const quick = validateBenchApiOptions({ dataDir: '/d', quick: true, watchers: '7' });
    expect(quick.ok && [quick.value.watchers, quick.value.pods, quick.value.quick]).toEqual([7, 200, true]);
    expect(full.ok && full.value.phases).toEqual(['baseline', 'create', 'watch', 'list']);
    const some = validateBenchApiOptions({ dataDir: '/d', phases: 'list, create' });
    expect(some.ok && some.value.phases).toEqual(['create', 'list']);
  });

  it.each([
    [{}, /--data-dir/],
    [{ dataDir: '/d', clients: '0' }, /--clients must be a whole number of at least 1/],
    [{ dataDir: '/d', pods: 'many' }, /--pods/],
    [{ dataDir: '/d', watchVia: 'http2' }, /--watch-via must be rest or grpc/],
    [{ dataDir: '/d', phases: 'create,lists' }, /Unknown phase "lists"/],
  ])('refuses %j', (raw, message) => {
    const v = validateBenchApiOptions(raw);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatch(message);
  });
});

describe('report', () => {
  it('finds the pod name of an ADDED event line and ignores other events', () => {
    expect(eventPodName('{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"w50-7","namespace":"n"}}}')).toBe('w50-7');
    expect(eventPodName('{"type":"DELETED","object":{"metadata":{"name":"w50-7"}}}')).toBeNull();
    expect(eventPodName('{"type":"BOOKMARK","object":{}}')).toBeNull();
  });

  it('judges create p99 against 50 ms and watch p99 at the many-watchers count against 20 ms', () => {
    const goals = judgeGoals([series('create', 'create, REST, 1 client', 1, 12), series('create', 'create, REST, 50 clients', 50, 80), series('watch', 'watch ×1', 1, 30), series('watch', 'watch ×1000', 1000, 19), series('watch-sent', 'watch ×1000 sent', 1000, 90)], 1000);
    expect(goals.map((g) => [g.series, g.met])).toEqual([
      ['create, REST, 1 client', true],
      ['create, REST, 50 clients', false],
      ['watch ×1000', true],
    ]);
  });

  it('prints an aligned table and a well-formed SVG carrying the verdicts', () => {
    const s = [series('create', 'create, REST, 1 client', 1, 12), series('list', 'list <10,000> pods', 1, 300)];
    const t = formatSeriesTable(s).split('\n');
    expect(t[0]).toMatch(/^\| measurement +\| samples \| ops\/s \| p50 ms \| p99 ms \| max ms \| errors \|$/);
    expect(new Set(t.map((l) => [...l].length)).size).toBe(1);
    const report: BenchApiReport = {
      meta: { date: '2026-11-30T12:00:00Z', command: 'raftkube bench api', masters: 3, cpus: 2, cpuModel: 'x', memGiB: 24, node: 'v20', loadBefore: [1, 1, 1], loadAfter: [2, 2, 2], watchVia: 'rest', quick: false },
      series: s,
      memory: null,
      goals: judgeGoals(s, 1000),
      notes: [],
    };
    const svg = renderApiSvg(report);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="(\d+)" viewBox="0 0 \d+ \1"/);
    expect(svg).toContain('list &lt;10,000&gt; pods');
    expect(svg).toContain('✓ create, REST, 1 client p99 12.0 ms (goal 50)');
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<svg /g)).toHaveLength(1);
  });
});

describe('raftkube bench api --quick, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const rests: RestServer[] = [];
  const grpcs: grpc.Server[] = [];
  let registry: ApiRegistry;

  beforeAll(async () => {
    const pki = ensurePki(dir, { hosts: ['127.0.0.1'] });
    const tls = { certPem: readFileSync(pki.certPath, 'utf8'), keyPem: readFileSync(pki.keyPath, 'utf8') };
    registry = new ApiRegistry({
      storage: memoryStorage(),
      schema: productionSchema(),
      authorizer: { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'Reviews are not served in this test' }) },
      resources: RESOURCES,
      clock: { now: () => new Date() },
    });
    const boot = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
    expect(boot.ok).toBe(true);
    const face = new GrpcFace({ registry, authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : 'invalid') });
    const masters = [];
    for (const name of ['m1', 'm2']) {
      const rest = createRestServer({ registry, authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : null), openapi: { v2: openapiV2, v3Index: openapiV3Index, v3: openapiV3 }, tls, log: pino({ level: 'silent' }) });
      rests.push(rest);
      const { port } = await rest.listen(0, '127.0.0.1');
      const g = await serveGrpc(face, { host: '127.0.0.1', port: 0, tls });
      grpcs.push(g.server);
      // This test process is no apiserver by its command line: the memory phase is skipped with a note.
      masters.push({ name, pids: [process.pid], clientURL: 'http://127.0.0.1:1', peerURL: 'http://127.0.0.1:2', apiserverURL: `https://127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${g.port}` });
    }
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ masters, etcdEndpoints: [] }));
    writeFileSync(
      join(dir, 'kubeconfig'),
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'raftkube',
        clusters: [{ name: 'raftkube', cluster: { server: masters[0]!.apiserverURL, 'certificate-authority-data': Buffer.from(pki.caPem).toString('base64') } }],
        users: [{ name: 'admin', user: { token: TOKEN } }],
        contexts: [{ name: 'raftkube', context: { cluster: 'raftkube', user: 'admin' } }],
      }),
    );
  });

  afterAll(async () => {
    for (const r of rests) await r.close();
    for (const g of grpcs) g.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every phase, prints the table and goals, writes SVG and JSON, and deletes its namespace', async () => {
    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const program = new Command().name('raftkube').exitOverride();
      registerBenchApiCommand(program);
      const svg = join(dir, 'plot.svg');
      const json = join(dir, 'report.json');
      await program.parseAsync(['bench', 'api', '--data-dir', dir, '--quick', '--phases', 'create,watch,list', '--pods', '60', '--watchers', '8', '--clients', '4', '--no-progress', '--svg', svg, '--json', json], { from: 'user' });
      const text = out.join('');
      for (const row of ['create, REST, 1 client', 'create, gRPC, 1 client', 'create, REST, 4 clients', 'create, gRPC, 4 clients', 'watch, REST, 1 watcher, from create acked', 'watch, REST, 8 watchers, from create sent', 'watch cache (rv=0)', 'quorum read']) {
        expect(text).toMatch(new RegExp(`^\\| [^|]*${row.replace(/[()]/g, '\\$&')} .*\\| +0 \\|$`, 'm'));
      }
      expect(text).toMatch(/load average before [\d.]+ [\d.]+ [\d.]+, after/);
      expect(text).toContain('mutating p99 < 50 ms');
      expect(text).toContain('watch p99 < 20 ms at 8 watchers');
      expect(text).toContain('no apiserver process among the pids of m1, m2');
      expect(readFileSync(svg, 'utf8')).toContain('data-label="create, gRPC, 4 clients"');
      const report = JSON.parse(readFileSync(json, 'utf8')) as BenchApiReport;
      expect(report.series.find((s) => s.label.startsWith('list'))?.summary.count).toBe(3);
      expect(report.series.every((s) => s.errors === 0 && s.summary.count > 0)).toBe(true);
      const namespaces = await registry.list({ user: ADMIN }, RESOURCES.find((r) => r.plural === 'namespaces')!, {});
      expect(namespaces.ok && namespaces.value.items.map((n) => n.metadata.name).filter((n) => n?.startsWith('raftkube-bench-'))).toEqual([]);
      const pods = await registry.list({ user: ADMIN }, RESOURCES.find((r) => r.plural === 'pods')!, {});
      expect(pods.ok && pods.value.items).toEqual([]);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
