/** Pod IP blocks and allocation. */
import { describe, expect, it } from 'vitest';
import { IpAllocator, nodePodCidr } from '../../src/node-agent/ip-allocator.js';

describe('IpAllocator', () => {
  it('hands out addresses in order, skipping .0 and .255, honours a free preferred one, and reuses released ones', () => {
    const a = new IpAllocator('127.65.0.0/22');
    expect(a.allocate()).toBe('127.65.0.1');
    expect(a.allocate('127.65.1.7')).toBe('127.65.1.7');
    expect(a.allocate('127.65.1.7')).toBe('127.65.0.2');
    expect(a.allocate('10.0.0.1')).toBe('127.65.0.3');
    a.release('127.65.0.1');
    const b = new IpAllocator('127.65.0.0/24');
    const all = Array.from({ length: 254 }, () => b.allocate());
    expect(all.at(-1)).toBe('127.65.0.254');
    expect(b.allocate()).toBeNull();
    b.release('127.65.0.9');
    expect(b.allocate()).toBe('127.65.0.9');
    expect(() => new IpAllocator('127.0.0.0')).toThrow(/not an IPv4 block/);
  });

  it('reserves a given address only when it is in the block and free', () => {
    const a = new IpAllocator('127.65.0.0/16');
    expect(a.reserve('127.65.0.1')).toBe(true);
    expect(a.reserve('127.65.0.1')).toBe(false);
    expect(a.reserve('10.0.0.1')).toBe(false);
    expect(a.reserve('127.65.0.255')).toBe(false);
    expect(a.used).toBe(1);
    expect(a.allocate()).toBe('127.65.0.2');
  });

  it('gives nodes on one machine disjoint /16 blocks by the number their name ends in', () => {
    expect(nodePodCidr('n1')).toBe('127.65.0.0/16');
    expect(nodePodCidr('n2')).toBe('127.66.0.0/16');
    expect(nodePodCidr('worker')).toMatch(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.0\.0\/16$/);
  });
});
