/**
 * service-ips: ClusterIPs for Services, allocated from a loopback range so that a node agent on
 * this machine can listen on them. Every apiserver allocates through the store: an address is
 * taken by creating its key (a compare-and-create on the etcd layer), so two apiservers never
 * hand out the same address, and deleting the Service releases it. An allocation names the
 * Service's uid, so that only that Service frees it; the repair (service-ip-repair.ts) mends what
 * an apiserver stopping between its two writes leaves behind.
 */
import type { KubeObject, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ObjectStorePort, PortError } from './storage-port.js';

/** ServiceIPRange is a block of IPv4 addresses: base address and size. */
export interface ServiceIPRange {
  /** cidr is the block, e.g. 127.96.0.0/16. */
  readonly cidr: string;
}

/** DEFAULT_SERVICE_CIDR is where ClusterIPs come from: a loopback block (127.0.0.0/8). */
export const DEFAULT_SERVICE_CIDR = '127.96.0.0/16';

const ALLOCATION_PREFIX = '/registry/ranges/serviceips/';

function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (m === null) throw new Error(`Bad service CIDR ${cidr}; give an IPv4 block such as 127.96.0.0/16`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits < 8 || bits > 30) throw new Error(`Bad service CIDR ${cidr}; the prefix must be /8 to /30`);
  const base = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const size = 2 ** (32 - bits);
  return { base: base - (base % size), size };
}

function ipString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipNumber(ip: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m === null) return null;
  const o = m.slice(1, 5).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/** IPOwner is the Service an address is taken for: `namespace/name` and its uid. */
export interface IPOwner {
  readonly service: string;
  readonly uid: string;
}

/** IPAllocation is one taken address as stored: for which Service (uid null: taken before allocations named one), at which revision. */
export interface IPAllocation {
  readonly ip: string;
  readonly service: string;
  readonly uid: string | null;
  readonly revision: number;
}

/** ServiceIPAllocator hands out and releases ClusterIPs. */
export class ServiceIPAllocator {
  readonly #store: ObjectStorePort;
  readonly #base: number;
  readonly #size: number;
  readonly cidr: string;

  constructor(store: ObjectStorePort, cidr = DEFAULT_SERVICE_CIDR) {
    this.#store = store;
    const r = parseCidr(cidr);
    this.#base = r.base;
    this.#size = r.size;
    this.cidr = cidr;
  }

  /** firstAddress is the range's first usable address (the `kubernetes` Service takes it). */
  get firstAddress(): string {
    return ipString(this.#base + 1);
  }

  /** contains tells whether an address lies in the range (network and broadcast excluded). */
  contains(ip: string): boolean {
    const n = ipNumber(ip);
    return n !== null && n > this.#base && n < this.#base + this.#size - 1;
  }

  #key(ip: string): string {
    return `${ALLOCATION_PREFIX}${ip}`;
  }

  #marker(ip: string, owner: IPOwner): KubeObject {
    return { apiVersion: 'v1', kind: 'IPAddress', metadata: { name: ip, annotations: { service: owner.service, uid: owner.uid } } };
  }

  /** reserve takes a specific address for a service; an error when it is taken or outside. */
  async reserve(ip: string, owner: IPOwner): Promise<Result<string, PortError | { readonly kind: 'taken' | 'outside'; readonly message: string }>> {
    if (!this.contains(ip)) return err({ kind: 'outside', message: `${ip} is not in the service range ${this.cidr}` });
    const r = await this.#store.create(this.#key(ip), this.#marker(ip, owner));
    if (r.ok) return ok(ip);
    if (r.error.kind === 'already-exists') return err({ kind: 'taken', message: `provided IP ${ip} is already allocated` });
    return r;
  }

  /** allocate takes a free address, trying random candidates and then scanning. */
  async allocate(owner: IPOwner): Promise<Result<string, PortError | { readonly kind: 'full'; readonly message: string }>> {
    const usable = this.#size - 2;
    for (let attempt = 0; attempt < 16; attempt++) {
      const ip = ipString(this.#base + 2 + Math.floor(Math.random() * (usable - 1)));
      const r = await this.reserve(ip, owner);
      if (r.ok) return ok(r.value);
      const e = r.error;
      if (e.kind === 'taken') continue;
      return err(e.kind === 'outside' ? { kind: 'internal' as const, message: e.message } : (e as PortError));
    }
    const taken = await this.allocations();
    if (!taken.ok) return err(taken.error);
    const used = new Set(taken.value.items.map((a) => a.ip));
    for (let i = 2; i < this.#size - 1; i++) {
      const ip = ipString(this.#base + i);
      if (used.has(ip)) continue;
      const r = await this.reserve(ip, owner);
      if (r.ok) return ok(r.value);
    }
    return err({ kind: 'full', message: `The service IP range ${this.cidr} is full; delete unused Services` });
  }

  /**
   * release frees an address the Service with `uid` holds. Only an allocation made for that uid
   * (or one from before allocations named a uid) is deleted, and only at the revision just read:
   * a create that failed after taking its address never frees one another Service has taken
   * since. 'not-held' when the allocation is missing or not that Service's.
   */
  async release(ip: string, uid: string): Promise<Result<'released' | 'not-held', PortError>> {
    const cur = await this.#store.get(this.#key(ip));
    if (!cur.ok) return cur;
    if (cur.value === null) return ok('not-held');
    const holder = cur.value.metadata.annotations?.['uid'];
    if (holder !== undefined && holder !== uid) return ok('not-held');
    return this.releaseAt(ip, Number(cur.value.metadata.resourceVersion));
  }

  /** releaseAt deletes the allocation of `ip` if it is still at `revision` ('not-held' when it is gone or has changed). */
  async releaseAt(ip: string, revision: number): Promise<Result<'released' | 'not-held', PortError>> {
    const r = await this.#store.delete(this.#key(ip), revision);
    if (r.ok) return ok('released');
    if (r.error.kind === 'not-found' || r.error.kind === 'conflict') return ok('not-held');
    return r;
  }

  /** allocations lists every taken address as the store holds it, and the revision the list was read at. */
  async allocations(): Promise<Result<{ readonly items: readonly IPAllocation[]; readonly revision: number }, PortError>> {
    const items: IPAllocation[] = [];
    let revision: number | undefined;
    let continueKey: string | undefined;
    do {
      const page = await this.#store.list(ALLOCATION_PREFIX, { limit: 500, ...(continueKey === undefined ? {} : { continueKey }), ...(revision === undefined ? {} : { revision }) });
      if (!page.ok) return page;
      revision = page.value.revision;
      for (const o of page.value.items) {
        const a = o.metadata.annotations ?? {};
        items.push({ ip: o.metadata.name ?? '', service: a['service'] ?? '', uid: a['uid'] ?? null, revision: Number(o.metadata.resourceVersion) });
      }
      continueKey = page.value.continueKey ?? undefined;
    } while (continueKey !== undefined);
    return ok({ items, revision });
  }
}
