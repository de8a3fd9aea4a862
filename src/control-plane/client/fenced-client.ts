/**
 * fenced-client: the client a leader-elected component writes through. Reads, lists and watches
 * go straight to the underlying client; every write carries the leader's current WriteFence
 * (from its LeaderElector), so the apiserver applies it only while this leader's term of the
 * Lease lasts — atomically, in the write's own etcd transaction — and a deposed leader's writes
 * still in flight are refused with 409 Conflict. While it does not lead at all, a write is
 * refused here without being sent. Either refusal is an ordinary error: the controller requeues.
 */
import type { KubeObject, Result } from '../api/types.js';
import { err } from '../api/types.js';
import { FENCED_PREFIX, type ApiError, type DeleteOptions, type Disposable, type ListOptions, type WatchOptions, type WriteFence, type WriteOptions } from '../apiserver/registry-api.js';
import type {
  ClientDeleted, FenceOption, KubeClient, ObjectKey, PatchBody, ResourceDescriptor, Scale, SubresourceOption, TypedList, WatchHandlers,
} from './api-client.js';
import type { ListWatcher } from './informer.js';

/** FenceSource gives the current fence, or null when this component does not lead. */
export type FenceSource = () => WriteFence | null;

/** WritingClient is the part of a client a scheduler needs: reads, list/watch and its writes. */
export type WritingClient = Pick<KubeClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch' | 'bind'> & ListWatcher;

function notLeading(what: string): Result<never, ApiError> {
  return err({ code: 409, reason: 'Conflict', message: `${FENCED_PREFIX}a lease this client does not hold (it is not leading); the ${what} was not sent` });
}

/** FencedClient fences the writes of a scheduler-shaped client; FencedKubeClient extends it to every verb. */
export class FencedClient<C extends WritingClient = WritingClient> implements WritingClient {
  protected readonly base: C;
  readonly #source: FenceSource;

  constructor(base: C, source: FenceSource) {
    this.base = base;
    this.#source = source;
  }

  /** fence is the fence writes carry now (null: not leading). */
  fence(): WriteFence | null {
    return this.#source();
  }

  get<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o?: SubresourceOption): Promise<Result<T, ApiError>> {
    return this.base.get<T>(res, key, o);
  }

  list<T = KubeObject>(res: ResourceDescriptor, o: ListOptions): Promise<Result<TypedList<T>, ApiError>> {
    return this.base.list<T>(res, o);
  }

  watch<T = KubeObject>(res: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable {
    return this.base.watch<T>(res, o, h);
  }

  async create<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption & { readonly namespace?: string } = {}): Promise<Result<T, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('create') : this.base.create<T>(res, obj, { ...o, fence });
  }

  async update<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('update') : this.base.update<T>(res, obj, { ...o, fence });
  }

  async updateStatus<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption = {}): Promise<Result<T, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('status update') : this.base.updateStatus<T>(res, obj, { ...o, fence });
  }

  async patch<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, p: PatchBody, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('patch') : this.base.patch<T>(res, key, p, { ...o, fence });
  }

  async bind(pod: ObjectKey, node: string, o: { readonly podUid?: string } & FenceOption = {}): Promise<Result<void, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('binding') : this.base.bind(pod, node, { ...o, fence });
  }
}

/** FencedKubeClient is a FencedClient over a whole KubeClient (what the controllers use). */
export class FencedKubeClient extends FencedClient<KubeClient & ListWatcher> implements KubeClient, ListWatcher {
  async delete<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o: DeleteOptions & FenceOption = {}): Promise<Result<ClientDeleted<T>, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('delete') : this.base.delete<T>(res, key, { ...o, fence });
  }

  async deleteCollection<T = KubeObject>(res: ResourceDescriptor, list: ListOptions, o: DeleteOptions & FenceOption = {}): Promise<Result<TypedList<T>, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('delete') : this.base.deleteCollection<T>(res, list, { ...o, fence });
  }

  getScale(res: ResourceDescriptor, key: ObjectKey): Promise<Result<Scale, ApiError>> {
    return this.base.getScale(res, key);
  }

  async updateScale(res: ResourceDescriptor, scale: Scale, o: FenceOption = {}): Promise<Result<Scale, ApiError>> {
    const fence = this.fence();
    return fence === null ? notLeading('scale update') : this.base.updateScale(res, scale, { ...o, fence });
  }
}
