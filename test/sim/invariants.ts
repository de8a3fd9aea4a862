/**
 * invariants: the safety properties of Raft (§5.2–§5.4, Figure 3), checked incrementally as the
 * simulator observes each event, so a violation is caught at the step that caused it.
 *
 * - election safety: at most one leader per term, over the whole history;
 * - log matching: every entry persisted anywhere is recorded by (index, term) with its content
 *   and the term of its predecessor; two entries with one (index, term) must agree on both, which
 *   by induction makes the logs identical up to there (§5.3);
 * - leader completeness: a leader of term T holds every entry known committed before T (§5.4);
 * - state machine safety: no two nodes apply different entries at one index (§5.4.3);
 * - durable state: persisted term never decreases, a vote never changes within a term (§5.2),
 *   commit never decreases and never exceeds the persisted log;
 * - persist before send (Figure 2): a vote, a granted vote or an acknowledgement of entries
 *   leaves a node only once what it promises is on its storage;
 * - no acknowledged write lost: an acknowledged (index, term, key) is what every node applies there;
 * - (checked by the cluster) a ReadIndex read returns an index ≥ every commit known when it started.
 */
import type { Storage } from '../../src/raft/storage.js';
import type { Entry, HardState, LogIndex, Message, NodeId, Ready, Role, Snapshot, Term } from '../../src/raft/types.js';
import type { AppliedRecord } from './state-machine.js';
import { decodeRecords, entryKey } from './state-machine.js';

/** InvariantName names the property a violation broke. */
export type InvariantName =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'durable-state'
  | 'persist-before-send'
  | 'apply-order'
  | 'acknowledged-lost'
  | 'read-linearizability'
  | 'convergence'
  | 'liveness';

/** InvariantViolation is thrown when a property fails; the simulator adds its seed and trace. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(readonly invariant: InvariantName, detail: string) {
    super(`${invariant}: ${detail}`);
  }
}

interface LogFact {
  readonly key: string;
  readonly prevTerm: number | null;
  readonly node: NodeId;
}

interface CommitFact {
  readonly term: Term;
  readonly key: string;
  /** knownAt is the lowest term of a node seen applying it: the entry was committed no later. */
  knownAt: number;
}

/** Ack is an acknowledged client write. */
export interface Ack {
  readonly key: string;
  readonly index: LogIndex;
  readonly term: Term;
}

/** InvariantChecker accumulates the history facts and throws InvariantViolation on a breach. */
export class InvariantChecker {
  readonly #leaders = new Map<number, NodeId>();
  readonly #log = new Map<string, LogFact>();
  readonly #committed = new Map<number, CommitFact>();
  #maxCommitted = 0;
  readonly #acks: Ack[] = [];
  readonly #completeFor = new Set<number>();

  /** leaders returns term → leader for every leader observed. */
  leaders(): ReadonlyMap<number, NodeId> {
    return this.#leaders;
  }

  /** maxCommitted is the highest index seen applied anywhere. */
  get maxCommitted(): number {
    return this.#maxCommitted;
  }

  /** committedAt returns the entry known committed at `i`. */
  committedAt(i: number): { readonly term: Term; readonly key: string } | undefined {
    return this.#committed.get(i);
  }

  /** acks lists every acknowledged write. */
  acks(): readonly Ack[] {
    return this.#acks;
  }

  /** observeRole records a node's role and term (election safety). */
  observeRole(id: NodeId, role: Role, t: Term): void {
    if (role !== 'leader') return;
    const prev = this.#leaders.get(t);
    if (prev === undefined) this.#leaders.set(t, id);
    else if (prev !== id) throw new InvariantViolation('election-safety', `nodes ${prev} and ${id} are both leaders of term ${t}`);
  }

  /**
   * observePersist checks a ready just persisted by `id`: `before` is the hard state it replaced
   * and `storage` already holds the result.
   */
  observePersist(id: NodeId, before: HardState, rd: Pick<Ready, 'entries' | 'snapshot'>, storage: Storage & { hardState(): HardState }): void {
    const hs = storage.hardState();
    if (hs.term < before.term) throw new InvariantViolation('durable-state', `node ${id} persisted term ${hs.term} after ${before.term}`);
    if (hs.term === before.term && before.vote !== 0 && hs.vote !== before.vote) {
      throw new InvariantViolation('durable-state', `node ${id} changed its vote in term ${hs.term} from ${before.vote} to ${hs.vote}`);
    }
    if (hs.commit < before.commit) throw new InvariantViolation('durable-state', `node ${id} persisted commit ${hs.commit} after ${before.commit}`);
    if (hs.commit > storage.lastIndex()) {
      throw new InvariantViolation('durable-state', `node ${id} persisted commit ${hs.commit} beyond its last persisted index ${storage.lastIndex()}`);
    }
    if (rd.snapshot !== null) this.#observeSnapshotMeta(id, rd.snapshot);
    const first = storage.firstIndex();
    for (let k = 0; k < rd.entries.length; k++) {
      const e = rd.entries[k]!;
      if (e.index < first) continue;
      let prevTerm: number | null;
      if (k > 0) prevTerm = rd.entries[k - 1]!.term;
      else prevTerm = e.index - 1 >= first - 1 ? storage.term((e.index - 1) as LogIndex) : null;
      this.#recordLogFact(id, e, prevTerm);
    }
  }

  #recordLogFact(id: NodeId, e: Entry, prevTerm: number | null): void {
    const k = `${e.index}:${e.term}`;
    const key = `${e.type}/${entryKey(e)}`;
    const fact = this.#log.get(k);
    if (fact === undefined) {
      this.#log.set(k, { key, prevTerm, node: id });
      return;
    }
    if (fact.key !== key) {
      throw new InvariantViolation('log-matching', `entry ${k} is ${JSON.stringify(key)} on node ${id} but ${JSON.stringify(fact.key)} on node ${fact.node}`);
    }
    if (prevTerm !== null && fact.prevTerm !== null && prevTerm !== fact.prevTerm) {
      throw new InvariantViolation(
        'log-matching',
        `entry ${k} follows an entry of term ${prevTerm} on node ${id} but of term ${fact.prevTerm} on node ${fact.node}`,
      );
    }
    if (fact.prevTerm === null && prevTerm !== null) this.#log.set(k, { ...fact, prevTerm });
  }

  #observeSnapshotMeta(id: NodeId, snap: Snapshot): void {
    const c = this.#committed.get(snap.metadata.index);
    if (c !== undefined && c.term !== snap.metadata.term) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${id} installed a snapshot at ${snap.metadata.index} of term ${snap.metadata.term}, but term ${c.term} was committed there`,
      );
    }
  }

  /** observeApply records that `id`, in term `nodeTerm`, applied committed entry `e`. */
  observeApply(id: NodeId, e: Entry, nodeTerm: Term): void {
    const key = entryKey(e);
    const c = this.#committed.get(e.index);
    if (c === undefined) {
      this.#committed.set(e.index, { term: e.term, key, knownAt: nodeTerm });
      if (e.index > this.#maxCommitted) this.#maxCommitted = e.index;
      return;
    }
    if (c.term !== e.term || c.key !== key) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${id} applied ${JSON.stringify(key)}@t${e.term} at index ${e.index}, where ${JSON.stringify(c.key)}@t${c.term} was applied before`,
      );
    }
    if (nodeTerm < c.knownAt) c.knownAt = nodeTerm;
  }

  /**
   * observeRestore checks a state machine restored from a snapshot against what was applied:
   * every record must match, and every index it skips must have been a no-op.
   */
  observeRestore(id: NodeId, snap: Snapshot): void {
    const records: AppliedRecord[] = decodeRecords(snap.data);
    const byIndex = new Map<number, AppliedRecord>(records.map((r) => [r.index as number, r]));
    for (const r of records) {
      if (r.index > snap.metadata.index) {
        throw new InvariantViolation('state-machine-safety', `snapshot at ${snap.metadata.index} restored on node ${id} holds a record at ${r.index}`);
      }
    }
    const upTo = Math.min(snap.metadata.index, this.#maxCommitted);
    for (let i = 1; i <= upTo; i++) {
      const c = this.#committed.get(i);
      if (c === undefined) continue;
      const r = byIndex.get(i);
      const key = r?.key ?? '';
      if (key !== c.key || (r !== undefined && r.term !== c.term)) {
        throw new InvariantViolation(
          'state-machine-safety',
          `node ${id} restored ${JSON.stringify(key)} at index ${i} from a snapshot, where ${JSON.stringify(c.key)}@t${c.term} was applied`,
        );
      }
    }
    for (const r of records) {
      if (!this.#committed.has(r.index)) {
        this.#committed.set(r.index, { term: r.term, key: r.key, knownAt: Number.MAX_SAFE_INTEGER });
        if (r.index > this.#maxCommitted) this.#maxCommitted = r.index;
      }
    }
  }

  /**
   * checkLeaderCompleteness checks the persisted log of leader `id` of term `t` (call it only
   * when the leader has nothing unpersisted): it must hold every entry known committed before
   * term t. The full scan runs once per term; later calls check the newest committed entry.
   */
  checkLeaderCompleteness(id: NodeId, t: Term, storage: Storage): void {
    if (!this.#completeFor.has(t)) {
      this.#completeFor.add(t);
      for (const [i, c] of this.#committed) this.#checkHas(id, t, storage, i, c);
      return;
    }
    const c = this.#committed.get(this.#maxCommitted);
    if (c !== undefined) this.#checkHas(id, t, storage, this.#maxCommitted, c);
  }

  #checkHas(id: NodeId, t: Term, storage: Storage, i: number, c: CommitFact): void {
    if (c.knownAt >= t) return;
    const snapIndex = storage.firstIndex() - 1;
    if (i < snapIndex) return;
    if (i > storage.lastIndex()) {
      throw new InvariantViolation('leader-completeness', `leader ${id} of term ${t} lacks committed index ${i} (its log ends at ${storage.lastIndex()})`);
    }
    const have = storage.term(i as LogIndex);
    if (have !== c.term) {
      throw new InvariantViolation('leader-completeness', `leader ${id} of term ${t} has term ${have} at committed index ${i}, where term ${c.term} was committed`);
    }
  }

  /**
   * checkPersistedBeforeSend checks, as `m` leaves node `id`, that its storage already holds
   * what the message promises (Figure 2: respond only after updating stable storage): the term
   * it speaks in, a candidate's vote for itself, a granted vote, the entries an append response
   * acknowledges. A promise made in a term the node has since left durably is not checked: one
   * Ready may batch a reply from an older term with a newer hard state, and the newer term
   * supersedes it (the node can never vote or append in the older term again).
   */
  checkPersistedBeforeSend(id: NodeId, m: Message, storage: Storage & { hardState(): HardState }): void {
    const hs = storage.hardState();
    const fail = (what: string): never => {
      throw new InvariantViolation(
        'persist-before-send',
        `node ${id} sent ${m.type} to ${m.to} in term ${m.term} before persisting ${what} (stored: term ${hs.term}, vote ${hs.vote}, last index ${storage.lastIndex()})`,
      );
    };
    switch (m.type) {
      case 'vote':
        if (hs.term < m.term || (hs.term === m.term && hs.vote !== id)) fail('its vote for itself');
        return;
      case 'vote-resp':
        if (hs.term < m.term) fail(`term ${m.term}`);
        if (!m.reject && hs.term === m.term && hs.vote !== m.to) fail('the vote it grants');
        return;
      case 'app-resp':
        if (hs.term < m.term) fail(`term ${m.term}`);
        if (!m.reject && hs.term === m.term && m.index > storage.lastIndex()) fail(`entries up to ${m.index}`);
        return;
      case 'heartbeat-resp':
        if (hs.term < m.term) fail(`term ${m.term}`);
        return;
      case 'app':
      case 'heartbeat':
      case 'snap':
      case 'timeout-now':
      case 'pre-vote':
      case 'pre-vote-resp':
      case 'read-index':
      case 'read-index-resp':
      case 'prop':
        // These promise nothing about the sender's unpersisted state.
        return;
    }
  }

  /** recordAck notes an acknowledged write; it must be what was applied at its index. */
  recordAck(a: Ack): void {
    const c = this.#committed.get(a.index);
    if (c === undefined || c.key !== a.key || c.term !== a.term) {
      throw new InvariantViolation('acknowledged-lost', `write ${a.key} acknowledged at ${a.index}@t${a.term} but ${c === undefined ? 'nothing' : `${c.key}@t${c.term}`} was applied there`);
    }
    this.#acks.push(a);
  }

  /** checkAcksApplied checks that node `id`'s state machine holds every acknowledged write. */
  checkAcksApplied(id: NodeId, appliedIndex: number, at: (i: number) => AppliedRecord | undefined): void {
    for (const a of this.#acks) {
      if (a.index > appliedIndex) {
        throw new InvariantViolation('acknowledged-lost', `node ${id} applied only up to ${appliedIndex}, missing acknowledged ${a.key} at ${a.index}`);
      }
      const r = at(a.index);
      if (r === undefined || r.key !== a.key || r.term !== a.term) {
        throw new InvariantViolation('acknowledged-lost', `node ${id} has ${r === undefined ? 'nothing' : `${r.key}@t${r.term}`} at ${a.index}, where ${a.key}@t${a.term} was acknowledged`);
      }
    }
  }
}
