/**
 * lessor: etcd-style leases. Which leases exist and their granted TTLs are replicated state
 * (granted and revoked through Raft, applied on every member). When each lease expires is the
 * leader's volatile knowledge: only the leader keeps deadlines, renews them on keep-alive and
 * proposes revocations for expired leases. A member that becomes leader gives every lease its
 * full TTL again, so no lease expires early because of a failover (etcd's Promote).
 */

/** MIN_LEASE_TTL is the smallest TTL granted, in seconds (etcd derives ~1.5 election timeouts). */
export const MIN_LEASE_TTL = 2;
/** MAX_LEASE_TTL is etcd's largest TTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

/** Lease is one lease's replicated state. */
export interface Lease {
  readonly id: bigint;
  /** ttl is the granted TTL in seconds. */
  readonly ttl: number;
}

/** Lessor tracks leases; time comes in as monotonic milliseconds from the caller. */
export class Lessor {
  readonly #leases = new Map<bigint, Lease>();
  /** #deadlines exists only while this member leads. */
  #deadlines: Map<bigint, number> | null = null;
  readonly #minTtl: number;

  constructor(minTtl = MIN_LEASE_TTL) {
    this.#minTtl = minTtl;
  }

  /** grant records a lease (applied from the log); the TTL is raised to the minimum. */
  grant(id: bigint, ttl: number, nowMs: number): Lease {
    const lease: Lease = { id, ttl: Math.max(ttl, this.#minTtl) };
    this.#leases.set(id, lease);
    this.#deadlines?.set(id, nowMs + lease.ttl * 1000);
    return lease;
  }

  /** revoke forgets a lease (applied from the log); false if it did not exist. */
  revoke(id: bigint): boolean {
    this.#deadlines?.delete(id);
    return this.#leases.delete(id);
  }

  get(id: bigint): Lease | undefined {
    return this.#leases.get(id);
  }

  has(id: bigint): boolean {
    return this.#leases.has(id);
  }

  list(): Lease[] {
    return [...this.#leases.values()];
  }

  get size(): number {
    return this.#leases.size;
  }

  /** isPrimary tells whether this lessor keeps deadlines (its member leads). */
  get isPrimary(): boolean {
    return this.#deadlines !== null;
  }

  /** promote starts keeping deadlines: every lease gets its full TTL from now. */
  promote(nowMs: number): void {
    const d = new Map<bigint, number>();
    for (const l of this.#leases.values()) d.set(l.id, nowMs + l.ttl * 1000);
    this.#deadlines = d;
  }

  /** demote stops keeping deadlines (another member leads now). */
  demote(): void {
    this.#deadlines = null;
  }

  /** renew extends a lease on keep-alive; returns its TTL, or null if it is unknown or expired. */
  renew(id: bigint, nowMs: number): number | null {
    const l = this.#leases.get(id);
    const d = this.#deadlines;
    if (l === undefined || d === null) return null;
    const deadline = d.get(id);
    if (deadline !== undefined && deadline <= nowMs) return null;
    d.set(id, nowMs + l.ttl * 1000);
    return l.ttl;
  }

  /** remaining is the seconds left before expiry (primary only), or null. */
  remaining(id: bigint, nowMs: number): number | null {
    const deadline = this.#deadlines?.get(id);
    if (deadline === undefined) return null;
    return Math.max(0, Math.ceil((deadline - nowMs) / 1000));
  }

  /** expired lists leases past their deadline (primary only), at most `limit` of them. */
  expired(nowMs: number, limit: number): bigint[] {
    const d = this.#deadlines;
    if (d === null) return [];
    const out: bigint[] = [];
    for (const [id, deadline] of d) {
      if (deadline <= nowMs) out.push(id);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** restore replaces every lease (snapshot install, startup). */
  restore(leases: readonly Lease[], nowMs: number): void {
    this.#leases.clear();
    for (const l of leases) this.#leases.set(l.id, l);
    if (this.#deadlines !== null) this.promote(nowMs);
  }
}
