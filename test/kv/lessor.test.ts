// Lessor: replicated grants and revocations; deadlines kept only by the leader, which gives
// every lease its full TTL when it takes over, so a failover never expires a lease early.
import { describe, expect, it } from 'vitest';
import { Lessor, MIN_LEASE_TTL } from '../../src/kv/lease/lessor.js';

describe('Lessor', () => {
  it('raises a TTL below the minimum and keeps no deadlines while not leading', () => {
    const l = new Lessor();
    expect(l.grant(1n, 1, 0).ttl).toBe(MIN_LEASE_TTL);
    expect(l.isPrimary).toBe(false);
    expect(l.renew(1n, 0)).toBeNull();
    expect(l.remaining(1n, 0)).toBeNull();
    expect(l.expired(1_000_000, 10)).toEqual([]);
  });

  it('expires a lease not kept alive, and not one that is', () => {
    const l = new Lessor();
    l.promote(0);
    l.grant(1n, 10, 0);
    l.grant(2n, 10, 0);
    expect(l.renew(2n, 9_000)).toBe(10);
    expect(l.remaining(1n, 9_000)).toBe(1);
    expect(l.expired(10_000, 10)).toEqual([1n]);
    // A lease past its deadline cannot be renewed back to life; only a revoke (through Raft) ends it.
    expect(l.renew(1n, 10_001)).toBeNull();
    expect(l.expired(18_999, 10)).toEqual([1n]);
    expect(l.expired(19_000, 10)).toEqual([1n, 2n]);
  });

  it('a new leader restarts every deadline from its full TTL', () => {
    const old = new Lessor();
    const next = new Lessor();
    for (const l of [old, next]) l.grant(7n, 30, 0);
    old.promote(0);
    // 29 s later the old leader fails; the new one takes over just before the lease would expire.
    expect(old.remaining(7n, 29_000)).toBe(1);
    next.promote(29_000);
    expect(next.expired(58_999, 10)).toEqual([]);
    expect(next.remaining(7n, 29_000)).toBe(30);
    expect(next.expired(59_000, 10)).toEqual([7n]);
    next.demote();
    expect(next.isPrimary).toBe(false);
    expect(next.expired(100_000, 10)).toEqual([]);
  });

  it('revoke forgets the lease and restore replaces all of them', () => {
    const l = new Lessor();
    l.promote(0);
    l.grant(1n, 5, 0);
    expect(l.revoke(1n)).toBe(true);
    expect(l.revoke(1n)).toBe(false);
    l.restore([{ id: 3n, ttl: 20 }, { id: 4n, ttl: 40 }], 1_000);
    expect(l.list().map((x) => x.id)).toEqual([3n, 4n]);
    expect(l.remaining(4n, 1_000)).toBe(40);
  });
});
