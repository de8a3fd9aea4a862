/**
 * helpers: shared fixtures for the WAL tests — temporary directories, entry builders and a
 * plain view of entries that compares by value.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConfState, Entry, EntryType, HardState, LogIndex, NodeId, SnapshotMetadata, Term } from '../../src/raft/types.js';

/** TempDirs hands out fresh directories under os.tmpdir() and removes them all in cleanup(). */
export class TempDirs {
  readonly #dirs: string[] = [];

  /** make creates an empty directory. */
  make(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftkube-wal-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** cleanup removes every directory made so far. */
  cleanup(): void {
    for (const d of this.#dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** dataFor is the deterministic payload the tests store at an index. */
export function dataFor(index: number, size = 8): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (index * 31 + i * 7) & 0xff;
  return out;
}

/** ent builds an entry. */
export function ent(index: number, term: number, data: Uint8Array = dataFor(index), type: EntryType = 'normal'): Entry {
  return { index: index as LogIndex, term: term as Term, type, data };
}

/** ents builds entries [from, to] all of one term. */
export function ents(from: number, to: number, term: number, size = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term, dataFor(i + term * 1000, size)));
  return out;
}

/** hs builds a hard state. */
export function hs(term: number, vote: number, commit: number): HardState {
  return { term: term as Term, vote: vote as NodeId, commit: commit as LogIndex };
}

/** snap builds snapshot metadata. */
export function snap(index: number, term: number, conf: Partial<ConfState> = {}): SnapshotMetadata {
  return {
    index: index as LogIndex,
    term: term as Term,
    confState: { voters: conf.voters ?? [1 as NodeId, 2 as NodeId, 3 as NodeId], learners: conf.learners ?? [] },
  };
}

/** PlainEntry is an entry with its data as hex, for toEqual. */
export interface PlainEntry {
  index: number;
  term: number;
  type: EntryType;
  data: string;
}

/** plain turns entries into PlainEntry values. */
export function plain(entries: readonly Entry[]): PlainEntry[] {
  return entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}

/** walFiles lists the segment files of a WAL directory, oldest first. */
export function walFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort()
    .map((n) => path.join(dir, n));
}
