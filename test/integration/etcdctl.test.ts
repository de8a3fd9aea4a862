/**
 * etcdctl: the real, unmodified etcdctl (v3 API) against a real 3-member raftkube cluster on
 * loopback. One cluster serves every case; cases use their own key prefixes, and the ones that
 * change the cluster (membership, leadership, compaction) run after the plain KV cases. `check
 * perf` runs last: it takes a minute, and its PASS/FAIL verdict is a benchmark's, not this test's.
 *
 * Endpoints are given as host:port without a scheme: Node's HTTP/2 server rejects the
 * `:authority` "http://host:port" that etcdctl sends for endpoint status/health otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, etcdctl, hostPort, isAlive, startCluster, startEtcdctl, waitFor, type CommandResult, type EtcdctlOptions, type TestCluster } from './harness.js';
import { parseEndpointStatus, parseMemberList, parseWatchEvents, type EndpointStatus, type WatchEvent } from './etcdctl-output.js';
import { describeCheckPerf, parseCheckPerf } from '../../bench/check-perf/parse.js';

let cluster: TestCluster | undefined;

function c(): TestCluster {
  if (cluster === undefined) throw new Error('The cluster did not start (see beforeAll)');
  return cluster;
}

/** run runs etcdctl against every member (unless told otherwise). */
function run(args: readonly string[], o: Partial<EtcdctlOptions> = {}): Promise<CommandResult> {
  return etcdctl(args, { endpoints: c().endpoints, ...o });
}

/** ok runs etcdctl, expects success and returns its stdout. */
async function ok(args: readonly string[], o: Partial<EtcdctlOptions> = {}): Promise<string> {
  const r = await run(args, o);
  expect(r.code, `etcdctl ${args.join(' ')} failed: ${describeResult(r)}`).toBe(0);
  return r.stdout;
}

/** fails runs etcdctl, expects it to fail and returns its stderr. */
async function fails(args: readonly string[], o: Partial<EtcdctlOptions> = {}): Promise<string> {
  const r = await run(args, o);
  expect(r.code, `etcdctl ${args.join(' ')} should have failed: ${describeResult(r)}`).not.toBe(0);
  expect(r.timedOut).toBe(false);
  return r.stderr;
}

/** put writes a key and returns the revision of the write. */
async function put(key: string, value: string, extra: readonly string[] = []): Promise<number> {
  const out = await ok(['put', key, value, '-w', 'json', ...extra]);
  const rev = /"revision":(\d+)/.exec(out)?.[1];
  if (rev === undefined) throw new Error(`put printed no revision: ${out}`);
  return Number(rev);
}

async function status(endpoints: readonly string[]): Promise<EndpointStatus[]> {
  return parseEndpointStatus(await ok(['endpoint', 'status', '-w', 'json'], { endpoints }));
}

/** settledStatus polls endpoint status until every member names the same leader in the same term. */
function settledStatus(endpoints: readonly string[]): Promise<EndpointStatus[]> {
  return waitFor(`members ${endpoints.join(', ')} to agree on one leader`, async () => {
    const rows = await status(endpoints);
    const first = rows[0];
    if (first === undefined || first.leader === '0') return undefined;
    return rows.every((r) => r.leader === first.leader && r.raftTerm === first.raftTerm) ? rows : undefined;
  }, { timeoutMs: 20_000, intervalMs: 250 });
}

/** withLogOf adds the end of a member's log to the error of a failed wait. */
async function withLogOf<T>(name: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err: unknown) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${msg}\n--- ${name}.log ends with:\n${c().logTail(name)}`, { cause: err });
  }
}

/** health runs `endpoint health -w json` (the simple output goes to stderr) on every member. */
async function health(): Promise<{ endpoint: string; health: boolean; error?: string }[]> {
  const r = await run(['endpoint', 'health', '-w', 'json']);
  expect(r.code, `endpoint health failed: ${describeResult(r)}`).toBe(0);
  return JSON.parse(r.stdout) as { endpoint: string; health: boolean; error?: string }[];
}

beforeAll(async () => {
  cluster = await startCluster();
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('etcdctl against a 3-member raftkube cluster', () => {
  // First on purpose: a follower must forward writes as soon as `up` reports the cluster healthy,
  // even before the leader's client URL (published through the log) has applied there.
  it('a write through each member right after start-up succeeds', async () => {
    for (const [i, e] of c().endpoints.entries()) expect(await ok(['put', `start/${i}`, 'v'], { endpoints: [e] })).toBe('OK\n');
    expect(await ok(['get', '--prefix', 'start/', '--keys-only'])).toBe('start/0\n\nstart/1\n\nstart/2\n\n');
  });

  it('put / get with --prefix and --rev', async () => {
    const r1 = await put('pg/a', '1');
    const r2 = await put('pg/b', '2');
    const r3 = await put('pg/a', '3');
    await put('pg0', 'just past the prefix range');
    expect(r2).toBe(r1 + 1);
    expect(r3).toBe(r2 + 1);

    expect(await ok(['get', 'pg/a'])).toBe('pg/a\n3\n');
    expect(await ok(['get', '--prefix', 'pg/'])).toBe('pg/a\n3\npg/b\n2\n');
    expect(await ok(['get', '--prefix', 'pg/', `--rev=${r2}`])).toBe('pg/a\n1\npg/b\n2\n');
    expect(await ok(['get', '--prefix', 'pg/', `--rev=${r1}`])).toBe('pg/a\n1\n');
    expect(await ok(['get', '--prefix', '--keys-only', 'pg/'])).toBe('pg/a\n\npg/b\n\n');
    expect(await ok(['get', 'pg/missing'])).toBe('');

    const json = JSON.parse(await ok(['get', 'pg/a', '-w', 'json'])) as { kvs: { key: string; value: string; create_revision: number; mod_revision: number; version: number }[]; count: number };
    expect(json.count).toBe(1);
    expect(json.kvs[0]).toMatchObject({ create_revision: r1, mod_revision: r3, version: 2 });
    expect(Buffer.from(json.kvs[0]!.value, 'base64').toString()).toBe('3');
  });

  it('del: one key, a prefix, --prev-kv', async () => {
    for (const k of ['d/a', 'd/b', 'd/c']) await put(k, `v-${k}`);
    await put('d0', 'outside');
    expect(await ok(['del', 'd/a'])).toBe('1\n');
    expect(await ok(['del', 'd/a'])).toBe('0\n');
    expect(await ok(['del', '--prefix', 'd/'])).toBe('2\n');
    expect(await ok(['get', '--prefix', 'd/'])).toBe('');
    expect(await ok(['del', '--prev-kv', 'd0'])).toBe('1\nd0\noutside\n');
    expect(await ok(['get', 'd0'])).toBe('');
  });

  it('txn -i: compares, then the success or the failure branch', async () => {
    await put('t/k', 'v1');
    const txn = (compare: string, success: string, failure: string): Promise<string> =>
      ok(['txn', '-i'], { input: `${compare}\n\n${success}\n\n${failure}\n\n` });

    const prompts = 'compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n';
    const yes = await txn('value("t/k") = "v1"\nversion("t/k") = "1"', 'put t/res yes\nget t/k', 'put t/res no');
    expect(yes).toBe(`${prompts}SUCCESS\n\nOK\n\nt/k\nv1\n`);
    expect(await ok(['get', 't/res'])).toBe('t/res\nyes\n');

    const no = await txn('value("t/k") = "other"', 'put t/res yes', 'put t/res no\nget t/res');
    expect(no).toBe(`${prompts}FAILURE\n\nOK\n\nt/res\nno\n`);
    expect(await ok(['get', 't/res'])).toBe('t/res\nno\n');

    const rev = await put('t/k', 'v2');
    const modOk = await txn(`mod("t/k") = "${rev}"`, 'del t/k', 'put t/res wrong-mod');
    expect(modOk).toBe(`${prompts}SUCCESS\n\n1\n`);
    expect(await ok(['get', 't/k'])).toBe('');
  });

  it('watch --prefix sees a concurrent writer, in order', async () => {
    const w = startEtcdctl(['watch', '--prefix', 'w/'], { endpoints: c().endpoints });
    try {
      // The watch is in place once it reports a write made after it started.
      let n = 0;
      await waitFor('the watch to report a marker write', async () => {
        await put('w/ready', String(++n));
        return parseWatchEvents(w.stdout).some((e) => e.key === 'w/ready');
      }, { timeoutMs: 20_000, intervalMs: 200 });

      // The writer is another etcdctl per write, each through a different member.
      const writes: readonly [string[], WatchEvent][] = [
        [['put', 'w/a', '1'], { type: 'PUT', key: 'w/a', value: '1' }],
        [['put', 'w/b', '2'], { type: 'PUT', key: 'w/b', value: '2' }],
        [['put', 'w/a', '3'], { type: 'PUT', key: 'w/a', value: '3' }],
        [['put', 'not-watched', 'x'], { type: 'PUT', key: '', value: '' }],
        [['del', 'w/b'], { type: 'DELETE', key: 'w/b', value: '' }],
        [['put', 'w/c/deep', '4'], { type: 'PUT', key: 'w/c/deep', value: '4' }],
        [['del', '--prefix', 'w/a'], { type: 'DELETE', key: 'w/a', value: '' }],
      ];
      const endpoints = c().endpoints;
      for (const [i, [args]] of writes.entries()) await ok(args, { endpoints: [endpoints[i % endpoints.length]!] });
      const expected = writes.map(([, e]) => e).filter((e) => e.key !== '');

      const seen = (): WatchEvent[] => parseWatchEvents(w.stdout).filter((e) => e.key !== 'w/ready');
      await waitFor(`${expected.length} watch events`, () => seen().length >= expected.length, { timeoutMs: 15_000 });
      expect(seen(), `watch output:\n${w.stdout}\n${w.stderr}`).toEqual(expected);
      expect(w.exited, `the watch ended early: ${w.stderr}`).toBe(false);
    } finally {
      await w.stop();
    }
  });

  it('lease: grant, put --lease, timetolive --keys, keep-alive, list, revoke', async () => {
    const granted = await ok(['lease', 'grant', '6']);
    const m = /^lease ([0-9a-f]+) granted with TTL\((\d+)s\)$/m.exec(granted);
    expect(m, granted).not.toBeNull();
    const id = m![1]!;
    const ttl = Number(m![2]);
    const grantedAt = Date.now();
    expect(ttl).toBe(6);

    expect(await ok(['put', '--lease', id, 'l/k', 'v'])).toBe('OK\n');
    const ttlOut = await ok(['lease', 'timetolive', id, '--keys']);
    const t = /^lease ([0-9a-f]+) granted with TTL\((\d+)s\), remaining\((\d+)s\), attached keys\(\[(.*)\]\)$/m.exec(ttlOut);
    expect(t, ttlOut).not.toBeNull();
    expect(t![1]).toBe(id);
    expect(Number(t![3])).toBeGreaterThan(0);
    expect(Number(t![3])).toBeLessThanOrEqual(6);
    expect(t![4]).toBe('l/k');

    // Keep it alive past its TTL: the key must outlive the 6 s it was granted. NB: 6 s, not 3, leaves
    // a loaded machine time for the three etcdctl runs between the grant and the first keep-alive.
    const ka = startEtcdctl(['lease', 'keep-alive', id], { endpoints: c().endpoints });
    try {
      const lines = (): string[] => ka.stdout.split('\n').filter((l) => l === `lease ${id} keepalived with TTL(6)`);
      await waitFor('keep-alive to renew the lease past its TTL', () => ka.exited ? Promise.reject(new Error(`keep-alive exited: ${ka.stdout}${ka.stderr}`)) : lines().length >= 3 && Date.now() - grantedAt > 7_000, { timeoutMs: 20_000 });
      expect(await ok(['get', 'l/k'])).toBe('l/k\nv\n');
      const again = await ok(['lease', 'timetolive', id]);
      expect(again).toMatch(new RegExp(`^lease ${id} granted with TTL\\(6s\\), remaining\\([1-6]s\\)$`, 'm'));
    } finally {
      await ka.stop();
    }
    expect(ka.stdout.split('\n').filter((l) => l.length > 0 && !l.startsWith(`lease ${id} keepalived with TTL(6)`))).toEqual([]);

    const list = await ok(['lease', 'list']);
    expect(list.split('\n')).toContain(id);
    expect(list).toMatch(/^found \d+ leases$/m);

    expect(await ok(['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
    expect(await ok(['get', 'l/k'])).toBe('');
    expect(await ok(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
    expect((await ok(['lease', 'list'])).split('\n')).not.toContain(id);
  });

  it('member list / add --learner / start it / promote / remove', async () => {
    const before = parseMemberList(await ok(['member', 'list']));
    expect(before.map((m) => m.name).sort()).toEqual(['m1', 'm2', 'm3']);
    for (const m of c().members) {
      const row = before.find((r) => r.name === m.name);
      expect(row).toMatchObject({ status: 'started', peerURLs: [m.peerURL], clientURLs: [m.clientURL], isLearner: false });
    }

    const { clientURL, peerURL } = c().spareURLs(0);
    const added = await ok(['member', 'add', 'm4', '--learner', `--peer-urls=${peerURL}`]);
    const id = /Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    expect(id, added).toBeDefined();
    expect(added).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
    const unstarted = parseMemberList(await ok(['member', 'list'])).find((r) => r.id === id);
    expect(unstarted).toMatchObject({ status: 'unstarted', peerURLs: [peerURL], isLearner: true });

    const initialCluster = [...before.map((m) => `${m.name}=${m.peerURLs[0]}`), `m4=${peerURL}`].join(',');
    c().startMember('m4', { clientURL, peerURL, initialCluster });
    const m4 = hostPort(clientURL);
    let removed = false;
    try {
      await withLogOf('m4', waitFor('m4 to start as a learner', async () => {
        const row = parseMemberList(await ok(['member', 'list'])).find((r) => r.id === id);
        return row?.status === 'started' && row.name === 'm4' && row.isLearner && row.clientURLs[0] === clientURL;
      }, { timeoutMs: 30_000, intervalMs: 250 }));
      // NB: m4 learns that it is a learner from the log (the conf change that added it), so its
      // own Status says so once it has caught up that far; etcd learns it from its peers at start.
      const learner = await waitFor('m4 to report itself a learner', async () => {
        const [s] = await status([m4]);
        return s?.isLearner === true ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      expect(learner).toMatchObject({ memberId: id, isLearner: true });

      // Promotion is refused until the learner has caught up; retry until it is accepted.
      const promoted = await withLogOf('m4', waitFor('the learner to be promoted', async () => {
        const r = await run(['member', 'promote', id!]);
        if (r.code === 0) return r.stdout;
        if (r.stderr.includes('in sync with leader')) return undefined;
        throw new Error(describeResult(r));
      }, { timeoutMs: 30_000, intervalMs: 250 }));
      expect(promoted).toMatch(new RegExp(`Member\\s+${id} promoted in cluster`));
      const after = parseMemberList(await ok(['member', 'list']));
      expect(after).toHaveLength(4);
      expect(after.find((r) => r.id === id)).toMatchObject({ name: 'm4', isLearner: false });
      const rows = await settledStatus([...c().endpoints, m4]);
      expect(rows.filter((r) => r.memberId === r.leader)).toHaveLength(1);
      expect(rows.find((r) => r.memberId === id)?.isLearner).toBe(false);

      // m4 is a voter now: it holds what the others hold.
      await put('member/after-promote', 'x');
      await withLogOf('m4', waitFor('m4 to apply the write', async () => (await ok(['get', 'member/after-promote', '--consistency=s'], { endpoints: [m4] })) === 'member/after-promote\nx\n'));

      expect(await ok(['member', 'remove', id!])).toMatch(new RegExp(`Member\\s+${id} removed from cluster`));
      removed = true;
      const final = parseMemberList(await ok(['member', 'list']));
      expect(final.map((r) => r.name).sort()).toEqual(['m1', 'm2', 'm3']);
    } finally {
      // Leave the cluster as the other cases expect it, whatever happened above.
      if (!removed) await run(['member', 'remove', id!]);
      await c().stopMember('m4');
    }
    expect((await health()).map((h) => h.health)).toEqual([true, true, true]);
  });

  it('endpoint status and endpoint health on every member: exactly one leader', async () => {
    const rows = await settledStatus(c().endpoints);
    expect(rows.map((r) => r.endpoint)).toEqual(c().endpoints);
    const ids = parseMemberList(await ok(['member', 'list'])).map((m) => m.id);
    expect(rows.map((r) => r.memberId).sort()).toEqual([...ids].sort());
    expect(rows.filter((r) => r.memberId === r.leader)).toHaveLength(1);
    expect(ids).toContain(rows[0]!.leader);
    for (const r of rows) {
      expect(r.isLearner).toBe(false);
      expect(r.raftIndex).toBeGreaterThan(0);
      expect(r.raftAppliedIndex).toBeGreaterThan(0);
      expect(r.version).toMatch(/^3\.\d+\.\d+/);
    }
    const table = await ok(['endpoint', 'status', '-w', 'table']);
    expect(table.split('\n').filter((l) => /\|\s+true\s+\|\s+false\s+\|/.test(l))).toHaveLength(1);

    const healthy = await health();
    expect(healthy.map((h) => h.endpoint).sort()).toEqual([...c().endpoints].sort());
    for (const h of healthy) expect(h, JSON.stringify(h)).toMatchObject({ health: true });
    // The simple form reports on stderr, one line per member.
    const simple = await run(['endpoint', 'health']);
    expect(simple.code, describeResult(simple)).toBe(0);
    for (const e of c().endpoints) expect(simple.stderr).toMatch(new RegExp(`^${e.replaceAll('.', '\\.')} is healthy: successfully committed proposal: took = `, 'm'));
  });

  it('move-leader hands leadership to the target', async () => {
    const rows = await settledStatus(c().endpoints);
    const leader = rows[0]!.leader;
    const target = rows.find((r) => r.memberId !== leader)!.memberId;
    const out = await ok(['move-leader', target]);
    expect(out).toBe(`Leadership transferred from ${leader} to ${target}\n`);
    const after = await waitFor(`${target} to lead`, async () => {
      const s = await settledStatus(c().endpoints);
      return s[0]!.leader === target ? s : undefined;
    });
    expect(after.filter((r) => r.memberId === r.leader).map((r) => r.memberId)).toEqual([target]);
    expect(after[0]!.raftTerm).toBeGreaterThan(rows[0]!.raftTerm);
    expect(await ok(['put', 'ml/after', 'ok'])).toBe('OK\n');
  });

  it('compaction: a get at a compacted revision fails', async () => {
    const r1 = await put('cp/k', 'v1');
    const r2 = await put('cp/k', 'v2');
    await put('cp/k', 'v3');
    expect(await ok(['compaction', String(r2)])).toBe(`compacted revision ${r2}\n`);
    const err = await fails(['get', 'cp/k', `--rev=${r1}`]);
    expect(err).toContain('Error: etcdserver: mvcc: required revision has been compacted');
    expect(err).toContain('code = OutOfRange');
    expect(await ok(['get', 'cp/k', `--rev=${r2}`])).toBe('cp/k\nv2\n');
    expect(await ok(['get', 'cp/k'])).toBe('cp/k\nv3\n');
    // Compacting at the same revision again is refused like etcd does.
    expect(await fails(['compaction', String(r2)])).toContain('required revision has been compacted');
  });

  it('snapshot save writes a file from one endpoint', async () => {
    await put('snap/k', 'in the snapshot');
    const file = join(c().dataDir, 'etcdctl-snapshot.db');
    const out = await ok(['snapshot', 'save', file], { endpoints: [c().endpoints[0]!] });
    expect(out).toBe(`Snapshot saved at ${file}\n`);
    expect(existsSync(file)).toBe(true);
    const data = readFileSync(file);
    // The image ends, like etcd's, with the SHA-256 of what precedes it, padded to 512 bytes.
    expect(data.length).toBeGreaterThan(512);
    expect((data.length - 32) % 512).toBe(0);
    const body = data.subarray(0, data.length - 32);
    expect(createHash('sha256').update(body).digest().equals(data.subarray(data.length - 32))).toBe(true);
  });

  it.each([
    { name: 'an empty key', args: ['put', '', 'v'], input: '', want: 'code = InvalidArgument desc = etcdserver: key is not provided' },
    { name: 'a value over 1.5 MiB', args: ['put', 'bad/big'], input: 'x'.repeat(1_600_000), want: 'code = InvalidArgument desc = etcdserver: request is too large' },
    { name: 'a txn putting one key twice', args: ['txn'], input: '\nput bad/dup 1\nput bad/dup 2\n\n\n', want: 'code = InvalidArgument desc = etcdserver: duplicate key given in txn request' },
    { name: 'a put with an unknown lease', args: ['put', '--lease=7a11e5ca', 'bad/lease', 'v'], input: '', want: 'code = NotFound desc = etcdserver: requested lease not found' },
    { name: 'a get at a future revision', args: ['get', 'bad/k', '--rev=100000000'], input: '', want: 'code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision' },
  ])('bad input: $name is refused with etcd\'s error', async ({ args, input, want }) => {
    expect(await fails(args, { input })).toContain(want);
  });

  it('bad input crashed no member', async () => {
    expect(c().deadMembers()).toEqual([]);
    expect(c().pids.every(isAlive)).toBe(true);
    const healthy = await health();
    expect(healthy.map((h) => h.endpoint).sort()).toEqual([...c().endpoints].sort());
    expect(healthy.every((h) => h.health), JSON.stringify(healthy)).toBe(true);
    expect(await ok(['get', 'bad/big'])).toBe('');
    expect(await ok(['get', 'bad/dup'])).toBe('');
  });

  // NB: whether check perf PASSes depends on the machine (its slowest-request threshold is 0.5 s),
  // so the verdict is a benchmark's (npm run bench:check-perf, bench/RESULTS.md). The test holds
  // what does not depend on speed: the check runs to the end against raftkube, every request
  // succeeds, and it reports all three figures, with an exit status that matches its verdict.
  it('check perf --load s runs against raftkube and reports its figures', async () => {
    const r = await run(['check', 'perf', '--load', 's'], { timeoutMs: 150_000 });
    const report = parseCheckPerf(r.stdout);
    const why = `${describeCheckPerf(report)}\n${describeResult(r)}`;
    expect(report.verdict, why).not.toBeNull();
    expect(r.code, why).toBe(report.verdict === 'PASS' ? 0 : 1);
    expect(report.errors, why).toEqual([]);
    expect(report.throughput?.value, why).toBeGreaterThan(0);
    expect(report.slowestSeconds?.value, why).toBeGreaterThan(0);
    expect(report.stddevSeconds?.value, why).toBeGreaterThanOrEqual(0);
    process.stderr.write(`etcdctl check perf --load s against raftkube: ${describeCheckPerf(report)}\n`);
  }, 180_000);
});
