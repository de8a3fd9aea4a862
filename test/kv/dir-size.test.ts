/**
 * dir-size: the Status RPC's database size — the files under the store's directory, summed
 * without blocking, with a missing directory counting as empty.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirSize } from '../../src/kv/server/services/maintenance-service.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-dirsize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dirSize', () => {
  it('sums the files in a directory tree', async () => {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'x'), Buffer.alloc(100));
    writeFileSync(join(dir, 'a', 'y'), Buffer.alloc(20));
    writeFileSync(join(dir, 'a', 'b', 'z'), Buffer.alloc(3));
    expect(await dirSize(dir)).toBe(123);
  });

  it('counts a directory that is not there as empty', async () => {
    expect(await dirSize(join(dir, 'gone'))).toBe(0);
  });
});
