/**
 * peer-transport: raft messages between members over gRPC (raftkube.raftpb.Raft). One
 * bidirectional stream per ordered peer pair carries batches: every message queued for a peer
 * in one event-loop turn goes out as one MessageBatch. A dead or slow peer never blocks the
 * others: its stream is torn down and re-dialled with backoff, and what cannot be written is
 * dropped (Raft retransmits) and reported unreachable. Snapshots go over their own rpc in chunks.
 */
import * as grpc from '@grpc/grpc-js';
import type { Message, NodeId, SnapshotMessage } from '../../raft/index.js';
import type { Transport } from '../../raft/driver.js';
import { stripScheme } from '../client/etcd-client.js';
import type { DialRewrite } from './test-peer-dial.js';
import { channelCredentials, type TlsMaterial } from '../member/tls.js';
import {
  decodeBatch, encodeBatch, loadProtoDefinitions, snapshotChunks, SnapshotAssembler,
  type Id64, type RaftHandlers, type StreamAck, type SnapshotAck,
} from '../proto/index.js';

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
  /** maxQueuedBytes bounds what may wait in one peer's stream before messages are dropped. */
  readonly maxQueuedBytes?: number;
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
 * PEER_MAX_MESSAGE_BYTES bounds one gRPC message between members, on the peer server and
 * client: a batch of one Ready's messages to one peer (each append at most the core's
 * maxSizePerMsg, 1 MiB) or a 1 MiB snapshot chunk. Anything larger is refused by grpc-js.
 */
export const PEER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** MAX_QUEUED_BYTES_DEFAULT bounds what waits unsent on one peer's stream before the peer counts as unreachable. */
const MAX_QUEUED_BYTES_DEFAULT = 64 * 1024 * 1024;
/** KEEPALIVE_MS is how often an idle peer connection is pinged. */
const KEEPALIVE_MS = 10_000;
/** RECONNECT_MIN_MS and RECONNECT_MAX_MS bound the back-off between attempts to reach a peer. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 1_000;
/** STREAM_RETRY_MIN_MS is the wait before reopening a stream that worked (it doubles to RECONNECT_MAX_MS). */
const STREAM_RETRY_MIN_MS = 50;
/** SNAPSHOT_SEND_DEADLINE_MS bounds sending one snapshot to a peer. */
const SNAPSHOT_SEND_DEADLINE_MS = 120_000;

/** PEER_MAX_ACK_BYTES bounds what a member reads back from a peer it sends to (acknowledgements only). */
const PEER_MAX_ACK_BYTES = 64 * 1024;

/** SNAPSHOT_CHUNK_BYTES is the size of the chunks a snapshot is sent in. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

type Duplex = grpc.ClientDuplexStream<unknown, unknown>;

/** ACK_EVERY is how many batches a receiver takes per acknowledgement it sends. */
const ACK_EVERY = 64;

interface PeerLink {
  readonly id: NodeId;
  url: string;
  client: grpc.Client | null;
  stream: Duplex | null;
  queue: Message[];
  seq: number;
  /** retryAt is when a broken link may be re-dialled (monotonic ms). */
  retryAt: number;
  backoffMs: number;
  snapshotting: boolean;
}


/** PeerTransport implements the driver's Transport over gRPC streams. */
export class PeerTransport implements Transport {
  readonly #o: PeerTransportOptions;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #ClientCtor: grpc.ServiceClientConstructor;
  #closed = false;
  readonly #inbound = new Set<grpc.ServerDuplexStream<unknown, StreamAck>>();
  /** members whose snapshot is arriving now (one stream per peer at a time). */
  readonly #snapshotsIn = new Set<NodeId>();

  constructor(o: PeerTransportOptions) {
    this.#o = o;
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
    this.#links.set(id, { id, url, client: null, stream: null, queue: [], seq: 0, retryAt: 0, backoffMs: STREAM_RETRY_MIN_MS, snapshotting: false });
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

  /** send writes messages out, one batch per peer. */
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
    // already; deferring the write would hold the messages while the driver goes on working.
    this.#flush();
  }

  #flush(): void {
    const now = performance.now();
    for (const link of this.#links.values()) {
      if (link.queue.length === 0) continue;
      const msgs = link.queue;
      link.queue = [];
      const stream = this.#stream(link, now);
      if (stream === null) {
        this.#o.onUnreachable(link.id);
        continue;
      }
      // NB: a peer that does not drain its stream must not make us buffer without bound.
      if (stream.writableLength > (this.#o.maxQueuedBytes ?? MAX_QUEUED_BYTES_DEFAULT)) {
        this.#o.onUnreachable(link.id);
        continue;
      }
      link.seq++;
      stream.write(encodeBatch({ clusterId: this.#o.clusterId, from: this.#o.self, to: link.id, seq: link.seq, messages: msgs }));
    }
  }

  #client(link: PeerLink): grpc.Client {
    if (link.client === null) {
      const target = stripScheme(this.#o.dial?.(link.url) ?? link.url);
      link.client = new this.#ClientCtor(target, channelCredentials(this.#o.tls ?? null, link.url), {
        'grpc.max_receive_message_length': PEER_MAX_ACK_BYTES,
        'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': KEEPALIVE_MS,
        'grpc.initial_reconnect_backoff_ms': RECONNECT_MIN_MS,
        'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS,
      });
    }
    return link.client;
  }

  #stream(link: PeerLink, now: number): Duplex | null {
    if (link.stream !== null) return link.stream;
    if (now < link.retryAt) return null;
    const client = this.#client(link);
    return this.#openStream(link, client);
  }

  #openStream(link: PeerLink, client: grpc.Client): Duplex {
    const def = loadProtoDefinitions().raft.Stream;
    const stream = client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => unknown) as Duplex;
    link.stream = stream;
    const broken = (): void => {
      if (link.stream !== stream) return;
      link.stream = null;
      link.retryAt = performance.now() + link.backoffMs;
      link.backoffMs = Math.min(link.backoffMs * 2, RECONNECT_MAX_MS);
      this.#o.onUnreachable(link.id);
    };
    stream.on('data', () => {
      link.backoffMs = STREAM_RETRY_MIN_MS;
    });
    stream.on('error', broken);
    stream.on('end', broken);
    return stream;
  }

  #teardown(link: PeerLink): void {
    const s = link.stream;
    link.stream = null;
    if (s !== null) {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.cancel();
    }
    link.client?.close();
    link.client = null;
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
      Stream: (call) => {
        this.#inbound.add(call);
        // The first batch names the peer at the other end; every later one must agree.
        let peer: NodeId | null = null;
        let complained = false;
        const refuse = (code: grpc.status, details: string): void => {
          this.#o.log?.(`refused a raft stream: ${details}`);
          call.emit('error', { code, details });
          call.end();
        };
        call.on('data', (raw: unknown) => {
          const d = decodeBatch(raw);
          if (!d.ok) {
            this.#o.log?.(`refused a raft stream: malformed batch: ${d.error}`);
            call.destroy(new Error(`Malformed raft batch: ${d.error}`));
            return;
          }
          const b = d.value;
          if (b.clusterId !== this.#o.clusterId) return refuse(grpc.status.FAILED_PRECONDITION, `Peer ${b.from} belongs to cluster ${b.clusterId}, this member to ${this.#o.clusterId}`);
          if (b.to !== this.#o.self) return refuse(grpc.status.FAILED_PRECONDITION, `A batch for member ${b.to} reached member ${this.#o.self}; check the peer URLs`);
          if (b.from === this.#o.self) return refuse(grpc.status.FAILED_PRECONDITION, `A batch claims to come from this member (${b.from})`);
          if (peer === null) peer = b.from;
          else if (b.from !== peer) return refuse(grpc.status.FAILED_PRECONDITION, `A stream from member ${peer} carried a batch from member ${b.from}`);
          for (const m of b.messages) {
            if (m.from === b.from && m.to === this.#o.self) {
              this.#o.onMessage(m);
              continue;
            }
            // NB: one line per stream: a confused peer must not flood the log.
            if (!complained) this.#o.log?.(`dropped a ${m.type} message from ${m.from} to ${m.to} on member ${b.from}'s stream to ${this.#o.self} (and any more like it on this stream)`);
            complained = true;
          }
          // Acknowledge now and then, not per batch: the sender only needs to see the link alive,
          // and an answer per batch doubled the stream's work.
          if (b.seq % ACK_EVERY === 1) call.write({ seq: b.seq });
        });
        const done = (): void => {
          this.#inbound.delete(call);
          call.end();
        };
        call.on('end', done);
        call.on('error', () => this.#inbound.delete(call));
      },
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
    for (const c of this.#inbound) c.end();
    this.#inbound.clear();
  }
}
