/**
 * store: with no member reachable every call comes back as an `unavailable` error value within
 * its bounds, never a hang or a throw; and local checks (size, tokens) refuse bad input early.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../../src/control-plane/storage/store.js';

/** deadPort is a loopback port nothing listens on (a server's, just closed). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('No port');
  return addr.port;
}

describe('ObjectStore without a reachable cluster', () => {
  let store: ObjectStore;
  beforeAll(async () => {
    const p1 = await deadPort();
    const p2 = await deadPort();
    store = new ObjectStore([`http://127.0.0.1:${p1}`, `127.0.0.1:${p2}`], { retryMs: 300, deadlineMs: 2_000, maxObjectBytes: 1_000 });
  });
  afterAll(() => store.close());

  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'a', name: 'b' } };

  it('returns unavailable as a value from every call', async () => {
    const results = await Promise.all([
      store.get('/registry/core/configmaps/a/b'),
      store.create('/registry/core/configmaps/a/b', obj),
      store.update('/registry/core/configmaps/a/b', obj, 5),
      store.delete('/registry/core/configmaps/a/b'),
      store.list('/registry/core/configmaps/'),
      store.currentRevision(),
    ]);
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.kind).toBe('unavailable');
        expect(r.error.message).toMatch(/^The etcd cluster is unavailable/);
      }
    }
  });

  it('refuses an object over the size limit before calling etcd', async () => {
    const big = { ...obj, data: { x: 'y'.repeat(2_000) } };
    const r = await store.create('/registry/core/configmaps/a/big', big);
    expect(!r.ok && r.error.kind).toBe('too-large');
  });

  it('refuses a bad continue token or one from another list', async () => {
    const bad = await store.list('/registry/core/configmaps/', { continueKey: 'nonsense' });
    expect(!bad.ok && bad.error.kind).toBe('invalid');
    const other = store.continueToken(5, '/registry/core/secrets/a/b');
    const r = await store.list('/registry/core/configmaps/', { continueKey: other });
    expect(!r.ok && r.error.message).toMatch(/another list/);
  });
});
