/**
 * The fast-check properties alone (test/raft/properties.test.ts) must catch classic Raft bugs
 * planted in a copy of the core (test/sim/planted/bugs.ts): a vote granted without the log
 * up-to-date check, a leader committing an earlier term's entry by counting replicas (Figure 8),
 * and ReadIndex answered without a heartbeat round. Each bug runs the properties in a vitest
 * process of its own against its own patched copy of src/raft (two at a time, 20–40 s in all);
 * `npm run check:planted-bugs` prints the same check in full.
 */
import { describe, expect, it } from 'vitest';
import { AnchorMissing, PLANTED_BUGS, plantBug } from '../sim/planted/bugs.js';
import { checkBugs, describeResult } from '../sim/planted/check.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('planted bugs', () => {
  it('refuses to plant a bug whose anchor text is gone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftkube-anchor-'));
    try {
      writeFileSync(join(dir, 'raft.ts'), '// a core without the anchor text\n');
      expect(() => plantBug(dir, PLANTED_BUGS[0]!)).toThrow(AnchorMissing);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the fast-check properties catch every planted bug on their own', async () => {
    const results = await checkBugs(PLANTED_BUGS, { concurrency: 2, timeoutMs: 8 * 60_000 });
    const report = results.flatMap(describeResult).join('\n');
    expect(results.map((r) => r.bug)).toEqual(PLANTED_BUGS.map((b) => b.name));
    for (const r of results) expect(r.caught, report).toBe(true);
  }, 10 * 60_000);
});
