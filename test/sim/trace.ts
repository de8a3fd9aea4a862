/**
 * trace: the simulator's record of what happened, one line per event. Every line feeds a running
 * 64-bit hash (two FNV-1a lanes), so two runs of one seed can be compared cheaply; the last lines
 * are kept for failure reports, and all of them when asked (replay tests compare full traces).
 */
import type { Entry, Message } from '../../src/raft/types.js';

/** TraceOptions chooses how much of the trace to keep in memory. */
export interface TraceOptions {
  /** keepAll keeps every line (for replay comparisons); otherwise only the last `tail` lines. */
  readonly keepAll?: boolean;
  /** tail is how many recent lines a failure report shows (default 60). */
  readonly tail?: number;
}

/** Trace hashes every recorded line and keeps a tail (or all) of them. */
export class Trace {
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193;
  #count = 0;
  readonly #keepAll: boolean;
  readonly #tailSize: number;
  #lines: string[] = [];

  constructor(opts: TraceOptions = {}) {
    this.#keepAll = opts.keepAll ?? false;
    this.#tailSize = opts.tail ?? 60;
  }

  /** record appends one event line. */
  record(line: string): void {
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 13);
    }
    // NB: a separator, so "ab"+"c" and "a"+"bc" hash differently.
    this.#h1 = Math.imul(h1 ^ 0x0a, 0x01000193);
    this.#h2 = Math.imul(h2 ^ 0x0a, 0x5bd1e995);
    this.#count++;
    this.#lines.push(line);
    if (!this.#keepAll && this.#lines.length > this.#tailSize * 2) {
      this.#lines = this.#lines.slice(-this.#tailSize);
    }
  }

  /** hash is the running hash of every line recorded so far, as 16 hex digits. */
  get hash(): string {
    return (this.#h1 >>> 0).toString(16).padStart(8, '0') + (this.#h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** count is the number of lines recorded. */
  get count(): number {
    return this.#count;
  }

  /** lines returns the kept lines (all of them with keepAll). */
  lines(): readonly string[] {
    return this.#lines;
  }

  /** tail returns the last `n` lines as one string for an error message. */
  tail(n: number = this.#tailSize): string {
    return this.#lines.slice(-n).join('\n');
  }
}

/** describeEntries summarises entries as "[first..last]@terms". */
export function describeEntries(ents: readonly Entry[]): string {
  if (ents.length === 0) return '[]';
  const first = ents[0]!;
  const last = ents[ents.length - 1]!;
  return `[${first.index}..${last.index}]t${first.term}-${last.term}`;
}

/** describeMessage renders a message on one line with the fields that matter for its type. */
export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} i${m.index} lt${m.logTerm} c${m.commit} ${describeEntries(m.entries)}`;
    case 'app-resp':
      return `${head} i${m.index}${m.reject ? ` reject hint${m.rejectHint} lt${m.logTerm}` : ''}`;
    case 'vote':
    case 'pre-vote':
      return `${head} i${m.index} lt${m.logTerm}${m.force ? ' force' : ''}`;
    case 'vote-resp':
    case 'pre-vote-resp':
      return `${head}${m.reject ? ' reject' : ' grant'}`;
    case 'heartbeat':
      return `${head} c${m.commit}${m.context === null ? '' : ` ctx${hex(m.context)}`}`;
    case 'heartbeat-resp':
      return `${head}${m.context === null ? '' : ` ctx${hex(m.context)}`}`;
    case 'snap':
      return `${head} snap i${m.snapshot.metadata.index} t${m.snapshot.metadata.term}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx${hex(m.context)}`;
    case 'read-index-resp':
      return `${head} i${m.index} ctx${hex(m.context)}`;
    case 'prop':
      return `${head} n${m.entries.length}`;
  }
}

/** hex renders bytes as lowercase hex. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}
