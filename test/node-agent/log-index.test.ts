/**
 * log-index: the times of log lines that `kubectl logs --since/--since-time/--timestamps`
 * need — the indexer's records on an injected clock, line times as upper bounds, rotation,
 * and the log server answering with them.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogIndexer, indexPathOf, readIndex, timeOfByte } from '../../src/node-agent/log-index.js';
import { logQuery, startLogServer, timedLines } from '../../src/node-agent/log-server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function podLog(): { dataDir: string; log: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'raftkube-logidx-'));
  dirs.push(dataDir);
  const dir = join(dataDir, 'pods', 'default_web_uid-1', 'app');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(dataDir, 'pods', 'default_web_uid-1', 'volumes', 'cache'), { recursive: true });
  return { dataDir, log: join(dir, '0.log') };
}

const T0 = Date.parse('2026-11-30T10:00:00.000Z');

describe('log index', () => {
  it('records the size each time the newest log grew, and nothing when it did not', () => {
    const { dataDir, log } = podLog();
    let now = T0;
    const ix = new LogIndexer(dataDir, () => now);
    writeFileSync(log, 'one\n');
    ix.scan();
    now += 1000;
    ix.scan();
    appendFileSync(log, 'two\nthree\n');
    now += 1000;
    ix.scan();
    expect(readIndex(log)).toEqual([
      { offset: 4, timeMs: T0 },
      { offset: 14, timeMs: T0 + 2000 },
    ]);
    // A newer run is the one indexed from then on.
    writeFileSync(join(log, '..', '1.log'), 'again\n');
    ix.scan();
    expect(readIndex(join(log, '..', '1.log'))).toEqual([{ offset: 6, timeMs: T0 + 2000 }]);
    expect(readIndex(log)).toHaveLength(2);
  });

  it('continues an index left by an earlier agent, and starts afresh after a rotation', () => {
    const { dataDir, log } = podLog();
    writeFileSync(log, 'a\nb\n');
    writeFileSync(indexPathOf(log), `4 ${T0}\n`);
    let now = T0 + 5000;
    const ix = new LogIndexer(dataDir, () => now);
    ix.scan();
    expect(readIndex(log)).toEqual([{ offset: 4, timeMs: T0 }]);
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, 'c\n');
    now += 1000;
    ix.scan();
    expect(readIndex(`${log}.1`)).toEqual([{ offset: 4, timeMs: T0 }]);
    expect(readIndex(log)).toEqual([{ offset: 2, timeMs: T0 + 6000 }]);
  });

  it('dates a byte by the first record that covers it, or by the reading time', () => {
    const ix = [
      { offset: 4, timeMs: 10 },
      { offset: 14, timeMs: 20 },
    ];
    expect(timeOfByte(ix, 1, 99)).toBe(10);
    expect(timeOfByte(ix, 4, 99)).toBe(10);
    expect(timeOfByte(ix, 5, 99)).toBe(20);
    expect(timeOfByte(ix, 15, 99)).toBe(99);
    expect(timeOfByte([], 1, 99)).toBe(99);
  });

  it('filters by time, then tails, then stamps', () => {
    const text = Buffer.from('one\ntwo\nthree\nfour');
    const ix = [
      { offset: 4, timeMs: T0 },
      { offset: 14, timeMs: T0 + 2000 },
    ];
    const now = T0 + 9000;
    expect(timedLines(text, ix, now, { tail: -1, sinceMs: T0 + 1000, timestamps: false })).toBe('two\nthree\nfour');
    expect(timedLines(text, ix, now, { tail: 1, sinceMs: T0 + 1000, timestamps: false })).toBe('four');
    expect(timedLines(text, ix, now, { tail: -1, sinceMs: now + 1, timestamps: false })).toBe('');
    expect(timedLines(text, ix, now, { tail: 2, sinceMs: undefined, timestamps: true })).toBe('2026-11-30T10:00:02.000Z three\n2026-11-30T10:00:09.000Z four');
  });

  it('reads the query and refuses nonsense with a reason', () => {
    const q = (s: string): ReturnType<typeof logQuery> => logQuery(new URLSearchParams(s), T0);
    expect(q('sinceSeconds=5&timestamps=true')).toEqual({ ok: true, value: { tail: -1, limit: 0, sinceMs: T0 - 5000, timestamps: true } });
    expect(q('sinceTime=2026-11-30T09:00:00Z')).toMatchObject({ ok: true, value: { sinceMs: T0 - 3_600_000 } });
    expect(q('sinceSeconds=5&sinceTime=2026-11-30T09:00:00Z')).toEqual({ ok: false, error: 'at most one of sinceTime or sinceSeconds may be specified' });
    const yesterday = q('sinceTime=yesterday');
    expect(yesterday.ok ? '' : yesterday.error).toMatch(/RFC 3339/);
    const negative = q('tailLines=-1');
    expect(negative.ok ? '' : negative.error).toMatch(/tailLines must be/);
  });

  it('serves --since and --timestamps over HTTP from the index', async () => {
    const { dataDir, log } = podLog();
    writeFileSync(log, 'old\nnew\n');
    writeFileSync(indexPathOf(log), `4 ${T0}\n8 ${T0 + 60_000}\n`);
    const server = await startLogServer({ dataDir, token: 't', indexEveryMs: 0, now: () => T0 + 90_000 });
    try {
      const get = async (q: string): Promise<[number, string]> => {
        const r = await fetch(`http://127.0.0.1:${server.port}/containerLogs/default/web/app?${q}`, { headers: { authorization: 'Bearer t' } });
        return [r.status, await r.text()];
      };
      expect(await get('sinceSeconds=60')).toEqual([200, 'new\n']);
      expect(await get('sinceTime=2026-11-30T09:59:00Z')).toEqual([200, 'old\nnew\n']);
      expect(await get('timestamps=true&tailLines=1')).toEqual([200, '2026-11-30T10:01:00.000Z new\n']);
      expect(await get('sinceSeconds=x')).toEqual([400, 'sinceSeconds must be a non-negative whole number\n']);
      // The server indexes a log it serves, so bytes written since its last scan get a time too.
      expect(readFileSync(indexPathOf(log), 'utf8').trim().split('\n')).toHaveLength(2);
      appendFileSync(log, 'newest\n');
      expect(await get('sinceSeconds=1')).toEqual([200, 'newest\n']);
      expect(readIndex(log).at(-1)).toEqual({ offset: 15, timeMs: T0 + 90_000 });
    } finally {
      await server.close();
    }
  });
});
