/**
 * proxy: network faults without root — a fault-injecting TCP proxy on every link between
 * members, in the runner's own process (as etcd's robustness tests do). For every ordered pair
 * (i → j) there is one listener for j's peer URL and one for j's client URL (a follower forwards
 * requests to the leader's client URL, and a partition must cut that too); member i dials them
 * instead of j's real listeners, told so by the test-only RAFTKUBE_TEST_PEER_DIAL
 * (src/kv/transport/test-peer-dial.ts), while every member keeps advertising its real URLs.
 * The workload's clients reach the members directly: only member-to-member traffic is proxied.
 * A member replaced by a fresh one (member-replace) keeps its name and URLs, so its successor
 * starts with the same dial map and the others reach it over the same links.
 *
 * Each accepted connection is dialled onward and its two directions are piped chunk by chunk
 * (a chunk is what one read of the socket returned) through a queue that may hold chunks back
 * but never reorders them:
 *
 * - cut: both links of a pair stop forwarding in both directions; the proxy stops reading, so
 *   the sender's socket buffers fill and its writes back up, and a connection opened meanwhile
 *   is accepted but not dialled onward. That is what packet loss does to TCP: nothing arrives,
 *   nothing is refused or reset, and the sender finds out only from its own timeouts (Raft's
 *   election timeout, checkQuorum). Closing or refusing connections would instead tell every
 *   member at once that its peer is gone, which no real partition does. Heal resumes reading
 *   and delivers what was held, in order, as TCP's retransmissions would.
 * - delay: every chunk waits `ms` before it is forwarded, in each direction (so a round trip
 *   gains 2 × ms, as netem on every member's egress gives); order is kept.
 * - loss: a TCP stream cannot lose bytes; a lost segment shows as a retransmission. So p% of
 *   chunks are held back by a retransmission timeout (200 ms, Linux's minimum RTO, doubling for
 *   each further loss of the same chunk, at most four), and everything behind them waits too —
 *   head-of-line blocking, as a receiver sees it.
 * - heal removes every fault and sends whatever is still queued at once.
 *
 * Loss draws from a generator seeded with the run's seed, so the same seed gives the same
 * sequence of draws (though not the same chunk boundaries, which the kernel decides).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { seededRng, type Rng } from '../../raft/rng.js';
import { stripScheme } from '../../kv/client/etcd-client.js';
import { encodeTestPeerDial, TEST_PEER_DIAL_ENV } from '../../kv/transport/test-peer-dial.js';
import type { NetworkFaults } from './netns.js';

/** RTO_MS is the retransmission timeout a lost chunk waits (Linux's minimum RTO). */
export const RTO_MS = 200;
/** MAX_RETRANSMITS bounds how often one chunk is lost in a row (its wait doubles each time). */
const MAX_RETRANSMITS = 4;
/** HIGH_WATER_BYTES is how much one direction queues before it stops reading its source. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** ProxyMember is where one member really listens. */
export interface ProxyMember {
  readonly name: string;
  readonly peerURL: string;
  readonly clientURL: string;
}

/** ProxyLinkKind says which of the target member's listeners a link leads to. */
export type ProxyLinkKind = 'peer' | 'client';

/** LinkFaults is what the pipes of one link ask for every chunk. */
interface LinkFaults {
  readonly cut: boolean;
  readonly delayMs: number;
  readonly lossPercent: number;
}

/** lossDelay draws the extra wait of one chunk at the given loss rate (0 when it is not lost). */
export function lossDelay(rng: Rng, percent: number): number {
  if (percent <= 0) return 0;
  let extra = 0;
  let rto = RTO_MS;
  for (let k = 0; k < MAX_RETRANSMITS && rng.int(10_000) < percent * 100; k++) {
    extra += rto;
    rto *= 2;
  }
  return extra;
}

/**
 * Pipe carries one direction of one connection: what `src` sends is queued, each chunk with
 * the time it may leave, and written to `dst` in order once due and not held.
 */
class Pipe {
  readonly #src: Socket;
  readonly #dst: Socket;
  readonly #faults: () => LinkFaults;
  readonly #rng: Rng;
  readonly #queue: { due: number; buf: Buffer }[] = [];
  #queuedBytes = 0;
  #lastDue = 0;
  #timer: NodeJS.Timeout | null = null;
  #srcEnded = false;
  #dstBlocked = false;
  #done = false;

  constructor(src: Socket, dst: Socket, faults: () => LinkFaults, rng: Rng) {
    this.#src = src;
    this.#dst = dst;
    this.#faults = faults;
    this.#rng = rng;
    src.on('data', (b: Buffer) => this.#push(b));
    src.on('end', () => {
      this.#srcEnded = true;
      this.pump();
    });
    dst.on('drain', () => {
      this.#dstBlocked = false;
      this.pump();
    });
  }

  #push(buf: Buffer): void {
    const f = this.#faults();
    const now = performance.now();
    // NB: due times never go backwards, so a chunk never overtakes an earlier one.
    const due = Math.max(now + f.delayMs + lossDelay(this.#rng, f.lossPercent), this.#lastDue);
    this.#lastDue = due;
    this.#queue.push({ due, buf });
    this.#queuedBytes += buf.length;
    this.pump();
  }

  /** pump writes every chunk that is due, unless the link is cut, and arms a timer for the next. */
  pump(): void {
    if (this.#done) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const held = this.#faults().cut;
    if (!held) {
      const now = performance.now();
      while (this.#queue.length > 0 && this.#queue[0]!.due <= now && !this.#dstBlocked) {
        const { buf } = this.#queue.shift()!;
        this.#queuedBytes -= buf.length;
        if (!this.#dst.write(buf)) this.#dstBlocked = true;
      }
      const head = this.#queue[0];
      if (head !== undefined && !this.#dstBlocked) this.#timer = setTimeout(() => this.pump(), Math.max(1, head.due - now));
      if (head === undefined && this.#srcEnded) {
        this.#done = true;
        this.#dst.end();
      }
    }
    // Stop reading while cut (TCP's buffers fill, the sender backs up) or while too much waits here.
    const stop = held || this.#dstBlocked || this.#queuedBytes > HIGH_WATER_BYTES;
    if (stop && !this.#src.isPaused()) this.#src.pause();
    else if (!stop && this.#src.isPaused()) this.#src.resume();
  }

  /** flush makes every queued chunk due now (a heal delivers what was held at once). */
  flush(): void {
    const now = performance.now();
    for (const c of this.#queue) c.due = Math.min(c.due, now);
    this.#lastDue = Math.min(this.#lastDue, now);
    this.pump();
  }

  /** stop drops the queue and its timer (the connection is gone). */
  stop(): void {
    this.#done = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }
}

/** Conn is one accepted connection and, once dialled, its onward connection. */
class Conn {
  readonly #inbound: Socket;
  #outbound: Socket | null = null;
  #pipes: Pipe[] = [];
  #closed = false;
  readonly #onClose: () => void;

  constructor(inbound: Socket, onClose: () => void) {
    this.#inbound = inbound;
    this.#onClose = onClose;
    inbound.pause();
    inbound.setNoDelay(true);
    inbound.on('error', () => this.close());
    inbound.on('close', () => this.close());
  }

  get dialled(): boolean {
    return this.#outbound !== null;
  }

  /** dial connects onward and starts the two pipes. */
  dial(target: { host: string; port: number }, faults: () => LinkFaults, rng: Rng): void {
    if (this.#closed || this.#outbound !== null) return;
    const out = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    this.#outbound = out;
    out.pause();
    out.on('error', () => this.close());
    out.on('close', () => this.close());
    out.on('connect', () => {
      if (this.#closed) return;
      this.#pipes = [new Pipe(this.#inbound, out, faults, rng), new Pipe(out, this.#inbound, faults, rng)];
      for (const p of this.#pipes) p.pump();
    });
  }

  /** pump re-evaluates both directions (after a fault changed). */
  pump(flush: boolean): void {
    for (const p of this.#pipes) {
      if (flush) p.flush();
      else p.pump();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pipes) p.stop();
    this.#inbound.destroy();
    this.#outbound?.destroy();
    this.#onClose();
  }
}

/** ProxyLink is one ordered link: member `from` dials `to`'s peer or client listener here. */
class ProxyLink {
  readonly from: number;
  readonly to: number;
  readonly kind: ProxyLinkKind;
  readonly target: { host: string; port: number };
  readonly server: Server;
  readonly conns = new Set<Conn>();
  cut = false;
  /** bytes counts what was accepted from the dialling member (for tests and reports). */
  accepted = 0;

  constructor(from: number, to: number, kind: ProxyLinkKind, target: { host: string; port: number }, server: Server) {
    this.from = from;
    this.to = to;
    this.kind = kind;
    this.target = target;
    this.server = server;
  }

  get port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('BUG: a proxy listener has no port');
    return a.port;
  }
}

function parseTarget(url: string): { host: string; port: number } {
  const hp = stripScheme(url);
  const i = hp.lastIndexOf(':');
  const port = Number(hp.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new Error(`Cannot proxy to ${url}: expected http://host:port`);
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** ProxyNetworkOptions shape the proxy. */
export interface ProxyNetworkOptions {
  /** seed seeds the loss draws. */
  readonly seed: number;
  /** host is where the listeners bind (default 127.0.0.1). */
  readonly host?: string;
  /** avoidPorts are ports the listeners must not take (the members' own, bound later). */
  readonly avoidPorts?: readonly number[];
}

/** ProxyNetwork owns every link's listener and connections of one run. */
export class ProxyNetwork implements NetworkFaults {
  readonly mode = 'members as processes on loopback; a fault-injecting TCP proxy on every link between members (cuts hold traffic, delay and loss as TCP would show them)';
  readonly members: readonly ProxyMember[];
  readonly #links: ProxyLink[];
  readonly #host: string;
  readonly #rng: Rng;
  #delayMs = 0;
  #lossPercent = 0;

  private constructor(members: readonly ProxyMember[], links: ProxyLink[], host: string, rng: Rng) {
    this.members = members;
    this.#links = links;
    this.#host = host;
    this.#rng = rng;
  }

  /** create listens for every ordered pair of members; on failure it closes what it opened. */
  static async create(members: readonly ProxyMember[], o: ProxyNetworkOptions): Promise<ProxyNetwork> {
    const host = o.host ?? '127.0.0.1';
    const avoid = new Set(o.avoidPorts ?? []);
    for (const m of members) for (const u of [m.peerURL, m.clientURL]) avoid.add(parseTarget(u).port);
    const links: ProxyLink[] = [];
    const net = new ProxyNetwork(members, links, host, seededRng(o.seed));
    try {
      for (let from = 0; from < members.length; from++) {
        for (let to = 0; to < members.length; to++) {
          if (from === to) continue;
          for (const kind of ['peer', 'client'] as const) {
            const target = parseTarget(kind === 'peer' ? members[to]!.peerURL : members[to]!.clientURL);
            let link: ProxyLink | null = null;
            // An ephemeral port may be one a member is about to bind: take another.
            for (let attempt = 0; link === null; attempt++) {
              const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
              await listen(server, host);
              const candidate = new ProxyLink(from, to, kind, target, server);
              if (!avoid.has(candidate.port)) link = candidate;
              else if (attempt > 20) throw new Error('Could not find a free proxy port outside the members\' ports');
              else await closeServer(server);
            }
            const l = link;
            l.server.on('connection', (s: Socket) => net.#accept(l, s));
            links.push(l);
          }
        }
      }
      return net;
    } catch (err: unknown) {
      await net.destroy();
      throw err;
    }
  }

  #faults(link: ProxyLink): () => LinkFaults {
    return () => ({ cut: link.cut, delayMs: this.#delayMs, lossPercent: this.#lossPercent });
  }

  #accept(link: ProxyLink, s: Socket): void {
    const conn = new Conn(s, () => link.conns.delete(conn));
    link.conns.add(conn);
    s.on('data', (b: Buffer) => (link.accepted += b.length));
    // NB: a connection opened across a cut is not dialled onward until the heal, as a SYN
    // lost in a partition is not answered until the network is back.
    if (!link.cut) conn.dial(link.target, this.#faults(link), this.#rng);
  }

  /** dialURL is the URL member `from` dials to reach member `to`'s listener of the given kind. */
  dialURL(from: number, to: number, kind: ProxyLinkKind): string {
    const link = this.#links.find((l) => l.from === from && l.to === to && l.kind === kind);
    if (link === undefined) throw new RangeError(`No proxy link from member ${from} to ${to}`);
    return `http://${this.#host}:${link.port}`;
  }

  /** dialMap is member i's RAFTKUBE_TEST_PEER_DIAL map: every other member's URLs → their proxies. */
  dialMap(i: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of this.#links) {
      if (l.from !== i) continue;
      const m = this.members[l.to]!;
      out[l.kind === 'peer' ? m.peerURL : m.clientURL] = this.dialURL(i, l.to, l.kind);
    }
    return out;
  }

  /** memberEnv is the environment member i must start with to dial through the proxy. */
  memberEnv(i: number): Record<string, string> {
    return { [TEST_PEER_DIAL_ENV]: encodeTestPeerDial(this.dialMap(i)) };
  }

  /** acceptedBytes is how much member `from` has sent towards member `to` (both listeners). */
  acceptedBytes(from: number, to: number): number {
    return this.#links.filter((l) => l.from === from && l.to === to).reduce((n, l) => n + l.accepted, 0);
  }

  #pumpAll(flush: boolean): void {
    for (const l of this.#links) for (const c of l.conns) c.pump(flush);
  }

  async cut(pairs: readonly (readonly [number, number])[]): Promise<void> {
    for (const [a, b] of pairs) {
      for (const l of this.#links) if ((l.from === a && l.to === b) || (l.from === b && l.to === a)) l.cut = true;
    }
    this.#pumpAll(false);
  }

  async delay(ms: number): Promise<void> {
    this.#delayMs = ms;
  }

  async loss(percent: number): Promise<void> {
    this.#lossPercent = percent;
  }

  /** heal removes every fault, dials what waited on a cut and sends everything queued at once. */
  async heal(): Promise<void> {
    this.#delayMs = 0;
    this.#lossPercent = 0;
    for (const l of this.#links) {
      l.cut = false;
      for (const c of l.conns) if (!c.dialled) c.dial(l.target, this.#faults(l), this.#rng);
    }
    this.#pumpAll(true);
  }

  /** destroy closes every listener and connection. */
  async destroy(): Promise<void> {
    for (const l of this.#links) for (const c of [...l.conns]) c.close();
    await Promise.all(this.#links.map((l) => closeServer(l.server)));
  }
}
