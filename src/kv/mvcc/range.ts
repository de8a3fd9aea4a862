/**
 * range: reads — etcd's Range with every RangeRequest option, at the current or a past revision.
 *
 * The index answers which revision of each key is visible, its create_revision, mod_revision
 * and version; values come from the backend in one batched read. Limit, filters, sort and
 * keys_only follow etcd's apply code (v3 applier `Range`): the limit is pushed down only when
 * nothing reorders or filters the result, `count` is the number of keys in range whatever the
 * limit and filters, and `more` says the limit cut the result.
 */

import { decodeKeyValue } from './codec.js';
import { newRevRecord } from './key-index.js';
import { EMPTY_BUFFER, forEachInSpan, keySpan, type MvccState } from './state.js';
import {
  errCompacted,
  errFutureRev,
  fail,
  ok,
  type KeyValue,
  type MvccResult,
  type RangeRequest,
  type RangeResult,
  type SortTarget,
} from './types.js';

interface Hit {
  readonly key: string;
  readonly main: number;
  readonly sub: number;
  readonly created: number;
  readonly version: number;
  /** lease is known when the hit is the key's latest record; undefined otherwise. */
  readonly lease: bigint | undefined;
}

/**
 * checkReadRevision resolves a requested revision (0 = current) against the store, as etcd's
 * rangeKeys does: above the current revision is a future revision, below the compacted one is
 * compacted (reading exactly at the compacted revision is allowed).
 */
function checkReadRevision(state: MvccState, requested: number, viewRev: number): MvccResult<number> {
  if (requested > viewRev) return fail(errFutureRev());
  const rev = requested <= 0 ? viewRev : requested;
  if (rev < state.compactedRev) return fail(errCompacted(state.compactedRev));
  return ok(rev);
}

function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

function sortKey(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => compareBytes(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version || compareBytes(a.key, b.key);
    case 'CREATE':
      return (a, b) => a.create_revision - b.create_revision || compareBytes(a.key, b.key);
    case 'MOD':
      return (a, b) => a.mod_revision - b.mod_revision || compareBytes(a.key, b.key);
    case 'VALUE':
      return (a, b) => compareBytes(a.value, b.value) || compareBytes(a.key, b.key);
    default: {
      const never: never = target;
      throw new Error(`Unknown sort target ${String(never)}`);
    }
  }
}

/**
 * rangeKeys serves a RangeRequest against `state` as seen at revision `viewRev` (the current
 * revision, or inside a write transaction the transaction's revision once it has written).
 */
export function rangeKeys(state: MvccState, req: RangeRequest, viewRev: number): MvccResult<RangeResult> {
  const checked = checkReadRevision(state, req.revision ?? 0, viewRev);
  if (!checked.ok) return checked;
  const rev = checked.value;

  const sortOrder0 = req.sort_order ?? 'NONE';
  const sortTarget = req.sort_target ?? 'KEY';
  const minMod = req.min_mod_revision ?? 0;
  const maxMod = req.max_mod_revision ?? 0;
  const minCreate = req.min_create_revision ?? 0;
  const maxCreate = req.max_create_revision ?? 0;
  const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
  const limit = Math.max(0, req.limit ?? 0);
  // etcd fetches everything when it must sort or filter, and one extra otherwise to set `more`.
  const fetchLimit = sortOrder0 !== 'NONE' || filtered ? 0 : limit > 0 ? limit + 1 : 0;

  const span = keySpan(req.key, req.range_end);
  const rec = newRevRecord();
  const hits: Hit[] = [];
  const countOnly = req.count_only === true;
  // At the latest revision the index keeps live counts per block: no need to walk the whole
  // range just to count it when only a page (or nothing) of it is returned.
  const counted = rev === viewRev && !span.single && (countOnly || fetchLimit > 0);
  let count = counted ? state.tree.countLive(span.start, span.end) : 0;
  if (countOnly && counted) return ok({ revision: viewRev, kvs: [], more: false, count });
  forEachInSpan(state, span, (ki) => {
    if (!ki.find(rev, rec)) return true;
    if (!counted) count++;
    if (countOnly) return true;
    if (fetchLimit > 0 && hits.length >= fetchLimit) return !counted;
    const latest = rec.main === ki.main && rec.sub === ki.sub;
    hits.push({ key: ki.key, main: rec.main, sub: rec.sub, created: rec.created, version: rec.version, lease: latest ? ki.lease : undefined });
    return true;
  });
  if (countOnly) return ok({ revision: viewRev, kvs: [], more: false, count });

  // Filters need only index data, so prune before reading values (etcd's pruneKVs).
  let selected = hits;
  if (filtered) {
    selected = hits.filter(
      (h) =>
        (maxMod === 0 || h.main <= maxMod) &&
        (minMod === 0 || h.main >= minMod) &&
        (maxCreate === 0 || h.created <= maxCreate) &&
        (minCreate === 0 || h.created >= minCreate),
    );
  }

  const keysOnly = req.keys_only === true;
  const needValues = !keysOnly || sortTarget === 'VALUE';
  let kvs: KeyValue[] = readKeyValues(state, selected, needValues);

  let sortOrder = sortOrder0;
  // Results come in ascending key order; etcd sorts ascending by default for other targets.
  if (sortTarget !== 'KEY' && sortOrder === 'NONE') sortOrder = 'ASCEND';
  if (sortOrder === 'ASCEND' && sortTarget !== 'KEY') kvs.sort(sortKey(sortTarget));
  else if (sortOrder === 'DESCEND') {
    if (sortTarget !== 'KEY') kvs.sort(sortKey(sortTarget));
    kvs.reverse();
  }

  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (keysOnly && needValues) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BUFFER }));
  return ok({ revision: viewRev, kvs, more, count });
}

/** readKeyValues turns index hits into KeyValues, reading values from the backend when needed. */
function readKeyValues(state: MvccState, hits: readonly Hit[], needValues: boolean): KeyValue[] {
  const out = new Array<KeyValue>(hits.length);
  const mains: number[] = [];
  const subs: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < hits.length; i++) {
    const h = hits[i] as Hit;
    if (!needValues && h.lease !== undefined) {
      // keys_only on a key's latest revision: the index knows everything but the value.
      out[i] = {
        key: Buffer.from(h.key, 'latin1'),
        create_revision: h.created,
        mod_revision: h.main,
        version: h.version,
        value: EMPTY_BUFFER,
        lease: h.lease,
      };
    } else {
      mains.push(h.main);
      subs.push(h.sub);
      at.push(i);
    }
  }
  if (at.length > 0) {
    const values = state.backend.getRevs(mains, subs);
    for (let j = 0; j < at.length; j++) {
      const kv = decodeKeyValue(values[j] as Buffer);
      out[at[j] as number] = needValues ? kv : { ...kv, value: EMPTY_BUFFER };
    }
  }
  return out;
}

/** readLatest returns the current KeyValue of each live KeyIndex given (values read in one batch). */
export function readLatest(state: MvccState, keys: readonly { main: number; sub: number }[]): KeyValue[] {
  const values = state.backend.getRevs(
    keys.map((k) => k.main),
    keys.map((k) => k.sub),
  );
  return values.map((v) => decodeKeyValue(v));
}
