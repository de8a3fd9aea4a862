/**
 * ip-allocator: pod IPs from a loopback block (127.64.0.0/10 by default), so pods on one
 * machine each get their own address and do not collide on ports. Every address of 127.0.0.0/8
 * answers on Linux's loopback interface without configuration.
 */

/** DEFAULT_POD_CIDR is the block pod IPs come from. */
export const DEFAULT_POD_CIDR = '127.64.0.0/10';

/**
 * nodePodCidr is the default pod block of a node on a machine shared with other nodes: one /16
 * of 127.64.0.0/10 per node, picked by the number the name ends in (n1 → 127.65.0.0/16, n2 →
 * 127.66.0.0/16), else by a hash of the name; so the node agents `raftkube up` starts on one
 * machine do not hand out the same pod IPs. Nodes that may collide should get --pod-cidr.
 */
export function nodePodCidr(nodeName: string): string {
  const m = /(\d+)$/.exec(nodeName);
  let k: number;
  if (m !== null) k = Number(m[1]) % 64;
  else {
    let h = 2166136261;
    for (const ch of nodeName) h = Math.imul(h ^ (ch.codePointAt(0) ?? 0), 16777619) >>> 0;
    k = h % 64;
  }
  return `127.${64 + k}.0.0/16`;
}

function toNumber(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * IpAllocator hands out the addresses of a CIDR block, skipping each /24's .0 and .255 and the
 * block's first address, and takes back released ones. A preferred address (the one a pod had
 * before an agent restart) is honoured when it is in the block and free.
 */
export class IpAllocator {
  readonly #first: number;
  readonly #size: number;
  readonly #used = new Set<number>();
  #cursor = 1;

  constructor(cidr: string = DEFAULT_POD_CIDR) {
    const [base = '', bits = ''] = cidr.split('/');
    const b = toNumber(base);
    const prefix = Number(bits);
    if (b === null || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`The pod CIDR ${JSON.stringify(cidr)} is not an IPv4 block from /8 to /30; write e.g. 127.64.0.0/10`);
    this.#size = 2 ** (32 - prefix);
    this.#first = b - (b % this.#size);
  }

  /** size is how many addresses are in use. */
  get used(): number {
    return this.#used.size;
  }

  #usable(off: number): boolean {
    const last = (this.#first + off) & 255;
    return off > 0 && off < this.#size && last !== 0 && last !== 255 && !this.#used.has(off);
  }

  /** allocate returns a free address (the preferred one when possible), or null when the block is full. */
  allocate(preferred?: string): string | null {
    if (preferred !== undefined) {
      const p = toNumber(preferred);
      if (p !== null && this.#usable(p - this.#first)) {
        this.#used.add(p - this.#first);
        return preferred;
      }
    }
    for (let i = 0; i < this.#size; i++) {
      const off = (this.#cursor + i) % this.#size;
      if (this.#usable(off)) {
        this.#used.add(off);
        this.#cursor = (off + 1) % this.#size;
        return toIp(this.#first + off);
      }
    }
    return null;
  }

  /** reserve takes one given address if it is in the block and free; false otherwise. */
  reserve(ip: string): boolean {
    const n = toNumber(ip);
    if (n === null || !this.#usable(n - this.#first)) return false;
    this.#used.add(n - this.#first);
    return true;
  }

  /** release gives an address back (a no-op for one not handed out). */
  release(ip: string): void {
    const n = toNumber(ip);
    if (n !== null) this.#used.delete(n - this.#first);
  }
}
