/**
 * state-machine: the simulated application — an append-only list of applied entries. Normal
 * entries are recorded by their data (client payloads are ASCII keys), conf changes by a tag;
 * empty normal entries are the leader's no-ops and are skipped. Its snapshot is the JSON list,
 * so a node restored from a snapshot has exactly the records it would have applied.
 */
import type { Entry, LogIndex, Snapshot, Term } from '../../src/raft/types.js';
import { logIndex, term } from '../../src/raft/types.js';
import { hex } from './trace.js';

/** AppliedRecord is one applied, non-empty entry. */
export interface AppliedRecord {
  readonly index: LogIndex;
  readonly term: Term;
  readonly key: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** entryKey is how the state machine names an entry's content ('' for a no-op). */
export function entryKey(e: Entry): string {
  if (e.type === 'conf-change') return `cc:${hex(e.data)}`;
  return decoder.decode(e.data);
}

/** payload encodes a client key as entry data. */
export function payload(key: string): Uint8Array {
  return encoder.encode(key);
}

/** ListStateMachine is the per-node application state. */
export class ListStateMachine {
  #records: AppliedRecord[] = [];
  #byIndex = new Map<number, AppliedRecord>();
  #byKey = new Map<string, AppliedRecord>();
  #applied: LogIndex = logIndex(0);

  /** appliedIndex is the index of the last entry applied (no-ops included). */
  get appliedIndex(): LogIndex {
    return this.#applied;
  }

  /** records lists the applied non-empty entries in order. */
  records(): readonly AppliedRecord[] {
    return this.#records;
  }

  /** at returns the record applied at `i`, if a non-empty entry was applied there. */
  at(i: number): AppliedRecord | undefined {
    return this.#byIndex.get(i);
  }

  /** find returns the first record applied with `key`, if any. */
  find(key: string): AppliedRecord | undefined {
    return this.#byKey.get(key);
  }

  /**
   * apply applies one committed entry and returns its record (null for a no-op). It throws if
   * the entry does not directly follow the last applied one: the core must deliver committed
   * entries in order, without gaps or repeats.
   */
  apply(e: Entry): AppliedRecord | null {
    if (e.index !== this.#applied + 1) {
      throw new Error(`Applied index ${e.index} after ${this.#applied}: committed entries must be contiguous`);
    }
    this.#applied = e.index;
    const key = entryKey(e);
    if (e.type === 'normal' && key === '') return null;
    const r: AppliedRecord = { index: e.index, term: e.term, key };
    this.#records.push(r);
    this.#byIndex.set(e.index, r);
    if (!this.#byKey.has(key)) this.#byKey.set(key, r);
    return r;
  }

  /** encode serialises the state for a snapshot. */
  encode(): Uint8Array {
    return encoder.encode(JSON.stringify(this.#records.map((r) => [r.index, r.term, r.key])));
  }

  /** restore replaces the state with a snapshot's. */
  restore(snap: Snapshot): void {
    this.#records = decodeRecords(snap.data);
    this.#byIndex = new Map(this.#records.map((r) => [r.index as number, r]));
    this.#byKey = new Map();
    for (const r of this.#records) if (!this.#byKey.has(r.key)) this.#byKey.set(r.key, r);
    this.#applied = snap.metadata.index;
  }
}

/** decodeRecords parses snapshot data written by ListStateMachine.encode (empty data = empty state). */
export function decodeRecords(data: Uint8Array): AppliedRecord[] {
  if (data.byteLength === 0) return [];
  const parsed: unknown = JSON.parse(decoder.decode(data));
  if (!Array.isArray(parsed)) throw new Error('Snapshot data is not a JSON array');
  return parsed.map((row: unknown) => {
    if (!Array.isArray(row) || typeof row[0] !== 'number' || typeof row[1] !== 'number' || typeof row[2] !== 'string') {
      throw new Error(`Malformed snapshot record ${JSON.stringify(row)}`);
    }
    return { index: logIndex(row[0]), term: term(row[1]), key: row[2] };
  });
}
