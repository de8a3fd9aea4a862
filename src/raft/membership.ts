/**
 * membership: single-server membership changes (Raft thesis §4.1) — validating a change against
 * the current configuration, computing the next configuration, and the entry encoding of a change.
 */
import type { ConfChange, ConfState, NodeId } from './types.js';
import { nodeId } from './types.js';

/** ConfChangeCheck is the verdict on a proposed change. */
export type ConfChangeCheck = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** LearnerCatchUp tells validateConfChange how far behind a learner may be and still be promoted. */
export interface LearnerCatchUp {
  readonly match: (id: NodeId) => number | undefined;
  readonly lastIndex: number;
  /** maxLag is the largest number of entries a learner may lag behind and still be promoted. */
  readonly maxLag: number;
}

/** validateConfChange decides whether `cc` is a valid next step from `conf`. */
export function validateConfChange(conf: ConfState, cc: ConfChange, catchUp: LearnerCatchUp | null): ConfChangeCheck {
  const isVoter = conf.voters.includes(cc.nodeId);
  const isLearner = conf.learners.includes(cc.nodeId);
  switch (cc.type) {
    case 'add-learner':
      if (isVoter) return { ok: false, detail: `Member ${cc.nodeId} is already a voter; remove it first to re-add it as a learner` };
      if (isLearner) return { ok: false, detail: `Member ${cc.nodeId} is already a learner` };
      return { ok: true };
    case 'add-voter':
      if (isVoter) return { ok: false, detail: `Member ${cc.nodeId} is already a voter` };
      return { ok: true };
    case 'promote': {
      if (!isLearner) return { ok: false, detail: `Member ${cc.nodeId} is not a learner; only learners can be promoted` };
      if (catchUp !== null) {
        const m = catchUp.match(cc.nodeId) ?? 0;
        if (catchUp.lastIndex - m > catchUp.maxLag) {
          return { ok: false, detail: `Learner ${cc.nodeId} is not caught up yet (at ${m} of ${catchUp.lastIndex}); retry once it has replicated the log` };
        }
      }
      return { ok: true };
    }
    case 'remove':
      if (!isVoter && !isLearner) return { ok: false, detail: `Member ${cc.nodeId} is not in the cluster` };
      if (isVoter && conf.voters.length === 1) return { ok: false, detail: 'Cannot remove the last voting member' };
      return { ok: true };
  }
}

/** applyConfChange returns the configuration after `cc` (which must have been validated). */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const id = cc.nodeId;
  const voters = conf.voters.filter((v) => v !== id);
  const learners = conf.learners.filter((v) => v !== id);
  switch (cc.type) {
    case 'add-learner':
      // NB: re-applying a change (e.g. replay after restart) must be idempotent.
      if (conf.voters.includes(id)) return conf;
      return { voters, learners: [...learners, id] };
    case 'add-voter':
    case 'promote':
      return { voters: [...voters, id], learners };
    case 'remove':
      return { voters, learners };
  }
}

const CC_CODES = { 'add-learner': 1, 'add-voter': 2, promote: 3, remove: 4 } as const;

/** encodeConfChange serialises a change as entry data: type byte, node id (float64 LE), context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(9 + ctx.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, CC_CODES[cc.type]);
  view.setFloat64(1, cc.nodeId, true);
  out.set(ctx, 9);
  return out;
}

/** ConfChangeDecoded is a decoded conf change entry, or why its data is not one. */
export type ConfChangeDecoded = { readonly ok: true; readonly value: ConfChange } | { readonly ok: false; readonly error: string };

/**
 * parseConfChange is the inverse of encodeConfChange, total: malformed data gives a value, not an
 * exception. NB: every member must treat an undecodable conf change entry alike (the core and
 * the state machine skip it, changing nothing), or their configurations would diverge.
 */
export function parseConfChange(data: Uint8Array): ConfChangeDecoded {
  if (data.byteLength < 9) return { ok: false, error: `Malformed conf change entry: ${data.byteLength} bytes, need at least 9` };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const code = view.getUint8(0);
  const raw = view.getFloat64(1, true);
  if (!Number.isSafeInteger(raw) || raw <= 0) return { ok: false, error: `Malformed conf change entry: node id ${raw} is not a positive integer` };
  const id = nodeId(raw);
  const context = data.slice(9);
  const ctx = context.byteLength > 0 ? { context } : {};
  switch (code) {
    case 1:
      return { ok: true, value: { type: 'add-learner', nodeId: id, ...ctx } };
    case 2:
      return { ok: true, value: { type: 'add-voter', nodeId: id, ...ctx } };
    case 3:
      return { ok: true, value: { type: 'promote', nodeId: id, ...ctx } };
    case 4:
      return { ok: true, value: { type: 'remove', nodeId: id, ...ctx } };
    default:
      return { ok: false, error: `Malformed conf change entry: unknown type code ${code}` };
  }
}

/** decodeConfChange is parseConfChange for data known to be well formed; it throws otherwise. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const d = parseConfChange(data);
  if (!d.ok) throw new Error(d.error);
  return d.value;
}
