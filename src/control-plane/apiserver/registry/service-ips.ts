/**
 * service-ips: ClusterIPs for Services, allocated from a loopback range so that a node agent on
 * this machine can listen on them. Every apiserver allocates through the store: an address is
 * taken by creating its key (a compare-and-create on the etcd layer), so two apiservers never
 * hand out the same address, and deleting the Service releases it.
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

  #marker(ip: string, service: string): KubeObject {
    return { apiVersion: 'v1', kind: 'IPAddress', metadata: { name: ip, annotations: { service } } };
  }

  /** reserve takes a specific address for a service; an error when it is taken or outside. */
  async reserve(ip: string, service: string): Promise<Result<string, PortError | { readonly kind: 'taken' | 'outside'; readonly message: string }>> {
    if (!this.contains(ip)) return err({ kind: 'outside', message: `${ip} is not in the service range ${this.cidr}` });
    const r = await this.#store.create(`${ALLOCATION_PREFIX}${ip}`, this.#marker(ip, service));
    if (r.ok) return ok(ip);
    if (r.error.kind === 'already-exists') return err({ kind: 'taken', message: `provided IP ${ip} is already allocated` });
    return r;
  }

  /** allocate takes a free address, trying random candidates and then scanning. */
  async allocate(service: string): Promise<Result<string, PortError | { readonly kind: 'full'; readonly message: string }>> {
    const usable = this.#size - 2;
    for (let attempt = 0; attempt < 16; attempt++) {
      const ip = ipString(this.#base + 2 + Math.floor(Math.random() * (usable - 1)));
      const r = await this.reserve(ip, service);
      if (r.ok) return ok(r.value);
      const e = r.error;
      if (e.kind === 'taken') continue;
      return err(e.kind === 'outside' ? { kind: 'internal' as const, message: e.message } : (e as PortError));
    }
    const taken = await this.#store.list(ALLOCATION_PREFIX, {});
    if (!taken.ok) return err(taken.error);
    const used = new Set(taken.value.items.map((o) => o.metadata.name));
    for (let i = 2; i < this.#size - 1; i++) {
      const ip = ipString(this.#base + i);
      if (used.has(ip)) continue;
      const r = await this.reserve(ip, service);
      if (r.ok) return ok(r.value);
    }
    return err({ kind: 'full', message: `The service IP range ${this.cidr} is full; delete unused Services` });
  }

  /** release frees an address (a missing allocation is not an error). */
  async release(ip: string): Promise<void> {
    const r = await this.#store.delete(`${ALLOCATION_PREFIX}${ip}`);
    if (!r.ok && r.error.kind !== 'not-found') throw new Error(`Could not release service IP ${ip}: ${r.error.message}`);
  }
}
