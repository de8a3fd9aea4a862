/**
 * records: what a kv member reads back from disk outside the Raft log — its WAL metadata, the
 * member registry, lease records and the MVCC meta values — is decoded field by field. A damaged
 * record fails with a typed error naming where it was read and what is wrong, never a TypeError
 * or RangeError from deep inside, and never a silent zero. Also: a member that joined a running
 * cluster restarts as the member its WAL names, and a data directory of another member is
 * refused with an error naming --data-dir.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { nodeId } from '../../src/raft/types.js';
import { Wal } from '../../src/raft/wal/index.js';
import { readSnapshotMeta, RecordFormatError, snapshotMetaSize, writeSnapshotMeta } from '../../src/raft/wal/record.js';
import { logIndex, term, type NodeId } from '../../src/raft/types.js';
import { CodecError, MvccStore } from '../../src/kv/mvcc/index.js';
import { Rocks } from '../../src/kv/mvcc/rocks.js';
import { metaKey } from '../../src/kv/mvcc/revision.js';
import { META_CONSISTENT_INDEX } from '../../src/kv/mvcc/backend.js';
import { KvStateMachine } from '../../src/kv/server/state-machine.js';
import { CorruptRecordError, decodeLeaseRecord, decodeMemberRecord, decodeWalMeta, encodeLeaseKey, encodeLeaseValue, encodeWalMeta } from '../../src/kv/server/records.js';
import { ConfigError, type MemberConfig } from '../../src/kv/member/config.js';
import { startMember } from '../../src/kv/member/member.js';
import { TempDirs } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function machine(store: MvccStore): KvStateMachine {
  return new KvStateMachine({ store, now: () => 0, restoreSnapshot: () => Promise.resolve(), onStorageError: () => undefined });
}

describe('WAL metadata', () => {
  it('round-trips', () => {
    const meta = { memberId: nodeId(0xabc), clusterId: '123456789' };
    expect(decodeWalMeta(encodeWalMeta(meta), '/d/wal')).toEqual(meta);
  });

  it.each([
    ['not JSON', Buffer.from('{"memberId": 1'), /not JSON/],
    ['not an object', json([1, 2]), /expected a JSON object/],
    ['no member ID', json({ clusterId: '1' }), /metadata\.memberId: expected a member ID/],
    ['member 0', json({ memberId: 0, clusterId: '1' }), /metadata\.memberId/],
    ['a member ID as a string', json({ memberId: '5', clusterId: '1' }), /metadata\.memberId/],
    ['a numeric cluster ID', json({ memberId: 5, clusterId: 1 }), /metadata\.clusterId: expected a string/],
    ['a cluster ID that is not decimal', json({ memberId: 5, clusterId: 'abc' }), /metadata\.clusterId: expected a decimal cluster ID/],
  ])('refuses %s, naming the WAL and the field', (_what, bytes, detail) => {
    const decode = (): unknown => decodeWalMeta(bytes, '/data/m1/member/wal');
    expect(decode).toThrow(CorruptRecordError);
    expect(decode).toThrow(/the WAL metadata of \/data\/m1\/member\/wal/);
    expect(decode).toThrow(detail);
  });
});

describe('WAL snapshot metadata', () => {
  it('refuses a membership list naming node 0', () => {
    const meta = { index: logIndex(5), term: term(2), confState: { voters: [nodeId(1), 0 as NodeId], learners: [] } };
    const buf = new Uint8Array(snapshotMetaSize(meta));
    writeSnapshotMeta(buf, 0, meta);
    expect(() => readSnapshotMeta(buf, 0, buf.length)).toThrow(RecordFormatError);
    expect(() => readSnapshotMeta(buf, 0, buf.length)).toThrow(/voter list names node 0/);
    const ok = { ...meta, confState: { voters: [nodeId(1), nodeId(2)], learners: [] } };
    writeSnapshotMeta(buf, 0, ok);
    expect(readSnapshotMeta(buf, 0, buf.length).meta).toEqual(ok);
  });
});

describe('member registry records', () => {
  const good = { id: 5, name: 'm5', peerURLs: ['http://a:1'], clientURLs: [], isLearner: false };

  it('decodes a good record and checks it against its key', () => {
    expect(decodeMemberRecord(Buffer.from('5'), json(good), 'members')).toEqual({ ...good, id: nodeId(5) });
    expect(() => decodeMemberRecord(Buffer.from('6'), json(good), 'members')).toThrow(/key "6".*of member 5, not of its key/);
  });

  it.each([
    ['not JSON', Buffer.from('{"id": 5,'), /not JSON/],
    ['peer URLs that are not a list', json({ ...good, peerURLs: 'http://a:1' }), /member\.peerURLs: expected a list of URLs/],
    ['a URL that is not a string', json({ ...good, clientURLs: [7] }), /member\.clientURLs\[0\]: expected a string/],
    ['no learner flag', json({ ...good, isLearner: undefined }), /member\.isLearner: expected a boolean/],
    ['member 0', json({ ...good, id: 0 }), /member\.id: expected a member ID/],
  ])('refuses %s, naming the bucket, key and field', (_what, bytes, detail) => {
    const decode = (): unknown => decodeMemberRecord(Buffer.from('5'), bytes, 'members');
    expect(decode).toThrow(CorruptRecordError);
    expect(decode).toThrow(/the members bucket, key "5"/);
    expect(decode).toThrow(detail);
  });

  it('stops the state machine from loading a damaged registry with a clear error', async () => {
    const store = await dirs.open();
    store.auxPut('members', Buffer.from('5'), Buffer.from('{"id": 5, "name": "m5", "peerURLs": nul'));
    expect(() => machine(store)).toThrow(CorruptRecordError);
    expect(() => machine(store)).toThrow(/Corrupt record in the members bucket, key "5": not JSON/);
  });
});

describe('lease records', () => {
  it('round-trips and refuses records of the wrong size', async () => {
    expect(decodeLeaseRecord(encodeLeaseKey(-5n), encodeLeaseValue(2 ** 40), 'lease')).toEqual({ id: -5n, ttl: 0xffffffff });
    expect(() => decodeLeaseRecord(Buffer.of(1, 2), encodeLeaseValue(5), 'lease')).toThrow(/lease bucket, key 0102: the key is 2 bytes, a lease ID is 8/);
    expect(() => decodeLeaseRecord(encodeLeaseKey(1n), Buffer.of(1), 'lease')).toThrow(/the value is 1 bytes, a lease TTL is 4/);

    const store = await dirs.open();
    store.auxPut('lease', encodeLeaseKey(9n), Buffer.of(0, 1));
    expect(() => machine(store)).toThrow(CorruptRecordError);
  });
});

describe('MVCC meta values', () => {
  it('refuses a consistent index of the wrong size instead of reading it as 0', async () => {
    const dir = join(await dirs.dir(), 'db');
    const store = await MvccStore.open(dir);
    await store.close();
    const db = await Rocks.open(dir);
    db.write([{ key: metaKey(META_CONSISTENT_INDEX), value: Buffer.of(0, 0, 7) }], true);
    await db.close();
    const open = MvccStore.open(dir);
    await expect(open).rejects.toBeInstanceOf(CodecError);
    await expect(open).rejects.toThrow(/meta consistent_index: 3 bytes, want 8/);
  });
});

describe('a member starting on its data directory', () => {
  const silent = pino({ level: 'silent' });

  async function dataDirWithWal(metadata: Uint8Array): Promise<string> {
    const dataDir = await dirs.dir();
    const walDir = join(dataDir, 'member', 'wal');
    await mkdir(walDir, { recursive: true });
    const { wal } = await Wal.open(walDir, { metadata });
    await wal.close();
    return dataDir;
  }

  function config(dataDir: string, state: 'new' | 'existing'): MemberConfig {
    return {
      name: 'm1',
      dataDir,
      listenClientURLs: ['http://127.0.0.1:0'],
      advertiseClientURLs: ['http://127.0.0.1:0'],
      listenPeerURLs: ['http://127.0.0.1:0'],
      initialCluster: [{ name: 'm1', peerURLs: ['http://127.0.0.1:1'] }],
      initialClusterState: state,
      initialClusterToken: 'records-test',
      heartbeatMs: 100,
      electionMs: 1000,
      maxRequestBytes: 1024 * 1024,
      snapshotCount: 1000,
      maxTxnOps: 128,
    };
  }

  it('refuses WAL metadata that does not decode, naming the WAL', async () => {
    const dataDir = await dataDirWithWal(Buffer.from('{"memberId": "one", "clusterId": "1"}'));
    const start = startMember(config(dataDir, 'new'), silent);
    await expect(start).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(start).rejects.toThrow(/WAL metadata of .*member\/wal: metadata\.memberId: expected a member ID \(a positive integer\), got "one"/);
  });

  it('restarts a member that joined a running cluster as the member its WAL names', async () => {
    // MemberAdd gave it an ID of the cluster's choosing, not the one its flags would derive.
    const dataDir = await dataDirWithWal(encodeWalMeta({ memberId: nodeId(0x1234), clusterId: '77' }));
    const m = await startMember(config(dataDir, 'existing'), silent);
    try {
      expect(m.id).toBe(0x1234);
      expect(m.clusterId).toBe('77');
    } finally {
      await m.stop();
    }
  });

  it('refuses another member\'s data directory for a member of the initial cluster, naming --data-dir', async () => {
    const dataDir = await dataDirWithWal(encodeWalMeta({ memberId: nodeId(0x1234), clusterId: '77' }));
    const start = startMember(config(dataDir, 'new'), silent);
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/holds member 1234 of cluster 77, but --name and --initial-cluster make this member/);
  });
});
