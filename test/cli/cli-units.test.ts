/**
 * cli-units: the CLI's pure parts — status rows, verdict and table, the `up` status line, why a
 * member exited, how hints are spelled, data directory and port checks, reading cluster.json,
 * and reading `etcdctl check perf`'s report.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeCheckPerf, parseCheckPerf } from '../../bench/check-perf/parse.js';
import { readClusterFile } from '../../src/cli/cluster-file.js';
import { commandHint } from '../../src/cli/hints.js';
import { exitReason, memberEnv, statusLine, summarize, type MemberState } from '../../src/cli/local-cluster.js';
import { checkPortRange, ensureDataDir } from '../../src/cli/preflight.js';
import { formatStatus, statusRows, statusVerdict } from '../../src/cli/status.js';
import type { StatusResponse } from '../../src/kv/proto/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftkube-cli-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function status(id: string, leader: string, index: number): StatusResponse {
  return { header: { cluster_id: '7', member_id: id, revision: 1, raft_term: 2 }, leader, raftTerm: 2, raftIndex: index, raftAppliedIndex: index, isLearner: false } as unknown as StatusResponse;
}

function member(name: string, o: Partial<MemberState>): MemberState {
  return { name, endpoint: `http://127.0.0.1:1/${name}`, pids: [100], alive: true, status: null, error: null, ...o };
}

describe('status', () => {
  const up = [member('m1', { status: status('1', '1', 9) }), member('m2', { status: status('2', '1', 9) })];
  const down = member('m3', { alive: false, error: 'connection refused' });

  it('is healthy with a leader and every member answering', () => {
    expect(statusVerdict(statusRows(up))).toEqual({ ok: true, line: 'Healthy: leader m1, term 2, 2/2 members up' });
  });

  it('shows a stopped member as down (connection refused), names it, and is not ok', () => {
    const rows = statusRows([...up, down]);
    expect(rows.map((r) => r.role)).toEqual(['leader', 'follower', 'down']);
    expect(statusVerdict(rows)).toEqual({ ok: false, line: 'Degraded: m3 down; leader m1, term 2' });
    const text = formatStatus(rows);
    expect(text).toContain('m3: down (connection refused)');
    expect(text.trimEnd().split('\n').at(-1)).toBe('Degraded: m3 down; leader m1, term 2');
  });

  it('is not ok without a leader, even when every member answers', () => {
    const rows = statusRows([member('m1', { status: status('1', '0', 3) }), member('m2', { status: status('2', '0', 3) })]);
    expect(statusVerdict(rows)).toEqual({ ok: false, line: 'No leader' });
  });

  it('calls a member whose process runs but does not answer unreachable', () => {
    expect(statusRows([member('m1', { alive: true, error: 'no answer within the deadline' })])[0]!.role).toBe('unreachable');
  });

  it("keeps up's status line naming the members that are down", () => {
    expect(statusLine(summarize([...up, down]))).toBe('leader m1 · term 2 · commit 9 · 2/3 healthy (m3 down)');
  });

  it('shows a member being replaced as joining while it is a learner, and is not ok until it is promoted', () => {
    const learner = member('m3', { status: { ...status('3', '1', 4), isLearner: true } });
    const rows = statusRows([...up, learner]);
    expect(rows.map((r) => r.role)).toEqual(['leader', 'follower', 'learner']);
    expect(statusVerdict(rows)).toEqual({ ok: false, line: 'Joining: m3 is a learner catching up (lag 5); leader m1, term 2' });
    expect(statusLine(summarize([...up, learner]))).toBe('leader m1 · term 2 · commit 9 · 3/3 healthy · m3 joining (learner)');
  });
});

describe('exitReason', () => {
  it("takes raftkube's own last line over the JSON log", () => {
    const log = '{"level":30,"msg":"bootstrapped"}\nE No address added out of total 1 resolved\nraftkube: Cannot listen on http://127.0.0.1:5: address already in use\n';
    expect(exitReason(log)).toBe('Cannot listen on http://127.0.0.1:5: address already in use');
  });

  it('else the last error-level log line', () => {
    expect(exitReason('{"level":30,"msg":"a"}\n{"level":50,"msg":"fatal apply","err":{"message":"boom"}}\n{"level":30,"msg":"b"}\n')).toBe('fatal apply: boom');
  });
});

describe('commandHint', () => {
  const script = '/repo/dist/src/cli/main.js';
  it('under npm run: the npm script, with --data-dir only when not the default', () => {
    const env = { npm_package_name: 'raftkube', npm_lifecycle_event: 'up', PATH: '' };
    expect(commandHint('status', '/repo/raftkube-data', { env, cwd: '/repo', script })).toBe('npm run status');
    expect(commandHint('down', '/tmp/x', { env, cwd: '/repo', script })).toBe('npm run down -- --data-dir /tmp/x');
  });

  it('otherwise node and the script, relative when below the current directory', () => {
    expect(commandHint('status', '/repo/raftkube-data', { env: { PATH: '' }, cwd: '/repo', script })).toBe('node dist/src/cli/main.js status');
    expect(commandHint('down', '/tmp/x', { env: { PATH: '' }, cwd: '/elsewhere', script })).toBe(`node ${script} down --data-dir /tmp/x`);
  });
});

describe('preflight', () => {
  it('creates a missing data directory with its parents', () => {
    const d = join(tempDir(), 'a', 'b');
    expect(ensureDataDir(d)).toEqual({ ok: true });
  });

  it('refuses a data directory that is a file, or lies under one', () => {
    const f = join(tempDir(), 'file');
    writeFileSync(f, 'x');
    expect(ensureDataDir(f)).toEqual({ ok: false, error: `${f} is a file, not a directory; pick another --data-dir` });
    expect(ensureDataDir(join(f, 'sub'))).toEqual({ ok: false, error: `${f} is a file, not a directory; pick another --data-dir` });
  });

  it('refuses at once a directory that cannot be created (no endless mkdir under /proc)', () => {
    const r = ensureDataDir('/proc/raftkube-nope');
    expect(r.ok ? '' : r.error).toMatch(/^Cannot create the data directory \/proc\/raftkube-nope \(E[A-Z]+ at \/proc\/raftkube-nope\); pick a --data-dir you can write to$/);
  });

  it('leaves room for every port of the cluster', () => {
    expect(checkPortRange(32379, 6)).toEqual({ ok: true });
    expect(checkPortRange(65530, 6)).toEqual({ ok: true });
    expect(checkPortRange(65531, 6)).toEqual({ ok: false, error: '--base-port must leave room for 6 ports (1 to 65530), got 65531' });
  });
});

describe('readClusterFile', () => {
  it('names the file when it is not JSON or has no masters', () => {
    const d = tempDir();
    writeFileSync(join(d, 'cluster.json'), '{"masters": [');
    expect(() => readClusterFile(d)).toThrow(`${join(d, 'cluster.json')} is not a valid raftkube cluster file (not JSON); move it away or pick another --data-dir`);
    writeFileSync(join(d, 'cluster.json'), '{}');
    expect(() => readClusterFile(d)).toThrow(`${join(d, 'cluster.json')} is not a valid raftkube cluster file (no "masters" list)`);
  });

  it('tolerates fields it does not know (apiserver URLs, nodes, a load balancer)', () => {
    const d = tempDir();
    mkdirSync(d, { recursive: true });
    const m = { name: 'm1', pids: [5, 6], clientURL: 'http://127.0.0.1:1', peerURL: 'http://127.0.0.1:2', apiserverURL: 'https://127.0.0.1:3' };
    writeFileSync(join(d, 'cluster.json'), JSON.stringify({ masters: [m], nodes: [{ name: 'n1', pids: [7] }], loadBalancer: { url: 'x', pids: [8] }, etcdEndpoints: [m.clientURL], kubeconfig: '/k', clusterID: '42' }));
    const f = readClusterFile(d);
    expect(f).toMatchObject({ masters: [{ name: 'm1', pids: [5, 6], clientURL: m.clientURL, peerURL: m.peerURL }], etcdEndpoints: [m.clientURL], clusterID: '42' });
  });
});

describe('parseCheckPerf', () => {
  const bar = ' 59 / 60 Boooooo!  98.33%\r 60 / 60 Booooooo! 100.00% 1m0s';
  it('reads a passing report, the first figure sharing the progress bar\'s line', () => {
    const r = parseCheckPerf(`${bar}PASS: Throughput is 150 writes/s\nPASS: Slowest request took 0.277776s\nPASS: Stddev is 0.031483s\nPASS\n`);
    expect(r).toEqual({ throughput: { value: 150, pass: true }, slowestSeconds: { value: 0.277776, pass: true }, stddevSeconds: { value: 0.031483, pass: true }, errors: [], verdict: 'PASS' });
  });

  it('reads a failing report and says which check failed', () => {
    const r = parseCheckPerf(`${bar}\nPASS: Throughput is 147 writes/s\nSlowest request took too long: 0.612000s\nPASS: Stddev is 0.065529s\nFAIL\n`);
    expect(r.slowestSeconds).toEqual({ value: 0.612, pass: false });
    expect(r.verdict).toBe('FAIL');
    expect(describeCheckPerf(r)).toBe('throughput 147 writes/s ok, slowest 0.612 s FAILED, stddev 0.065529 s ok, verdict FAIL');
  });

  it('keeps failed requests apart from slowness', () => {
    const r = parseCheckPerf('FAIL: too many errors\nFAIL: ERROR(context deadline exceeded) -> 3\nFAIL: Throughput too low: 12 writes/s\nStddev too high: 0.3s\n');
    expect(r.errors).toEqual(['FAIL: too many errors', 'FAIL: ERROR(context deadline exceeded) -> 3']);
    expect(r.throughput).toEqual({ value: 12, pass: false });
    expect(r.slowestSeconds).toBeNull();
    expect(r.verdict).toBeNull();
  });
});

describe('a member\'s environment', () => {
  it('asks glibc\'s malloc for huge pages, beside any other tunables, and keeps the rest of the environment', () => {
    expect(memberEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(memberEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES']).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    expect(memberEnv({ GLIBC_TUNABLES: '' })['GLIBC_TUNABLES']).toBe('glibc.malloc.hugetlb=1');
  });

  it('keeps a huge-page setting the environment already has (how to turn it off)', () => {
    const off = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' };
    expect(memberEnv(off)).toEqual(off);
    // A name that merely starts alike is another tunable.
    expect(memberEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlbx=0' })['GLIBC_TUNABLES']).toBe('glibc.malloc.hugetlbx=0:glibc.malloc.hugetlb=1');
  });
});
