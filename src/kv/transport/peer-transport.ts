/**
 * peer-transport: raft messages between members over one TCP connection (TLS for https://
 * peer URLs) per ordered pair of members, in the frames of frame-codec.ts. The dialling member
 * opens with a hello (cluster id, from, to) that the listening member checks; then every
 * message queued for the peer in one Ready goes out as one frame in one socket write, at once
 * (libuv writes to the kernel while the call runs, so a leader's appends leave before its own
 * WAL sync starts, Raft thesis §10.2.1). The listener hands each decoded frame's messages to
 * the raft node in the same turn and says nothing back but ACCEPT or REFUSE after the hello:
 * TCP itself reports a broken connection, the raft heartbeats show liveness, and keep-alive
 * probes find a silent peer.
 *
 * A dead or slow peer never blocks the others: a broken link is re-dialled with back-off, and
 * what a peer does not read piles up only to maxQueuedBytes before it is dropped (Raft
 * retransmits) and the peer reported unreachable. Snapshots, rare and large, go over the gRPC
 * SendSnapshot rpc in chunks; the peer listener serves that and the raft link on one port.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Message, NodeId, SnapshotMessage } from '../../raft/index.js';
import type { Transport } from '../../raft/driver.js';
import { stripScheme } from '../client/etcd-client.js';
import type { DialRewrite } from './test-peer-dial.js';
import { channelCredentials, isHttps, type TlsMaterial } from '../member/tls.js';
import { loadProtoDefinitions, snapshotChunks, SnapshotAssembler, type Id64, type RaftHandlers, type SnapshotAck } from '../proto/index.js';
import {
  clusterIdOnWire,
  decodeBatchBody,
  encodeAccept,
  encodeBatchFrame,
  encodeHello,
  encodeRefuse,
  FrameKind,
  FrameReader,
  isLinkError,
  LINK_ALPN,
  messageSize,
} from './frame-codec.js';

/** PeerTransportOptions configures a member's peer links. */
export interface PeerTransportOptions {
  readonly self: NodeId;
  readonly clusterId: Id64;
  /** peers maps member ids to peer URLs (host:port or http://host:port). */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** onMessage receives every message addressed to this member. */
  readonly onMessage: (m: Message) => void;
  readonly onUnreachable: (id: NodeId) => void;
  readonly onSnapshotStatus: (id: NodeId, ok: boolean) => void;
  /** snapshotData supplies the state to ship with a snap message (the core's carry none). */
  readonly snapshotData: (m: SnapshotMessage) => Promise<Uint8Array>;
  /** maxQueuedBytes bounds what may wait unsent on one peer's connection before messages are dropped. */
  readonly maxQueuedBytes?: number;
  /** maxFrameBytes bounds one frame on the raft link, both ways (default PEER_MAX_MESSAGE_BYTES). */
  readonly maxFrameBytes?: number;
  /** maxSnapshotBytes is the largest snapshot accepted from a peer (default 2 GiB). */
  readonly maxSnapshotBytes?: number;
  readonly log?: (msg: string) => void;
  /**
   * dial maps a peer's URL to where to connect (default: the URL itself). Only the chaos
   * suite's proxy mode sets it, from the test-only RAFTKUBE_TEST_PEER_DIAL (test-peer-dial.ts).
   */
  readonly dial?: DialRewrite;
  /**
   * tls is the peer certificate (--peer-cert-file) presented to https:// peers, and the CA their
   * certificates are checked against; null or absent: https:// peers are verified against the
   * system's CAs and no certificate is presented.
   */
  readonly tls?: TlsMaterial | null;
}

/**
 * PEER_MAX_MESSAGE_BYTES bounds one frame of the raft link and one gRPC message between
 * members: a batch of one Ready's messages to one peer (each append at most the core's
 * maxSizePerMsg, 1 MiB) or a 1 MiB snapshot chunk. A larger batch is sent as several frames.
 */
export const PEER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** MAX_QUEUED_BYTES_DEFAULT bounds what waits unsent on one peer's connection before the peer counts as unreachable. */
const MAX_QUEUED_BYTES_DEFAULT = 64 * 1024 * 1024;
/** KEEPALIVE_MS is when an idle peer connection starts TCP keep-alive probes. */
const KEEPALIVE_MS = 10_000;
/** DIAL_TIMEOUT_MS bounds connecting (and the TLS handshake) to a peer. */
const DIAL_TIMEOUT_MS = 5_000;
/** HELLO_TIMEOUT_MS closes an accepted link whose hello does not arrive. */
const HELLO_TIMEOUT_MS = 10_000;
/** RECONNECT_MIN_MS and RECONNECT_MAX_MS bound the back-off between attempts to reach a peer. */
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1_000;
/** SNAPSHOT_SEND_DEADLINE_MS bounds sending one snapshot to a peer. */
const SNAPSHOT_SEND_DEADLINE_MS = 120_000;
/** PEER_MAX_REPLY_BYTES bounds a frame a member reads back on a link it dialled (ACCEPT or REFUSE). */
const PEER_MAX_REPLY_BYTES = 4096;
/** REFUSAL_LOG_EVERY_MS is how often one reason for refusing a link is logged. */
const REFUSAL_LOG_EVERY_MS = 60_000;

/** SNAPSHOT_CHUNK_BYTES is the size of the chunks a snapshot is sent in. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

interface PeerLink {
  readonly id: NodeId;
  url: string;
  /** client is the gRPC client for snapshots, made on the first one. */
  client: grpc.Client | null;
  socket: net.Socket | null;
  queue: Message[];
  /** retryAt is when a broken link may be re-dialled (monotonic ms). */
  retryAt: number;
  backoffMs: number;
  snapshotting: boolean;
  /** refusal is the last reason the peer gave for refusing the link (logged once). */
  refusal: string | null;
}

/** splitHostPort reads host:port or [v6]:port. */
function splitHostPort(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(':');
  return { host: target.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(target.slice(i + 1)) };
}

/** remoteOf names the other end of a socket for a log line. */
export function remoteOf(sock: net.Socket): string {
  return sock.remoteAddress === undefined ? 'an unknown address' : `${sock.remoteAddress}:${sock.remotePort ?? '?'}`;
}

/** PeerTransport implements the driver's Transport over raw TCP/TLS links. */
export class PeerTransport implements Transport {
  readonly #o: PeerTransportOptions;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #ClientCtor: grpc.ServiceClientConstructor;
  readonly #maxFrame: number;
  readonly #myCluster: Id64;
  #closed = false;
  /** every accepted connection, and which one carries each peer's link (the newest). */
  readonly #inbound = new Set<net.Socket>();
  readonly #inboundByPeer = new Map<NodeId, net.Socket>();
  /** when each refusal reason was last logged. */
  readonly #refusalsLogged = new Map<string, number>();
  /** members whose snapshot is arriving now (one stream per peer at a time). */
  readonly #snapshotsIn = new Set<NodeId>();

  constructor(o: PeerTransportOptions) {
    this.#o = o;
    this.#maxFrame = o.maxFrameBytes ?? PEER_MAX_MESSAGE_BYTES;
    this.#myCluster = clusterIdOnWire(o.clusterId);
    this.#ClientCtor = grpc.makeGenericClientConstructor(loadProtoDefinitions().raft, 'Raft');
    for (const [id, url] of o.peers) if (id !== o.self) this.addPeer(id, url);
  }

  /** addPeer starts linking to a member (idempotent; a new URL replaces the old). */
  addPeer(id: NodeId, url: string): void {
    if (id === this.#o.self) return;
    const link = this.#links.get(id);
    if (link !== undefined) {
      if (link.url !== url) {
        this.#teardown(link);
        link.url = url;
      }
      return;
    }
    this.#links.set(id, { id, url, client: null, socket: null, queue: [], retryAt: 0, backoffMs: RECONNECT_MIN_MS, snapshotting: false, refusal: null });
  }

  /** removePeer stops linking to a member. */
  removePeer(id: NodeId): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    this.#teardown(link);
    this.#links.delete(id);
  }

  /** retainPeers drops every link to a member not in `ids` (removed from the cluster). */
  retainPeers(ids: ReadonlySet<number>): void {
    for (const id of [...this.#links.keys()]) if (!ids.has(id)) this.removePeer(id);
  }

  /**
   * connectAll dials every peer not linked yet, without a message to send: a member that starts
   * makes itself known at once, and each peer that accepts re-dials it without waiting out its
   * backoff (see acceptLink), so a restarted follower hears from its leader within a heartbeat.
   */
  connectAll(): void {
    if (this.#closed) return;
    const now = performance.now();
    for (const link of this.#links.values()) this.#socket(link, now);
  }

  /** send writes messages out, one frame per peer. */
  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const link = this.#links.get(m.to);
      if (link === undefined) continue;
      if (m.type === 'snap') {
        void this.#sendSnapshot(link, m);
        continue;
      }
      link.queue.push(m);
    }
    // NB: the driver hands over a whole Ready's messages at once, so writing now batches them
    // already; deferring the write would hold the messages while the driver syncs its WAL.
    this.#flush();
  }

  #flush(): void {
    const now = performance.now();
    for (const link of this.#links.values()) {
      if (link.queue.length === 0) continue;
      const msgs = link.queue;
      link.queue = [];
      const sock = this.#socket(link, now);
      if (sock === null) {
        this.#o.onUnreachable(link.id);
        continue;
      }
      // NB: a peer that does not read must not make us buffer without bound.
      if (sock.writableLength > (this.#o.maxQueuedBytes ?? MAX_QUEUED_BYTES_DEFAULT)) {
        this.#o.onUnreachable(link.id);
        continue;
      }
      this.#write(link, sock, msgs);
    }
  }

  /** write sends messages as one frame, or as several when they exceed the frame limit. */
  #write(link: PeerLink, sock: net.Socket, msgs: readonly Message[]): void {
    let size = 0;
    for (const m of msgs) size += messageSize(m);
    if (size + 1 <= this.#maxFrame) {
      sock.write(encodeBatchFrame(msgs, size));
      return;
    }
    let part: Message[] = [];
    let partSize = 0;
    for (const m of msgs) {
      const n = messageSize(m);
      if (n + 1 > this.#maxFrame) {
        this.#o.log?.(`Dropped a ${m.type} message of ${n} bytes to member ${link.id}: over the raft link's frame limit of ${this.#maxFrame} bytes`);
        continue;
      }
      if (partSize + n + 1 > this.#maxFrame) {
        sock.write(encodeBatchFrame(part, partSize));
        part = [];
        partSize = 0;
      }
      part.push(m);
      partSize += n;
    }
    if (part.length > 0) sock.write(encodeBatchFrame(part, partSize));
  }

  #client(link: PeerLink): grpc.Client {
    if (link.client === null) {
      const target = stripScheme(this.#o.dial?.(link.url) ?? link.url);
      link.client = new this.#ClientCtor(target, channelCredentials(this.#o.tls ?? null, link.url), {
        'grpc.max_receive_message_length': PEER_MAX_REPLY_BYTES,
        'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': KEEPALIVE_MS,
        'grpc.initial_reconnect_backoff_ms': RECONNECT_MIN_MS,
        'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS,
      });
    }
    return link.client;
  }

  #socket(link: PeerLink, now: number): net.Socket | null {
    if (link.socket !== null) return link.socket;
    if (now < link.retryAt) return null;
    return this.#dial(link);
  }

  /** dial opens the link to a peer and says hello; messages written meanwhile wait in the socket. */
  #dial(link: PeerLink): net.Socket {
    const { host, port } = splitHostPort(stripScheme(this.#o.dial?.(link.url) ?? link.url));
    const secure = isHttps(link.url);
    let sock: net.Socket;
    if (secure) {
      const m = this.#o.tls ?? null;
      sock = tls.connect({
        host,
        port,
        ALPNProtocols: [LINK_ALPN],
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        ...(m === null ? {} : { cert: m.cert, key: m.key, ...(m.ca === null ? {} : { ca: m.ca }) }),
      });
    } else {
      sock = net.connect({ host, port });
    }
    link.socket = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, KEEPALIVE_MS);
    sock.setTimeout(DIAL_TIMEOUT_MS);
    sock.once('timeout', () => sock.destroy(new Error(`Connecting to member ${link.id} at ${host}:${port} timed out`)));
    sock.once(secure ? 'secureConnect' : 'connect', () => {
      sock.setTimeout(0);
      const alpn = sock instanceof tls.TLSSocket ? sock.alpnProtocol : LINK_ALPN;
      if (alpn !== LINK_ALPN) this.#refused(link, sock, `the peer at ${host}:${port} does not offer the raft link over TLS (ALPN ${String(alpn)}); is it another raftkube version?`);
    });
    sock.write(encodeHello({ clusterId: this.#o.clusterId, from: this.#o.self, to: link.id }));
    const replies = new FrameReader({ maxFrameBytes: PEER_MAX_REPLY_BYTES, hello: false });
    sock.on('data', (chunk: Buffer) => {
      replies.push(chunk);
      for (let f = replies.next(); f !== null; f = replies.next()) {
        if (isLinkError(f) || 'hello' in f) return this.#refused(link, sock, `member ${link.id} answered with something other than the raft link: ${isLinkError(f) ? f.message : 'a hello'}`);
        if (f.kind === FrameKind.accept) {
          link.backoffMs = RECONNECT_MIN_MS;
          link.refusal = null;
        } else if (f.kind === FrameKind.refuse) {
          return this.#refused(link, sock, `member ${link.id} refused the raft link: ${f.body.subarray(1).toString('utf8')}`);
        } else {
          return this.#refused(link, sock, `member ${link.id} sent a frame of unknown kind ${f.kind}`);
        }
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (link.socket !== sock) return;
      link.socket = null;
      link.retryAt = performance.now() + link.backoffMs;
      link.backoffMs = Math.min(link.backoffMs * 2, RECONNECT_MAX_MS);
      this.#o.onUnreachable(link.id);
    });
    return sock;
  }

  /** refused closes a dialled link the peer will not take, logging each new reason once. */
  #refused(link: PeerLink, sock: net.Socket, reason: string): void {
    if (link.refusal !== reason) this.#o.log?.(`Cannot link to member ${link.id}: ${reason}`);
    link.refusal = reason;
    link.backoffMs = RECONNECT_MAX_MS;
    sock.destroy();
  }

  #teardown(link: PeerLink): void {
    const s = link.socket;
    link.socket = null;
    s?.destroy();
    link.client?.close();
    link.client = null;
  }

  /**
   * acceptLink takes a connection a peer opened to this member's peer listener for the raft
   * link (the listener has read nothing of it, or put back what it read). The hello must name
   * this cluster and this member and come from another member; then each frame's messages go
   * to onMessage. Anything else is refused with a reason the peer logs, and logged here.
   */
  acceptLink(sock: net.Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    this.#inbound.add(sock);
    sock.setNoDelay(true);
    sock.setKeepAlive(true, KEEPALIVE_MS);
    sock.setTimeout(HELLO_TIMEOUT_MS);
    const reader = new FrameReader({ maxFrameBytes: this.#maxFrame, hello: true });
    let link: { from: NodeId; to: NodeId } | null = null;
    let done = false;
    const refuse = (reason: string): void => {
      done = true;
      this.#logRefusal(reason, `refused a raft link from ${remoteOf(sock)}: ${reason}`);
      sock.pause();
      sock.end(encodeRefuse(reason));
      sock.destroySoon();
    };
    sock.once('timeout', () => {
      if (link === null && !done) refuse(`No hello within ${HELLO_TIMEOUT_MS} ms`);
    });
    sock.on('data', (chunk: Buffer) => {
      if (done) return;
      reader.push(chunk);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        if (isLinkError(f)) return refuse(f.message);
        if ('hello' in f) {
          const h = f.hello;
          if (clusterIdOnWire(h.clusterId) !== this.#myCluster) return refuse(`Member ${h.from} belongs to cluster ${h.clusterId}, this member to ${this.#myCluster}; was it started with another --initial-cluster-token or data directory?`);
          if (h.to !== this.#o.self) return refuse(`A link for member ${h.to} reached member ${this.#o.self}; check the peer URLs`);
          if (h.from === this.#o.self) return refuse(`A link claims to come from this member (${h.from})`);
          link = { from: h.from, to: h.to };
          sock.setTimeout(0);
          // NB: a re-dialled link replaces the old one, so nothing the old one still holds is
          // handed on after what the new one brings.
          const old = this.#inboundByPeer.get(h.from);
          if (old !== undefined && old !== sock) old.destroy();
          this.#inboundByPeer.set(h.from, sock);
          sock.write(encodeAccept());
          // The peer is up: our own link to it, if broken, need not wait out its backoff.
          const back = this.#links.get(h.from);
          if (back !== undefined && back.socket === null) {
            back.retryAt = 0;
            back.backoffMs = RECONNECT_MIN_MS;
          }
          continue;
        }
        if (link === null || f.kind !== FrameKind.batch) return refuse(`Unexpected frame of kind ${f.kind}`);
        const d = decodeBatchBody(f.body, link);
        if (!d.ok) return refuse(d.error.message);
        for (const m of d.value) this.#o.onMessage(m);
        if (sock.destroyed) return;
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.#inbound.delete(sock);
      if (link !== null && this.#inboundByPeer.get(link.from) === sock) this.#inboundByPeer.delete(link.from);
    });
    // NB: the listener hands the socket over paused (it read the first bytes to route it).
    sock.resume();
  }

  /** logRefusal logs a refusal, each reason at most once a minute (a refused peer re-dials every second). */
  #logRefusal(reason: string, line: string): void {
    const now = performance.now();
    const last = this.#refusalsLogged.get(reason);
    if (last !== undefined && now - last < REFUSAL_LOG_EVERY_MS) return;
    if (this.#refusalsLogged.size > 100) this.#refusalsLogged.clear();
    this.#refusalsLogged.set(reason, now);
    this.#o.log?.(line);
  }

  async #sendSnapshot(link: PeerLink, m: SnapshotMessage): Promise<void> {
    if (link.snapshotting) return;
    link.snapshotting = true;
    try {
      const data = await this.#o.snapshotData(m);
      const chunks = snapshotChunks({ ...m, snapshot: { ...m.snapshot, data } }, this.#o.clusterId, SNAPSHOT_CHUNK_BYTES);
      const def = loadProtoDefinitions().raft.SendSnapshot;
      const client = this.#client(link);
      await new Promise<void>((resolve, reject) => {
        const call = client.makeClientStreamRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize as (b: Buffer) => unknown,
          { deadline: Date.now() + SNAPSHOT_SEND_DEADLINE_MS },
          (err: grpc.ServiceError | null) => (err === null ? resolve() : reject(err)),
        );
        for (const c of chunks) call.write(c);
        call.end();
      });
      this.#o.onSnapshotStatus(link.id, true);
    } catch (err: unknown) {
      this.#o.log?.(`Snapshot to member ${link.id} failed: ${String(err)}`);
      this.#o.onSnapshotStatus(link.id, false);
    } finally {
      link.snapshotting = false;
    }
  }

  /** handlers serve the Raft service on this member's peer listener. */
  handlers(): RaftHandlers {
    return {
      SendSnapshot: (call, callback) => {
        const asm = new SnapshotAssembler({ maxBytes: this.#o.maxSnapshotBytes ?? 2 ** 31, clusterId: this.#o.clusterId });
        let from: NodeId | null = null;
        let settled = false;
        // The callback is answered exactly once, whatever arrives after a refusal.
        const settle = (e: { code: grpc.status; details: string } | null): void => {
          if (settled) return;
          settled = true;
          if (from !== null) this.#snapshotsIn.delete(from);
          if (e === null) {
            callback(null, { received: asm.received } satisfies SnapshotAck);
            return;
          }
          this.#o.log?.(`refused a snapshot${from === null ? '' : ` from member ${from}`}: ${e.details}`);
          callback(e);
        };
        call.on('data', (raw: unknown) => {
          if (settled) return;
          const r = asm.push(raw);
          if (!r.ok) return settle({ code: grpc.status.INVALID_ARGUMENT, details: r.error });
          const header = asm.header;
          if (from === null && header !== null) {
            if (header.to !== this.#o.self) return settle({ code: grpc.status.FAILED_PRECONDITION, details: `The snapshot is for member ${header.to}, not ${this.#o.self}` });
            if (this.#snapshotsIn.has(header.from)) return settle({ code: grpc.status.ALREADY_EXISTS, details: `A snapshot from member ${header.from} is already arriving; one at a time` });
            from = header.from;
            this.#snapshotsIn.add(from);
          }
          if (r.value !== null) {
            this.#o.onMessage(r.value);
            settle(null);
          }
        });
        call.on('end', () => settle({ code: grpc.status.INVALID_ARGUMENT, details: 'Snapshot stream ended before all data arrived' }));
        call.on('error', () => settle({ code: grpc.status.CANCELLED, details: 'Snapshot stream broke off' }));
      },
    };
  }

  /** close tears down every link. */
  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) this.#teardown(link);
    for (const sock of this.#inbound) sock.destroy();
    this.#inbound.clear();
    this.#inboundByPeer.clear();
  }
}
