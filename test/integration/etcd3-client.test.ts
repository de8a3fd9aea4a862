/**
 * etcd3-client: the `etcd3` npm client, unmodified, against a real 3-member raftkube cluster —
 * the same cases as the etcdctl suite (KV, txn, watch, leases, cluster, maintenance, compaction)
 * plus the bad inputs etcd refuses, which must leave every member running.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3, EtcdLeaseInvalidError, GRPCInvalidArgumentError, GRPCOutOfRangeError, type IKeyValue, type IStatusResponse } from 'etcd3';
import { startCluster, waitFor, type TestCluster } from './harness.js';

let cluster: TestCluster | undefined;
let client: Etcd3 | undefined;

function c(): TestCluster {
  if (cluster === undefined) throw new Error('The cluster did not start (see beforeAll)');
  return cluster;
}

function etcd(): Etcd3 {
  if (client === undefined) throw new Error('The client was not created (see beforeAll)');
  return client;
}

/** withClient runs fn with a client of its own (one member, or all), closed afterwards. */
async function withClient<T>(hosts: string | string[], fn: (e: Etcd3) => Promise<T>): Promise<T> {
  const e = new Etcd3({ hosts, dialTimeout: 5_000 });
  try {
    return await fn(e);
  } finally {
    e.close();
  }
}

async function put(key: string, value: string | Buffer): Promise<number> {
  const r = await etcd().put(key).value(value).exec();
  return Number(r.header.revision);
}

/** rejection awaits a promise that must fail and returns the error. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err: unknown) {
    if (err instanceof Error) return err;
    throw new Error(`Rejected with a non-Error: ${JSON.stringify(err)}`);
  }
  throw new Error('Expected the call to fail, but it succeeded');
}

/** statuses asks every member for its status, each through a client of its own. */
function statuses(): Promise<IStatusResponse[]> {
  return Promise.all(c().clientURLs.map((u) => withClient(u, (e) => e.maintenance.status())));
}

beforeAll(async () => {
  cluster = await startCluster({ spareMembers: 0 });
  client = new Etcd3({ hosts: cluster.clientURLs, dialTimeout: 5_000 });
}, 180_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
}, 60_000);

describe('the etcd3 client against a 3-member raftkube cluster', () => {
  it('put / get, prefix, revision', async () => {
    const r1 = await put('pg/a', '1');
    const r2 = await put('pg/b', '2');
    const r3 = await put('pg/a', '3');
    await put('pg0', 'just past the prefix range');
    expect([r2 - r1, r3 - r2]).toEqual([1, 1]);

    expect(await etcd().get('pg/a').string()).toBe('3');
    expect(await etcd().get('pg/missing').string()).toBeNull();
    expect(await etcd().getAll().prefix('pg/').strings()).toEqual({ 'pg/a': '3', 'pg/b': '2' });
    expect(await etcd().getAll().prefix('pg/').count()).toBe(2);
    expect(await etcd().getAll().prefix('pg/').keys()).toEqual(['pg/a', 'pg/b']);
    expect(await etcd().getAll().prefix('pg/').revision(r2).strings()).toEqual({ 'pg/a': '1', 'pg/b': '2' });
    expect(await etcd().getAll().prefix('pg/').revision(r1).strings()).toEqual({ 'pg/a': '1' });
    expect(await etcd().get('pg/a').revision(r1).string()).toBe('1');
    expect(await etcd().getAll().prefix('pg/').sort('Key', 'Descend').limit(1).keys()).toEqual(['pg/b']);

    const res = await etcd().get('pg/a').exec();
    expect(res.kvs).toHaveLength(1);
    expect(res.kvs[0]).toMatchObject({ create_revision: String(r1), mod_revision: String(r3), version: '2' });
    expect(Number(res.header.revision)).toBeGreaterThanOrEqual(r3 + 1);
  });

  it('delete: one key, a prefix, with the previous values', async () => {
    for (const k of ['d/a', 'd/b', 'd/c']) await put(k, `v-${k}`);
    await put('d0', 'outside');
    expect((await etcd().delete().key('d/a').exec()).deleted).toBe('1');
    expect((await etcd().delete().key('d/a').exec()).deleted).toBe('0');
    const prev = await etcd().delete().prefix('d/').getPrevious();
    expect(prev.map((kv) => [kv.key.toString(), kv.value.toString()])).toEqual([['d/b', 'v-d/b'], ['d/c', 'v-d/c']]);
    expect(await etcd().getAll().prefix('d/').strings()).toEqual({});
    expect(await etcd().get('d0').string()).toBe('outside');
  });

  it('transactions: if / then / else, both branches', async () => {
    const rev = await put('t/k', 'v1');
    const yes = await etcd()
      .if('t/k', 'Value', '==', 'v1')
      .and('t/k', 'Mod', '==', rev)
      .then(etcd().put('t/res').value('yes'), etcd().get('t/k'))
      .else(etcd().put('t/res').value('no'))
      .commit();
    expect(yes.succeeded).toBe(true);
    expect(yes.responses).toHaveLength(2);
    expect(yes.responses[1]!.response_range.kvs[0]!.value.toString()).toBe('v1');
    expect(await etcd().get('t/res').string()).toBe('yes');

    const no = await etcd()
      .if('t/k', 'Value', '==', 'other')
      .then(etcd().put('t/res').value('yes'))
      .else(etcd().put('t/res').value('no'), etcd().get('t/res'))
      .commit();
    expect(no.succeeded).toBe(false);
    expect(no.responses[1]!.response_range.kvs[0]!.value.toString()).toBe('no');
    expect(await etcd().get('t/res').string()).toBe('no');

    const versions = await etcd().if('t/k', 'Version', '>', 0).then(etcd().delete().key('t/k')).commit();
    expect(versions.succeeded).toBe(true);
    expect(versions.responses[0]!.response_delete_range.deleted).toBe('1');
  });

  it('watch: a prefix watcher sees two concurrent writers, in revision order', async () => {
    const watcher = await etcd().watch().prefix('w/').create();
    type Seen = { type: 'put' | 'delete'; key: string; value: string; rev: number };
    const seen: Seen[] = [];
    const record = (type: Seen['type']) => (kv: IKeyValue): void => {
      seen.push({ type, key: kv.key.toString(), value: kv.value.toString(), rev: Number(kv.mod_revision) });
    };
    watcher.on('put', record('put'));
    watcher.on('delete', record('delete'));
    try {
      // Each writer has a client of its own and writes through a different member.
      const writer = (name: string, host: string): Promise<Seen[]> =>
        withClient(host, async (e) => {
          const done: Seen[] = [];
          for (let i = 0; i < 10; i++) {
            const key = `w/${name}/${i % 3}`;
            if (i % 4 === 3) {
              const r = await e.delete().key(key).exec();
              if (r.deleted === '1') done.push({ type: 'delete', key, value: '', rev: Number(r.header.revision) });
            } else {
              const r = await e.put(key).value(`${name}${i}`).exec();
              done.push({ type: 'put', key, value: `${name}${i}`, rev: Number(r.header.revision) });
            }
          }
          await e.put('unwatched').value(name).exec();
          return done;
        });
      const [a, b] = await Promise.all([writer('a', c().clientURLs[0]!), writer('b', c().clientURLs[1]!)]);
      const written = [...a, ...b].sort((x, y) => x.rev - y.rev);
      await waitFor(`${written.length} watch events`, () => seen.length >= written.length, { timeoutMs: 15_000 });
      expect(seen).toEqual(written);
      const revs = seen.map((s) => s.rev);
      expect(revs).toEqual([...new Set(revs)].sort((x, y) => x - y));
    } finally {
      await watcher.cancel();
    }
  });

  it('leases: grant, attach, keepalive, TTL, expiry, revoke', async () => {
    const kept = etcd().lease(3);
    const unkept = etcd().lease(3, { autoKeepAlive: false });
    const [keptId, unkeptId] = await Promise.all([kept.grant(), unkept.grant()]);
    const grantedAt = Date.now();
    let renewals = 0;
    kept.on('keepaliveSucceeded', () => renewals++);
    try {
      await kept.put('l/kept').value('k').exec();
      await unkept.put('l/unkept').value('u').exec();

      const ttl = await etcd().leaseClient.leaseTimeToLive({ ID: keptId, keys: true });
      expect(ttl.grantedTTL).toBe('3');
      expect(Number(ttl.TTL)).toBeGreaterThan(0);
      expect(Number(ttl.TTL)).toBeLessThanOrEqual(3);
      expect(ttl.keys.map((k) => k.toString())).toEqual(['l/kept']);
      const once = await unkept.keepaliveOnce();
      expect(once).toMatchObject({ ID: unkeptId, TTL: '3' });

      const listed = (await etcd().leaseClient.leaseLeases()).leases.map((l) => l.ID);
      expect(listed).toEqual(expect.arrayContaining([keptId, unkeptId]));

      // Past the TTL the lease without keep-alives is gone with its key; the other one lives on.
      await waitFor('the unkept lease to expire', async () => (await etcd().get('l/unkept').string()) === null, { timeoutMs: 20_000, intervalMs: 250 });
      await waitFor('keep-alives past the TTL', () => renewals >= 2 && Date.now() - grantedAt > 4_000, { timeoutMs: 20_000 });
      expect(kept.revoked()).toBe(false);
      expect(await etcd().get('l/kept').string()).toBe('k');
      expect((await etcd().leaseClient.leaseTimeToLive({ ID: unkeptId })).TTL).toBe('-1');

      await kept.revoke();
      expect(await etcd().get('l/kept').string()).toBeNull();
      expect((await etcd().leaseClient.leaseTimeToLive({ ID: keptId })).TTL).toBe('-1');
      const after = (await etcd().leaseClient.leaseLeases()).leases.map((l) => l.ID);
      expect(after).not.toContain(keptId);
      expect(after).not.toContain(unkeptId);
    } finally {
      kept.release();
      unkept.release();
    }
  });

  it('every member serves Put, Range and Txn past grpc-js (direct-unary.ts): none logs that it fell back', () => {
    for (const m of c().members) {
      const log = readFileSync(c().logPath(m.name), 'utf8');
      expect(log).toContain('bootstrapped a new cluster');
      expect(log).not.toContain('served through grpc-js');
    }
  });

  it('cluster.memberList lists the three members', async () => {
    const res = await etcd().cluster.memberList({});
    const members = res.members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner }));
    expect(members.sort((x, y) => x.name.localeCompare(y.name))).toEqual(
      c().members.map((m) => ({ name: m.name, peerURLs: [m.peerURL], clientURLs: [m.clientURL], isLearner: false })),
    );
    expect(new Set(res.members.map((m) => m.ID)).size).toBe(3);
  });

  it('maintenance.status on each member: one leader, the same for all', async () => {
    const all = await waitFor('the members to agree on a leader', async () => {
      const s = await statuses();
      const leader = s[0]?.leader;
      return leader !== undefined && leader !== '0' && s.every((x) => x.leader === leader && x.raftTerm === s[0]!.raftTerm) ? s : undefined;
    });
    const ids = (await etcd().cluster.memberList({})).members.map((m) => m.ID).sort();
    expect(all.map((s) => s.header.member_id).sort()).toEqual(ids);
    expect(all.filter((s) => s.header.member_id === s.leader)).toHaveLength(1);
    for (const s of all) {
      expect(s.version).toMatch(/^3\.\d+\.\d+/);
      expect(Number(s.raftIndex)).toBeGreaterThan(0);
      expect(Number(s.dbSize)).toBeGreaterThan(0);
      expect(s.header.cluster_id).toBe(all[0]!.header.cluster_id);
    }
  });

  it('compaction: a read at a compacted revision fails', async () => {
    const r1 = await put('cp/k', 'v1');
    const r2 = await put('cp/k', 'v2');
    await put('cp/k', 'v3');
    await etcd().kv.compact({ revision: r2, physical: true });
    const err = await rejection(etcd().get('cp/k').revision(r1).string());
    expect(err).toBeInstanceOf(GRPCOutOfRangeError);
    expect(err.message).toContain('etcdserver: mvcc: required revision has been compacted');
    expect(await etcd().get('cp/k').revision(r2).string()).toBe('v2');
    expect(await etcd().get('cp/k').string()).toBe('v3');
  });

  describe('bad input', () => {
    it('an empty key: INVALID_ARGUMENT "key is not provided"', async () => {
      for (const call of [() => etcd().put('').value('v').exec(), () => etcd().get('').string()]) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(GRPCInvalidArgumentError);
        expect(err.message).toContain('etcdserver: key is not provided');
      }
    });

    it('a value over 1.5 MiB: "request is too large"', async () => {
      const err = await rejection(etcd().put('bad/big').value(Buffer.alloc(1_600_000, 'x')).exec());
      expect(err).toBeInstanceOf(GRPCInvalidArgumentError);
      expect(err.message).toContain('etcdserver: request is too large');
      expect(await etcd().get('bad/big').string()).toBeNull();
    });

    it('a txn with two puts of one key: "duplicate key given in txn request"', async () => {
      const op = (v: string) => ({ request_put: { key: Buffer.from('bad/dup'), value: Buffer.from(v) } });
      const err = await rejection(etcd().kv.txn({ compare: [], success: [op('1'), op('2')], failure: [] }));
      expect(err).toBeInstanceOf(GRPCInvalidArgumentError);
      expect(err.message).toContain('etcdserver: duplicate key given in txn request');
      expect(await etcd().get('bad/dup').string()).toBeNull();
    });

    it('a put with an unknown lease: "requested lease not found"', async () => {
      const err = await rejection(etcd().kv.put({ key: Buffer.from('bad/lease'), value: Buffer.from('v'), lease: '2052974026' }));
      expect(err).toBeInstanceOf(EtcdLeaseInvalidError);
      expect(err.message).toContain('etcdserver: requested lease not found');
    });

    it('a range at a future revision: "required revision is a future revision"', async () => {
      const now = Number((await etcd().get('bad/k').exec()).header.revision);
      const err = await rejection(etcd().get('bad/k').revision(now + 1_000_000).string());
      expect(err).toBeInstanceOf(GRPCOutOfRangeError);
      expect(err.message).toContain('etcdserver: mvcc: required revision is a future revision');
    });

    it('crashed no member: every member still answers', async () => {
      expect(c().deadMembers()).toEqual([]);
      const s = await statuses();
      expect(s).toHaveLength(3);
      for (const [i, url] of c().clientURLs.entries()) {
        const v = await withClient(url, async (e) => {
          await e.put(`bad/after/${i}`).value('ok').exec();
          return e.get(`bad/after/${i}`).string();
        });
        expect(v).toBe('ok');
      }
    });
  });
});
