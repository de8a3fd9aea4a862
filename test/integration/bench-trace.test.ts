/**
 * bench-trace: `raftkube bench kv --trace` on real processes — that the clock it compares across
 * processes (process.hrtime.bigint(), CLOCK_MONOTONIC) is one clock for all of them, and that a
 * short trace of a 3-member cluster fills every stage of all four tables, with no request's
 * stages adding up to more than the time its client saw. Also /debug/trace's answers to
 * requests it cannot serve, and a put or get with a malformed trace token while tracing is on.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { prefixEnd } from '../../src/kv/client/watch-stream.js';
import { loadProtoDefinitions } from '../../src/kv/proto/index.js';
import { describeResult, RAFTKUBE_MAIN, runCommand, startCluster, type TestCluster } from './harness.js';

/** ECHO_CLOCK answers each line on stdin with its own process.hrtime.bigint(). */
const ECHO_CLOCK = "require('node:readline').createInterface({ input: process.stdin }).on('line', () => process.stdout.write(process.hrtime.bigint() + '\\n'));";

describe('process.hrtime.bigint() across processes', () => {
  it('is one clock: a child\'s reading always falls between the parent\'s send and receive', async () => {
    const child = spawn(process.execPath, ['-e', ECHO_CLOCK], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout });
      const it = lines[Symbol.asyncIterator]();
      const rounds = 200;
      let maxRoundTripNs = 0n;
      for (let i = 0; i < rounds; i++) {
        const sent = process.hrtime.bigint();
        child.stdin.write('\n');
        const r = await it.next();
        const received = process.hrtime.bigint();
        if (r.done === true) throw new Error('the child closed its output');
        const theirs = BigInt(r.value);
        expect(theirs).toBeGreaterThan(sent);
        expect(theirs).toBeLessThan(received);
        if (received - sent > maxRoundTripNs) maxRoundTripNs = received - sent;
      }
      // A second apart would mean separate clocks; pipes on one machine take micro- to milliseconds.
      expect(maxRoundTripNs).toBeLessThan(5_000_000_000n);
      lines.close();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

interface TraceJson {
  readonly members: number;
  readonly load: { readonly start: number; readonly end: number };
  readonly samples: readonly unknown[];
  readonly tables: readonly { group: string; samples: number; stages: readonly { name: string; samples: number }[]; total: { samples: number }; pathPaused: { samples: number } | null; trailers: { samples: number } | null; membersCpuWait: { samples: number } | null }[];
  readonly join: { joined: readonly { group: string; totalMs: number; restMs: number; hops: readonly { name: string; ms: number; cpuWaitMs?: number }[]; trailersMs: number | null }[] };
}

describe('raftkube bench kv --trace on 3 members', () => {
  let c: TestCluster;
  let dir: string;

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 0 });
    dir = mkdtempSync(join(tmpdir(), 'raftkube-trace-'));
  }, 200_000);

  afterAll(async () => {
    await c?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('fills every stage of the four tables, and no request\'s stages exceed its total', async () => {
    const out = join(dir, 'trace.json');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv', '--endpoints', c.clientURLs.join(','), '--trace', '--duration', '2', '--trace-sample', '2', '--trace-out', out, '--no-progress'], { timeoutMs: 150_000 });
    expect(r.code, describeResult(r)).toBe(0);
    for (const h of ['put served by the leader', 'put served by a follower', 'linearizable get served by the leader', 'linearizable get served by a follower']) expect(r.stdout).toContain(h);
    const t = JSON.parse(readFileSync(out, 'utf8')) as TraceJson;
    expect(t.members).toBe(3);
    // The header and the JSON say how busy the machine was, as a comparison run's do.
    expect(r.stdout).toMatch(/load average \d+\.\d\d at the start, \d+\.\d\d at the end/);
    expect(t.load.start).toBeGreaterThanOrEqual(0);
    expect(t.load.end).toBeGreaterThanOrEqual(0);
    expect(t.tables.map((x) => x.group)).toEqual(['put, leader', 'put, follower', 'get, leader', 'get, follower']);
    for (const table of t.tables) {
      expect(table.samples, table.group).toBeGreaterThan(0);
      expect(table.stages.length, table.group).toBeGreaterThanOrEqual(9);
      for (const s of table.stages) expect(s.samples, `${table.group}: ${s.name}`).toBe(table.samples);
      // the members serve Put and Range on their direct path, which marks the response going out
      expect(table.stages.at(-1)?.name, table.group).toBe('member: response out (HTTP/2 headers, data, trailers)');
    }
    expect(r.stdout).toContain('slowest 1%');
    expect(r.stdout).toContain("(in stage 1 or the rest) the client's own GC pauses");
    // Every member recorded its own GC pauses on the same clock, for every request.
    expect(r.stdout).toContain('(within the stages) GC pauses of the members it waited for');
    expect(r.stdout).toContain("(beside the path) the other members' GC pauses");
    for (const table of t.tables) expect(table.pathPaused?.samples, table.group).toBe(table.samples);
    // The client heard every sampled response's headers before its trailers.
    expect(r.stdout).toContain('(in response out and the rest) client: response message → trailers');
    for (const table of t.tables) expect(table.trailers?.samples, table.group).toBe(table.samples);
    for (const j of t.join.joined) expect(j.trailersMs).toBeGreaterThanOrEqual(0);
    // Where the kernel keeps schedstat, the client's waits for a CPU are measured too.
    // ... and so are the members': a hop carries the wait of the member it ends on, never more than
    // the hop, once that member has a reading from before the hop (all but a phase's first hops).
    if (existsSync('/proc/thread-self/schedstat')) {
      expect(r.stdout).toContain('(in stage 1 or the rest) the client waiting for a CPU');
      expect(r.stdout).toContain('(within the stages) the members on the path waiting for a CPU');
      for (const table of t.tables) expect(table.membersCpuWait?.samples, table.group).toBe(table.samples);
      const hops = t.join.joined.flatMap((j) => j.hops);
      const read = hops.filter((h) => h.cpuWaitMs !== undefined);
      expect(read.length).toBeGreaterThan(hops.length * 0.9);
      for (const h of read) {
        expect(h.cpuWaitMs, h.name).toBeGreaterThanOrEqual(0);
        expect(h.cpuWaitMs, h.name).toBeLessThanOrEqual(h.ms);
      }
    }
    // Most samples join; a leader change or a lost commit notice may cost a few.
    expect(t.join.joined.length).toBeGreaterThan(t.samples.length / 2);
    for (const j of t.join.joined) {
      const sum = j.hops.reduce((a, h) => a + h.ms, 0);
      expect(sum, j.group).toBeLessThanOrEqual(j.totalMs + 1e-6);
      expect(j.restMs).toBeGreaterThanOrEqual(-1e-6);
      for (const h of j.hops) expect(h.ms).toBeGreaterThanOrEqual(0);
    }
    // Tracing is off again: a member records nothing more.
    const after = await fetch(`${c.clientURLs[0]!}/debug/trace`, { signal: AbortSignal.timeout(10_000) });
    expect(await after.json()).toMatchObject({ enabled: false, events: [] });
  }, 200_000);

  it('answers requests /debug/trace cannot serve with a status that says why', async () => {
    const bad = await fetch(`${c.clientURLs[0]!}/debug/trace?enable=maybe`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('?enable=true or ?enable=false');
    const put = await fetch(`${c.clientURLs[0]!}/debug/trace`, { method: 'PUT', signal: AbortSignal.timeout(10_000) });
    expect(put.status).toBe(405);
  });

  it('refuses a put or get whose trace token is malformed while tracing is on, and keeps serving', async () => {
    const url = c.clientURLs[0]!;
    const Kv = grpc.makeGenericClientConstructor(loadProtoDefinitions().etcd.KV, 'KV');
    const kv = new Kv(url.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure());
    const call = (method: 'Put' | 'Range', token: string): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => {
        const md = new grpc.Metadata();
        md.set('raftkube-trace', token);
        const req = method === 'Put' ? { key: Buffer.from('trace/bad'), value: Buffer.from('v') } : { key: Buffer.from('trace/bad') };
        const f = kv[method] as (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void;
        f.call(kv, req, md, { deadline: Date.now() + 10_000 }, (e) => resolve(e));
      });
    try {
      expect((await fetch(`${url}/debug/trace?enable=true`, { method: 'POST', signal: AbortSignal.timeout(10_000) })).status).toBe(200);
      for (const method of ['Put', 'Range'] as const) {
        const err = await call(method, 'not a token!');
        expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err?.details).toMatch(/raftkube-trace metadata must be 1 to 64 characters/);
        expect(await call(method, 'fine-token.1')).toBeNull();
      }
    } finally {
      await fetch(`${url}/debug/trace?enable=false`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      kv.close();
    }
    expect(c.deadMembers()).toEqual([]);
  });

  it('watch-fanout spreads its watchers over client threads, and every event and its lag arrives', async () => {
    const out = join(dir, 'fanout.json');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv', '--endpoints', c.clientURLs.join(','), '--workload', 'watch-fanout', '--watchers', '6', '--watch-clients', '2', '--count', '40', '--warmup', '0', '--json', out, '--no-progress'], { timeoutMs: 150_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { results: { workload: string; figures: { name: string; value: number }[]; latencies: { label: string; summary: { count: number } }[]; notes: string[] }[] };
    const fanout = report.results.find((x) => x.workload === 'watch-fanout');
    expect(fanout?.notes.join('\n')).toMatch(/watchers on 2 client threads/);
    expect(fanout?.notes.join('\n')).not.toMatch(/not delivered|failed/);
    expect(fanout?.figures.find((f) => f.name === 'events/s delivered')?.value).toBeGreaterThan(0);
    // Every watcher's lag for every put: 40 puts × 6 watchers, measured in the client threads.
    expect(fanout?.latencies.find((l) => l.label.startsWith('fan-out lag'))?.summary.count).toBe(240);
  }, 200_000);

  it("put-throughput's puts run on several client threads, or on one, and every put is counted once", async () => {
    interface Report { results: { workload: string; figures: { group: string; name: string; value: number }[]; latencies: { label: string; summary: { count: number } }[]; notes: string[]; errors: number; clientCpu: { group: string; percentOfCore: number; threads?: number; gc?: { pauses: number } }[]; load?: { start: number; end: number } }[] }
    const run = async (threads: number): Promise<Report['results'][number]> => {
      const out = join(dir, `puts-${threads}.json`);
      const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv', '--endpoints', c.clientURLs.join(','), '--workload', 'put-throughput', '--put-clients', String(threads), '--count', '301', '--warmup', '0', '--json', out, '--no-progress'], { timeoutMs: 150_000 });
      expect(r.code, describeResult(r)).toBe(0);
      const w = (JSON.parse(readFileSync(out, 'utf8')) as Report).results.find((x) => x.workload === 'put-throughput');
      if (w === undefined) throw new Error(`no put-throughput result in ${out}`);
      return w;
    };
    const two = await run(2);
    expect(two.errors).toBe(0);
    // Each workload says how busy the machine was when it started and ended (the run's header too).
    expect(two.load?.start).toBeGreaterThanOrEqual(0);
    expect(two.load?.end).toBeGreaterThanOrEqual(0);
    // 301 puts per phase, split 151 + 150 over the two threads: every latency lands in the merged histogram.
    expect(two.latencies.map((l) => [l.label, l.summary.count])).toEqual([['put, 16 in flight', 301], ['put, 64 in flight', 301], ['put, 256 in flight', 301]]);
    expect(two.clientCpu.map((x) => x.threads)).toEqual([2, 2, 2]);
    expect(two.notes).toContain("puts from 2 client threads (8 + 8, 32 + 32, 128 + 128 in flight); client CPU and GC pauses are all threads' together");
    for (const f of two.figures.filter((x) => x.name === 'ops/s')) expect(f.value, f.group).toBeGreaterThan(0);
    const one = await run(1);
    expect(one.latencies.map((l) => l.summary.count)).toEqual([301, 301, 301]);
    expect(one.clientCpu.map((x) => x.threads)).toEqual([undefined, undefined, undefined]);
    expect(one.notes.join('\n')).not.toMatch(/client threads/);
    // Each thread wrote under its own prefix; the workload deleted them all afterwards.
    const client = new EtcdClient(c.clientURLs);
    try {
      const left = await client.range('/raftkube-bench-kv/', { rangeEnd: prefixEnd('/raftkube-bench-kv/') });
      expect(left.kvs.map((kv) => Buffer.from(kv.key).toString())).toEqual([]);
    } finally {
      client.close();
    }
  }, 200_000);
});

describe('raftkube bench kv --trace on a TLS cluster (as up starts one by default)', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 0, tls: true });
  }, 200_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('reaches every member over https with the cluster file\'s client certificate', async () => {
    expect(c.clientURLs.every((u) => u.startsWith('https://'))).toBe(true);
    const out = join(c.dataDir, 'trace.json');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv', '--cluster-file', c.dataDir, '--trace', '--duration', '1', '--trace-sample', '2', '--trace-out', out, '--no-progress'], { timeoutMs: 150_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8')) as TraceJson;
    expect(t.members).toBe(3);
    for (const table of t.tables) expect(table.samples, table.group).toBeGreaterThan(0);
  }, 200_000);

  it("runs put-throughput's and watch-fanout's client threads over https too", async () => {
    const out = join(c.dataDir, 'threads.json');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'kv', '--cluster-file', c.dataDir, '--workload', 'put-throughput,watch-fanout', '--put-clients', '2', '--watch-clients', '2', '--watchers', '4', '--count', '40', '--warmup', '0', '--json', out, '--no-progress'], { timeoutMs: 150_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { results: { workload: string; errors: number; notes: string[]; clientCpu: { threads?: number }[]; membersCpu?: { group: string; processes: number; cpuMsPerOp: number; runsPerOp: number; syscalls: { reads: number; writes: number } | null }[] }[] };
    const puts = report.results.find((x) => x.workload === 'put-throughput');
    expect(puts?.errors).toBe(0);
    expect(puts?.clientCpu.map((x) => x.threads)).toEqual([2, 2, 2]);
    const fanout = report.results.find((x) => x.workload === 'watch-fanout');
    expect(fanout?.notes.join('\n')).toMatch(/watchers on 2 client threads/);
    expect(fanout?.notes.join('\n')).not.toMatch(/not delivered|failed/);
    // The cluster file names the members' processes: every phase says what they spent per put.
    if (existsSync('/proc/thread-self/schedstat')) {
      for (const m of [...(puts?.membersCpu ?? []), ...(fanout?.membersCpu ?? [])]) {
        expect(m.processes, m.group).toBe(3);
        expect(m.cpuMsPerOp, m.group).toBeGreaterThan(0);
        expect(m.runsPerOp, m.group).toBeGreaterThan(0);
        // A put is written to the WAL and sent to peers: the members' write-like calls per put are counted.
        expect(m.syscalls?.writes, m.group).toBeGreaterThan(0);
      }
      expect(puts?.membersCpu?.map((m) => m.group)).toEqual(['put, 16 in flight', 'put, 64 in flight', 'put, 256 in flight']);
      expect(fanout?.membersCpu).toHaveLength(1);
    }
  }, 200_000);

  it('reaches https:// --endpoints with etcdctl\'s --cacert/--cert/--key, and says what is wrong without them', async () => {
    const tls = c.etcdctlTls();
    expect(tls).toHaveLength(6);
    const base = [RAFTKUBE_MAIN, 'bench', 'kv', '--endpoints', c.clientURLs.join(','), '--workload', 'put-latency', '--duration', '1', '--no-progress'];
    const ok = await runCommand(process.execPath, [...base, ...tls], { timeoutMs: 120_000 });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(ok.stdout).toMatch(/put, sequential\s*\|\s*ops\/s/);
    const halfTls = await runCommand(process.execPath, [...base, ...tls.slice(0, 4)], { timeoutMs: 60_000 });
    expect(halfTls.code, describeResult(halfTls)).not.toBe(0);
    expect(halfTls.stderr).toMatch(/--key/);
  }, 200_000);
});
