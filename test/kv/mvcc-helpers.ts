// mvcc-helpers: shared fixtures for the MVCC and watch tests — temp stores and small shorthands.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore, type KeyValue, type MvccResult, type MvccStoreOptions } from '../../src/kv/mvcc/index.js';

/** b turns a string into bytes. */
export function b(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** unwrap returns a result's value or fails the test with its error. */
export function unwrap<T>(r: MvccResult<T>): T {
  if (!r.ok) throw new Error(`unexpected MVCC error: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** PlainKv is a KeyValue with strings, easy to compare with toEqual. */
export interface PlainKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: bigint;
}

/** plain converts KeyValues for assertions. */
export function plain(kvs: readonly KeyValue[]): PlainKv[] {
  return kvs.map((kv) => ({
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    create: kv.create_revision,
    mod: kv.mod_revision,
    version: kv.version,
    lease: kv.lease,
  }));
}

/** keys lists the keys of KeyValues as strings. */
export function keys(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => kv.key.toString('utf8'));
}

/** dump reads every key at every readable revision, plus the lease attachments. */
export function dump(s: MvccStore): string {
  const out: string[] = [`rev ${s.currentRevision} compacted ${s.compactedRevision} keys ${s.keyCount}`];
  for (let rev = Math.max(1, s.compactedRevision); rev <= s.currentRevision; rev++) {
    const r = s.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision: rev });
    if (!r.ok) throw new Error(r.error.message);
    out.push(`${rev}: ${r.value.kvs.map((kv) => `${kv.key.toString('hex')}=${kv.value.toString('hex')} c${kv.create_revision} m${kv.mod_revision} v${kv.version} l${kv.lease}`).join(' ')} count ${r.value.count}`);
  }
  // A limited Range counts through the index's per-block live counts rather than a walk.
  const limited = s.range({ key: Buffer.of(0), range_end: Buffer.of(0), limit: 1 });
  if (!limited.ok) throw new Error(limited.error.message);
  out.push(`live count ${limited.value.count}`);
  for (const lease of s.attachedLeases().sort()) out.push(`lease ${lease}: ${s.leaseKeys(lease).map((k) => k.toString('hex')).join(',')}`);
  return out.join('\n');
}

/** TempDirs hands out directories under os.tmpdir() and removes them all at the end. */
export class TempDirs {
  readonly #dirs: string[] = [];
  readonly #stores: MvccStore[] = [];

  /** dir creates a fresh empty directory. */
  async dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'raftkube-mvcc-'));
    this.#dirs.push(d);
    return d;
  }

  /** open opens a store in `dir` (a fresh one if omitted) and closes it at cleanup. */
  async open(dir?: string, options?: MvccStoreOptions): Promise<MvccStore> {
    const store = await MvccStore.open(dir ?? join(await this.dir(), 'db'), options);
    this.#stores.push(store);
    return store;
  }

  /** track closes `store` at cleanup. */
  track(store: MvccStore): MvccStore {
    this.#stores.push(store);
    return store;
  }

  /** cleanup closes every store and removes every directory. */
  async cleanup(): Promise<void> {
    for (const s of this.#stores.splice(0)) await s.close();
    for (const d of this.#dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}
