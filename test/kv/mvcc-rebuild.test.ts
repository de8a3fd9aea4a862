// mvcc-rebuild: the index rebuilt on open — on this thread, from packed chunks, and on a worker
// thread (run from the built dist/, as the member runs it) — equals the index before the close.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MvccStore } from '../../src/kv/mvcc/index.js';
import { IndexBuilder, packRows } from '../../src/kv/mvcc/rebuild.js';
import { Backend } from '../../src/kv/mvcc/backend.js';
import { REPO_ROOT } from '../integration/harness.js';
import { b, dump, TempDirs } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** history writes puts (some leased, some keys out of key order), deletes, re-creations and a compaction. */
function history(s: MvccStore): void {
  for (let i = 0; i < 300; i++) s.put({ key: b(`k${String((i * 37) % 101).padStart(3, '0')}`), value: b(`v${i}`), lease: i % 4 === 0 ? BigInt(1000 + (i % 3)) : 0n });
  for (let i = 0; i < 101; i += 7) s.deleteRange({ key: b(`k${String(i).padStart(3, '0')}`) });
  s.txn({ compare: [], success: [{ request_put: { key: b('k014'), value: b('again') } }, { request_delete_range: { key: b('k020') } }], failure: [] });
  s.compact(200);
  for (let i = 0; i < 50; i++) s.put({ key: b(`z${i}`), value: b('tail'), lease: 0n });
  s.deleteRange({ key: b('z0'), range_end: b('z2') });
  // A key with a large lease ID (past 2^53) and a key of every byte value.
  s.put({ key: b('big'), value: b('x'), lease: 0x694d7b8c1a4e0b12n });
  s.put({ key: Buffer.from([0, 1, 127, 128, 255]), value: b('bytes'), lease: 0n });
}

async function storeWithHistory(): Promise<{ dir: string; before: string }> {
  const dir = join(await dirs.dir(), 'db');
  const s = await MvccStore.open(dir);
  history(s);
  s.setConsistentIndex(77);
  await s.commit({ sync: true });
  const before = dump(s);
  await s.close();
  return { dir, before };
}

describe('index rebuild', () => {
  test('reopening on this thread rebuilds the same index, leases and revisions', async () => {
    const { dir, before } = await storeWithHistory();
    const s = await dirs.open(dir, { rebuildOn: 'this-thread' });
    expect(s.recovery.via).toBe('this thread');
    expect(s.recovery.keys).toBe(s.keyCount);
    expect(s.consistentIndex).toBe(77);
    expect(dump(s)).toBe(before);
  });

  test('rows packed into chunks (what the worker posts) build the same index as rows added directly', async () => {
    const { dir } = await storeWithHistory();
    const backend = await Backend.open(dir);
    const direct = new IndexBuilder();
    const packed = new IndexBuilder();
    try {
      // Small batches, so chunk boundaries fall inside one revision's rows too.
      backend.scanKeyBucketRows(7, (rows) => {
        direct.addRows(rows);
        packed.addChunk(packRows(rows));
      });
    } finally {
      await backend.close();
    }
    expect(packed.revisions).toBe(direct.revisions);
    const a = direct.finish();
    const c = packed.finish();
    expect(c.lastRevision).toBe(a.lastRevision);
    const records = (t: typeof a.tree): string[] => {
      const out: string[] = [];
      t.forEach((ki) => out.push(`${ki.key} ${ki.main} ${ki.subT} ${ki.created} ${ki.ver} ${ki.lease} ${JSON.stringify(ki.older)}`));
      return out;
    };
    expect(records(c.tree)).toEqual(records(a.tree));
    expect(c.tree.countLive('', null)).toBe(a.tree.countLive('', null));
    expect([...c.leases.keys()].sort()).toEqual([...a.leases.keys()].sort());
  });

  test('where no worker can run (TypeScript sources under the test runner), rebuildOn worker falls back to this thread', async () => {
    const { dir, before } = await storeWithHistory();
    const s = await dirs.open(dir, { rebuildOn: 'worker' });
    expect(s.recovery.via).toBe('this thread');
    expect(dump(s)).toBe(before);
  });

  test('the built store scans on a worker thread and rebuilds the same index', async () => {
    const { dir, before } = await storeWithHistory();
    // The member runs from dist/ (built by the test setup); a worker can load compiled modules there.
    const script = `
      const { MvccStore } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'kv', 'mvcc', 'index.js'))});
      const s = await MvccStore.open(${JSON.stringify(dir)}, { rebuildOn: 'worker' });
      const out = [\`rev \${s.currentRevision} compacted \${s.compactedRevision} keys \${s.keyCount}\`];
      for (let rev = Math.max(1, s.compactedRevision); rev <= s.currentRevision; rev++) {
        const r = s.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision: rev });
        out.push(\`\${rev}: \${r.value.kvs.map((kv) => \`\${kv.key.toString('hex')}=\${kv.value.toString('hex')} c\${kv.create_revision} m\${kv.mod_revision} v\${kv.version} l\${kv.lease}\`).join(' ')} count \${r.value.count}\`);
      }
      out.push(\`live count \${s.range({ key: Buffer.of(0), range_end: Buffer.of(0), limit: 1 }).value.count}\`);
      for (const lease of s.attachedLeases().sort()) out.push(\`lease \${lease}: \${s.leaseKeys(lease).map((k) => k.toString('hex')).join(',')}\`);
      process.stdout.write(JSON.stringify({ via: s.recovery.via, ci: s.consistentIndex, dump: out.join('\\n') }));
      await s.close();
    `;
    // NB: a file, not --input-type=module -e: a worker inherits the parent's execArgv, and
    // --input-type stops it from loading its module file.
    const file = join(await dirs.dir(), 'open.mjs');
    await writeFile(file, script);
    const r = spawnSync(process.execPath, [file], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as { via: string; ci: number; dump: string };
    expect(got.via).toBe('worker');
    expect(got.ci).toBe(77);
    expect(got.dump).toBe(before);
    // The worker closed the database: this process can open it again.
    const s = await dirs.open(dir);
    expect(dump(s)).toBe(before);
  });
});
