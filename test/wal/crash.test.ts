// kill -9 at an arbitrary moment loses no acknowledged entry.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal } from '../../src/raft/wal/index.js';
import { crashData } from './fixtures/crash-data.js';
import { TempDirs } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const child = path.join(here, 'fixtures', 'crash-child.ts');

/** A small seeded generator (mulberry32): the kill points replay for a given seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  acks: Map<number, number>;
  snaps: number[];
  stderr: string;
  signal: NodeJS.Signals | null;
}

/** Runs the child until it has acknowledged `killAfter` entries, then SIGKILLs it. */
function runUntilKilled(dir: string, killAfter: number, mode: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const acks = new Map<number, number>();
    const snaps: number[] = [];
    let stderr = '';
    let partial = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s: string) => (stderr += s));
    proc.stdout.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!; // an unterminated line is not (yet) an acknowledgement
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ack') acks.set(Number(a), Number(b));
        else if (kind === 'snap') snaps.push(Number(a));
      }
      if (acks.size >= killAfter && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    proc.on('error', reject);
    proc.on('close', (_code, signal) => resolve({ acks, snaps, stderr, signal }));
  });
}

describe('crash (SIGKILL) recovery', () => {
  // `default`: the thread-pool mode; `sync-off-loop`: as members open their WAL.
  it.each(['default', 'sync-off-loop'])('recovers every acknowledged entry after kill -9 at random moments, round after round (%s)', async (mode) => {
    const seed = 20240611;
    const random = rng(seed);
    const dir = dirs.make();
    const acked = new Map<number, number>();
    for (let round = 0; round < 4; round++) {
      const killAfter = 50 + Math.floor(random() * 4000);
      const run = await runUntilKilled(dir, acked.size + killAfter, mode);
      expect(run.stderr, `seed ${seed} round ${round}`).toBe('');
      expect(run.signal, `the child died on its own: ${run.stderr}`).toBe('SIGKILL');
      for (const [index, term] of run.acks) acked.set(index, term);

      const { wal, state } = await Wal.open(dir);
      await wal.close();
      const base = state.snapshot?.index ?? 0;
      const byIndex = new Map(state.entries.map((e) => [e.index as number, e]));
      for (const [index, term] of acked) {
        if (index <= base) continue; // covered by the recorded snapshot
        const e = byIndex.get(index);
        expect(e, `seed ${seed} round ${round}: acknowledged entry ${index} is missing`).toBeDefined();
        expect(e!.term).toBe(term);
        expect(Buffer.from(e!.data).equals(Buffer.from(crashData(index, term)))).toBe(true);
      }
      expect(Math.max(...acked.keys())).toBeLessThanOrEqual(base + state.entries.length);
      for (const s of run.snaps) expect(base).toBeGreaterThanOrEqual(s);
    }
  });
});
