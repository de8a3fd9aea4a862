/**
 * networks: every cluster `raftkube up` starts gets its own loopback blocks, so clusters side by
 * side never give two listeners the same ClusterIP or pod IP.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PORT_SPAN } from '../../src/cli/control-plane-up.js';
import { clusterNetworks, MAX_PROCESS_NODES } from '../../src/cli/networks.js';

/** range turns a.b.c.d/p into [first, last] as numbers. */
function range(cidr: string): [number, number] {
  const [addr, bits] = cidr.split('/');
  const n = addr!.split('.').map(Number).reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - Number(bits));
  expect(n % size, `${cidr} is aligned`).toBe(0);
  return [n, n + size - 1];
}

function blocks(basePort: number): [number, number][] {
  const net = clusterNetworks(basePort, PORT_SPAN);
  return [range(net.serviceCIDR), ...Array.from({ length: MAX_PROCESS_NODES }, (_, i) => range(net.podCIDR(i + 1)))];
}

const disjoint = (a: [number, number], b: [number, number]): boolean => a[1] < b[0] || b[1] < a[0];
const REGION = range('127.128.0.0/9');

describe('cluster networks', () => {
  it('gives the default cluster a /22 of ClusterIPs and /25 pod blocks per node', () => {
    const net = clusterNetworks(2379, PORT_SPAN);
    expect(net.serviceCIDR).toBe('127.131.160.0/22');
    expect(net.podCIDR(1)).toBe('127.131.164.0/25');
    expect(net.podCIDR(2)).toBe('127.131.164.128/25');
    expect(() => net.podCIDR(0)).toThrow(RangeError);
    expect(() => net.podCIDR(MAX_PROCESS_NODES + 1)).toThrow(/outside 1-24/);
    expect(() => clusterNetworks(70000, PORT_SPAN)).toThrow(/not a TCP port/);
  });

  it('keeps one cluster\'s blocks disjoint and inside 127.128.0.0/9', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        const bs = blocks(port);
        for (const b of bs) expect(b[0] >= REGION[0] && b[1] <= REGION[1]).toBe(true);
        for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) expect(disjoint(bs[i]!, bs[j]!)).toBe(true);
      }),
    );
  });

  it('gives clusters whose port ranges do not overlap disjoint blocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 - PORT_SPAN }), fc.integer({ min: PORT_SPAN, max: 65535 }), (a, gap) => {
        const b = a + gap;
        fc.pre(b <= 65535);
        for (const x of blocks(a)) for (const y of blocks(b)) expect(disjoint(x, y)).toBe(true);
      }),
    );
  });
});
