/**
 * log-index: when each part of a container's log was written, for `kubectl logs --since`,
 * `--since-time` and `--timestamps`. A container writes its output straight into its log file
 * (no pipe through the agent, so it outlives an agent restart), which leaves the lines without
 * times. The indexer stats the newest log of every container every half second and, when the
 * file grew, appends "<size> <unix ms>" to `<restart>.log.idx` beside it: every byte below
 * <size> had been written by that time. A line's time is thus known to within one scan (an
 * upper bound, never earlier than the truth), and lines the indexer has not seen yet are
 * stamped with the time they are read. A log emptied by rotation starts a fresh index (the old
 * one moves to `<restart>.log.1.idx`, beside the rotated copy).
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** IndexEntry says the log was `offset` bytes long at `timeMs`. */
export interface IndexEntry {
  readonly offset: number;
  readonly timeMs: number;
}

/** indexPathOf is where the index of a log file lives. */
export function indexPathOf(logPath: string): string {
  return `${logPath}.idx`;
}

/** readIndex reads a log's index (empty when there is none); malformed lines are skipped. */
export function readIndex(logPath: string): IndexEntry[] {
  const p = indexPathOf(logPath);
  if (!existsSync(p)) return [];
  const out: IndexEntry[] = [];
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m !== null) out.push({ offset: Number(m[1]), timeMs: Number(m[2]) });
  }
  return out;
}

/**
 * timeOfByte is when the byte just before `end` had been written by: the time of the first
 * entry whose offset reaches `end`, or `fallbackMs` (the time of reading) when none does yet.
 */
export function timeOfByte(entries: readonly IndexEntry[], end: number, fallbackMs: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.offset >= end) hi = mid;
    else lo = mid + 1;
  }
  return lo < entries.length ? entries[lo]!.timeMs : fallbackMs;
}

/** LogIndexer keeps the indexes of one node's container logs current. */
export class LogIndexer {
  readonly #root: string;
  readonly #now: () => number;
  /** last size indexed per log file. */
  readonly #sizes = new Map<string, number>();

  constructor(dataDir: string, now: () => number = Date.now) {
    this.#root = join(dataDir, 'pods');
    this.#now = now;
  }

  /** scan indexes every container's newest log once. */
  scan(): void {
    if (!existsSync(this.#root)) return;
    const seen = new Set<string>();
    for (const pod of entries(this.#root, 'dir')) {
      for (const container of entries(join(this.#root, pod), 'dir')) {
        const dir = join(this.#root, pod, container);
        const runs = entries(dir, 'file')
          .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
          .filter((x): x is string => x !== undefined)
          .map(Number);
        if (runs.length === 0) continue;
        const path = join(dir, `${Math.max(...runs)}.log`);
        seen.add(path);
        this.scanFile(path);
      }
    }
    for (const p of [...this.#sizes.keys()]) if (!seen.has(p)) this.#sizes.delete(p);
  }

  /** scanFile records a log's current size when it changed since the last look. */
  scanFile(path: string): void {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    let last = this.#sizes.get(path);
    if (last === undefined) {
      // First look since this agent started: continue the index on disk when there is one.
      last = readIndex(path).at(-1)?.offset ?? -1;
    }
    if (size === last) return;
    try {
      if (size < last) {
        // Rotated (copied aside, then emptied): the old index belongs to the copy now.
        renameSync(indexPathOf(path), indexPathOf(`${path}.1`));
      }
      appendFileSync(indexPathOf(path), `${size} ${this.#now()}\n`);
      this.#sizes.set(path, size);
    } catch {
      // The pod's directory went away meanwhile.
    }
  }
}

function entries(dir: string, kind: 'dir' | 'file'): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => (kind === 'dir' ? e.isDirectory() : e.isFile()))
      .map((e) => e.name);
  } catch {
    return [];
  }
}
