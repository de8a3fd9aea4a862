/**
 * members: the cluster's member list (names and URLs) as replicated state. It changes only by
 * applying conf-change entries (whose context carries the member's attributes) and member
 * attribute updates, and is stored in the MVCC backend's "members" bucket, so it survives
 * restarts and travels in snapshots.
 */
import type { NodeId } from '../../raft/index.js';
import type { ConfChange } from '../../raft/index.js';
import { decodeWith, fail, record, repeated, type Decoded, type FieldDecoder } from '../proto/decode.js';
import { decodeMemberRecord } from './records.js';

/** MemberInfo is one member as MemberList reports it. */
export interface MemberInfo {
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** MemberContext is what a conf change carries about the member it adds. */
export interface MemberContext {
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** encodeMemberContext serialises a conf change's context. */
export function encodeMemberContext(c: MemberContext): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}

const EMPTY_CONTEXT: MemberContext = { name: '', peerURLs: [], clientURLs: [] };

const urlList: FieldDecoder<readonly string[]> = (value, path) =>
  repeated<string>((v, at) => (typeof v === 'string' ? v : fail(at, 'a URL', v)))(value, path);

const memberContext: FieldDecoder<MemberContext> = (value, path) => {
  const r = record(value, path);
  const name = r['name'];
  if (name !== undefined && typeof name !== 'string') fail(`${path}.name`, 'a member name', name);
  return { name: name ?? '', peerURLs: urlList(r['peerURLs'], `${path}.peerURLs`), clientURLs: urlList(r['clientURLs'], `${path}.clientURLs`) };
};

/**
 * parseMemberContext decodes a conf change's context (absent or empty: no attributes), or says
 * what is wrong with it; it never throws.
 */
export function parseMemberContext(data: Uint8Array | undefined): Decoded<MemberContext> {
  if (data === undefined || data.byteLength === 0) return { ok: true, value: EMPTY_CONTEXT };
  const json = parseJson(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return json.ok ? decodeWith(memberContext, json.value, 'member context') : json;
}

function parseJson(b: Buffer): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(b.toString('utf8')) as unknown };
  } catch (err: unknown) {
    return { ok: false, error: `not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** MembersStore persists the registry (implemented over the MVCC backend's aux bucket). */
export interface MembersStore {
  auxPut(bucket: string, key: Uint8Array, value: Uint8Array | null): void;
  auxEntries(bucket: string): [Buffer, Buffer][];
}

const BUCKET = 'members';

/** MemberRegistry is the replicated member list. */
export class MemberRegistry {
  readonly #members = new Map<NodeId, MemberInfo>();
  readonly #store: MembersStore;

  constructor(store: MembersStore) {
    this.#store = store;
    this.reload();
  }

  /** reload reads the registry from the store (startup, snapshot install). */
  reload(): void {
    this.#members.clear();
    // NB: a damaged record throws CorruptRecordError (the member stops, naming the record).
    for (const [k, v] of this.#store.auxEntries(BUCKET)) {
      const m: MemberInfo = decodeMemberRecord(k, v, BUCKET);
      this.#members.set(m.id, m);
    }
  }

  #save(m: MemberInfo): void {
    this.#members.set(m.id, m);
    this.#store.auxPut(BUCKET, Buffer.from(String(m.id)), Buffer.from(JSON.stringify(m)));
  }

  /**
   * applyConfChange records the effect of an applied membership change; `ctx` is its decoded
   * context (the caller decodes it, to count one that does not decode), no attributes if absent.
   */
  applyConfChange(cc: ConfChange, ctx: MemberContext = EMPTY_CONTEXT): void {
    const prev = this.#members.get(cc.nodeId);
    switch (cc.type) {
      case 'add-voter':
      case 'add-learner': {
        this.#save({
          id: cc.nodeId,
          name: ctx.name || prev?.name || '',
          peerURLs: ctx.peerURLs.length > 0 ? ctx.peerURLs : (prev?.peerURLs ?? []),
          clientURLs: ctx.clientURLs.length > 0 ? ctx.clientURLs : (prev?.clientURLs ?? []),
          isLearner: cc.type === 'add-learner',
        });
        return;
      }
      case 'promote':
        if (prev !== undefined) this.#save({ ...prev, isLearner: false });
        return;
      case 'remove':
        this.#members.delete(cc.nodeId);
        this.#store.auxPut(BUCKET, Buffer.from(String(cc.nodeId)), null);
        return;
    }
  }

  /** setAttributes records a member's published name and client URLs. */
  setAttributes(id: NodeId, name: string, clientURLs: readonly string[]): void {
    const prev = this.#members.get(id);
    if (prev === undefined) return;
    this.#save({ ...prev, name, clientURLs });
  }

  /** setPeerURLs records a MemberUpdate. */
  setPeerURLs(id: NodeId, peerURLs: readonly string[]): void {
    const prev = this.#members.get(id);
    if (prev === undefined) return;
    this.#save({ ...prev, peerURLs });
  }

  get(id: NodeId): MemberInfo | undefined {
    return this.#members.get(id);
  }

  list(): MemberInfo[] {
    return [...this.#members.values()].sort((a, b) => a.id - b.id);
  }
}
