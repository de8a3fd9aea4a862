/**
 * networks: the loopback address blocks a cluster from `raftkube up` gives its Services and
 * pods. Every cluster on the machine gets its own /20 of 127.128.0.0/9, picked by its base
 * port, so that two clusters running side by side (tests run several at once) never hand the
 * same ClusterIP or pod IP to two listeners:
 *
 *   127.128.0.0/9 ─ one /20 per slot, slot = floor(basePort / portSpan)
 *     /20 ─ first /22: ClusterIPs (the `kubernetes` Service takes the first address)
 *         ─ then 24 blocks of /25: pod IPs of process-runtime nodes n1..n24 (126 pods each)
 *
 * Two clusters whose port ranges do not overlap have base ports at least portSpan apart, so
 * their slots differ. Simulated nodes never bind their pod IPs and keep the agent's default.
 */
/** MAX_PROCESS_NODES is how many process-runtime nodes one cluster's block has room for. */
export const MAX_PROCESS_NODES = 24;

const REGION_BASE = (127 << 24) | (128 << 16);
const BLOCK_SIZE = 4096;
const SERVICE_SIZE = 1024;
const NODE_SIZE = 128;

/** ClusterNetworks are one cluster's ClusterIP block and its nodes' pod blocks. */
export interface ClusterNetworks {
  readonly serviceCIDR: string;
  /** podCIDR is the block of node nI (1-based). */
  podCIDR(node: number): string;
}

function ip(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** clusterNetworks derives a cluster's address blocks from its base port and port span. */
export function clusterNetworks(basePort: number, portSpan: number): ClusterNetworks {
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65535) throw new RangeError(`base port ${basePort} is not a TCP port`);
  if (!Number.isInteger(portSpan) || portSpan < 32) throw new RangeError(`port span ${portSpan} leaves no room in 127.128.0.0/9 for every slot`);
  const block = (REGION_BASE + Math.floor(basePort / portSpan) * BLOCK_SIZE) >>> 0;
  return {
    serviceCIDR: `${ip(block)}/22`,
    podCIDR(node: number): string {
      if (!Number.isInteger(node) || node < 1 || node > MAX_PROCESS_NODES) throw new RangeError(`node number ${node} is outside 1-${MAX_PROCESS_NODES}`);
      return `${ip(block + SERVICE_SIZE + (node - 1) * NODE_SIZE)}/25`;
    },
  };
}
