/**
 * quorum: majority arithmetic over a set of voters — the committed index and election results.
 */
import type { LogIndex, NodeId } from './types.js';
import { logIndex } from './types.js';

/** VoteOutcome is the state of an election or pre-election. */
export type VoteOutcome = 'won' | 'lost' | 'pending';

/** majority is the smallest number of voters that forms a quorum. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * committedIndex is the largest index replicated on a majority of `voters`, given each voter's
 * match index (§5.3). With no voters it is Infinity-free 0.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): LogIndex {
  const n = voters.length;
  if (n === 0) return logIndex(0);
  if (n === 1) return logIndex(match(voters[0]!));
  // NB: an insertion sort, highest first: the leader runs this on every acknowledgement, and
  // Array.prototype.sort allocates its own work space each time (about 0.7 KB for three voters).
  const m: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = match(voters[i]!);
    let j = i;
    for (; j > 0 && m[j - 1]! < v; j--) m[j] = m[j - 1]!;
    m[j] = v;
  }
  // NB: the majority-th highest match is held by at least a majority of voters.
  return logIndex(m[majority(n) - 1]!);
}

/** voteResult tallies `votes` (true = granted) among `voters`. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  const need = majority(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}

/** hasQuorum tells whether the voters for which `active` holds form a majority. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (active(id)) n++;
  return n >= majority(voters.length);
}
