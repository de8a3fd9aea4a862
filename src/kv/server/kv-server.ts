/**
 * kv-server: a member's request path (etcd's EtcdServer): proposing writes through Raft on the
 * leader (a follower forwards them to the leader over the client API), gating linearizable
 * reads on ReadIndex, filling response headers, running lease expiry while leading.
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../../raft/index.js';
import { NO_NODE } from '../../raft/index.js';
import { ProposalError, type RaftDriver } from '../../raft/driver.js';
import { loadProtoDefinitions, type ResponseHeader, type TxnRequest } from '../proto/index.js';
import type { KvStateMachine, ApplyResult } from './state-machine.js';
import { checkProposal, encodeMemberAttrs, encodeMemberUpdate, encodeWireBytes, requestIdKey, wireMessage, TRACED_ID_BIT, type WireKind } from './requests.js';
import { MemberTracer } from './tracer.js';
import { randomBytes } from 'node:crypto';
import { etcdError, EtcdError } from './errors.js';
import { leaseId } from './convert.js';
import { stripScheme } from '../client/etcd-client.js';
import type { DialRewrite } from '../transport/test-peer-dial.js';
import { txnPuts, type SpaceQuota } from './alarms.js';
import { channelCredentials, isHttps, type TlsMaterial } from '../member/tls.js';

/** KvServerOptions wires a member's request path. */
export interface KvServerOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly driver: RaftDriver<ApplyResult>;
  readonly sm: KvStateMachine;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly now: () => number;
  readonly log: (msg: string) => void;
  /**
   * unsafeLocalReads is a deliberately broken, test-only mode: linearizable reads are served
   * from local state without ReadIndex, so a follower or a deposed leader answers stale. It
   * exists so the chaos suite can show that its checks catch such a cluster.
   */
  readonly unsafeLocalReads?: boolean;
  /** dial maps the leader's client URL to where to forward (test-only, see test-peer-dial.ts). */
  readonly dial?: DialRewrite;
  /**
   * tls is this member's client-side certificate (--cert-file, as etcd's own gateway uses it)
   * and the CA (--trusted-ca-file) to reach the leader's https:// client URL with.
   */
  readonly tls?: TlsMaterial | null;
  /** onProposalFailed hears of each write this member submitted that failed or timed out (metrics). */
  readonly onProposalFailed?: () => void;
  /** quota is the backend space quota (--quota-backend-bytes); without it writes are never refused for space. */
  readonly quota?: SpaceQuota;
  /** tracer records sampled requests (bench kv --trace); default: one that is never enabled. */
  readonly tracer?: MemberTracer;
}

/** UNSAFE_LOCAL_READS_ENV set to 1 starts a member in the test-only unsafeLocalReads mode. */
export const UNSAFE_LOCAL_READS_ENV = 'RAFTKUBE_TEST_UNSAFE_LOCAL_READS';

type ServiceName = 'KV' | 'Lease' | 'Cluster' | 'Maintenance';

/** LEADER_URL_WAIT_MS bounds how long a forwarded request waits for the leader's client URL. */
const LEADER_URL_WAIT_MS = 5_000;
/** LEADER_URL_POLL_MS is how often a forwarded request looks for the leader's client URL. */
const LEADER_URL_POLL_MS = 20;
/** FORWARD_DEADLINE_MS bounds a request forwarded to the leader. */
const FORWARD_DEADLINE_MS = 10_000;
/** REQUEST_TIMEOUT_MS bounds how long a write waits to apply (etcd: about 7 s by default). */
const REQUEST_TIMEOUT_MS = 7_000;
/** PENDING_SWEEP_MS is how often writes that waited too long are failed. */
const PENDING_SWEEP_MS = 200;
/** LEASE_EXPIRY_CHECK_MS is how often the leader looks for expired leases (etcd: 500 ms). */
const LEASE_EXPIRY_CHECK_MS = 500;
/** LEASE_REVOKES_PER_CHECK bounds the revocations one check proposes, so a burst is spread out. */
const LEASE_REVOKES_PER_CHECK = 100;

/** KvServer is the member's request path shared by the gRPC services. */
export class KvServer {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly driver: RaftDriver<ApplyResult>;
  readonly sm: KvStateMachine;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly now: () => number;
  readonly log: (msg: string) => void;
  readonly #forwarders = new Map<string, grpc.Client>();
  readonly #pending = new Map<bigint, { resolve: (r: ApplyResult) => void; reject: (e: Error) => void; deadline: number }>();
  /** #idPrefix makes request IDs unique across members and restarts (random high 32 bits). */
  readonly #idPrefix = BigInt(randomBytes(4).readUInt32BE(0));
  #seq = 0;
  #sweeper: NodeJS.Timeout | null = null;
  /** requestTimeoutMs bounds how long a write waits to apply (REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs = REQUEST_TIMEOUT_MS;
  #leaseTimer: NodeJS.Timeout | null = null;
  #wasLeader = false;
  readonly #unsafeLocalReads: boolean;
  readonly #dial: DialRewrite;
  readonly #tls: TlsMaterial | null;
  readonly #onProposalFailed: () => void;
  readonly #quota: SpaceQuota | null;
  #raisingNoSpace = false;
  /** tracer records where sampled requests spend their time (off unless the bench enables it). */
  readonly tracer: MemberTracer;

  constructor(o: KvServerOptions) {
    this.tracer = o.tracer ?? new MemberTracer(o.id.toString(16));
    this.#quota = o.quota ?? null;
    this.#onProposalFailed = o.onProposalFailed ?? (() => undefined);
    this.#unsafeLocalReads = o.unsafeLocalReads === true;
    this.#dial = o.dial ?? ((url) => url);
    this.#tls = o.tls ?? null;
    this.id = o.id;
    this.clusterId = o.clusterId;
    this.driver = o.driver;
    this.sm = o.sm;
    this.maxRequestBytes = o.maxRequestBytes;
    this.maxTxnOps = o.maxTxnOps;
    this.now = o.now;
    this.log = o.log;
  }

  /** header is the ResponseHeader of a response produced now (revision: the store's current). */
  header(revision?: number): ResponseHeader {
    return {
      cluster_id: this.clusterId,
      member_id: String(this.id),
      revision: revision ?? this.sm.store.currentRevision,
      raft_term: this.driver.status().term,
    };
  }

  isLeader(): boolean {
    return this.driver.status().role === 'leader';
  }

  leader(): NodeId {
    return this.driver.status().leader;
  }

  /** onLeadership is called after each Ready: promote or demote the lessor on a change. */
  onLeadership(): void {
    const leader = this.isLeader();
    if (leader === this.#wasLeader) return;
    this.#wasLeader = leader;
    if (leader) {
      this.sm.lessor.promote(this.now());
      this.#leaseTimer = setInterval(() => this.#expireLeases(), LEASE_EXPIRY_CHECK_MS);
      this.#leaseTimer.unref();
    } else {
      this.sm.lessor.demote();
      if (this.#leaseTimer !== null) clearInterval(this.#leaseTimer);
      this.#leaseTimer = null;
    }
  }

  #expireLeases(): void {
    for (const id of this.sm.lessor.expired(this.now(), LEASE_REVOKES_PER_CHECK)) {
      // NB: the revoke goes through Raft; until it applies, the lease stays expired here and
      // keep-alives for it fail, so a client cannot resurrect it.
      this.submitWire('lease-revoke', { ID: leaseId(id) }).catch((err: unknown) => {
        this.log(`Could not revoke expired lease ${id.toString(16)}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  }

  /**
   * submitWire sends an etcd write through the log — appended here on the leader, forwarded to
   * the leader (batched, over the peer link) on a follower — and resolves with this member's
   * own result of applying it, which every member computes alike. `trace` is the token of a
   * sampled request (bench kv --trace): its ID then carries TRACED_ID_BIT. A transaction comes
   * as bytes and goes through submitEncoded, which has it decoded for the space quota's check.
   */
  submitWire(kind: Exclude<WireKind, 'txn'>, raw: object, trace: string | null = null): Promise<ApplyResult> {
    return this.#propose(kind, null, trace, wireMessage(kind, raw), false);
  }

  /**
   * submitEncoded is submitWire for a put or txn whose request is already protobuf (the client's
   * bytes, read by decodePutRequest or decodeTxnRequest at the door, which gave `txn`): it enters
   * the log as it is.
   */
  submitEncoded(kind: 'put', message: Buffer, trace?: string | null): Promise<ApplyResult>;
  submitEncoded(kind: 'txn', message: Buffer, trace: string | null, txn: TxnRequest): Promise<ApplyResult>;
  submitEncoded(kind: 'put' | 'txn', message: Buffer, trace: string | null = null, txn: TxnRequest | null = null): Promise<ApplyResult> {
    return this.#propose(kind, txn, trace, message, true);
  }

  /**
   * propose runs the door's quota check, names the request and submits its entry; `txn` is the
   * request when it is a transaction (the quota check reads it, only while space is short),
   * `message` is its protobuf; `readAtDoor` says the handler already read it with apply's reader.
   */
  #propose(kind: WireKind, txn: TxnRequest | null, trace: string | null, message: Buffer, readAtDoor: boolean): Promise<ApplyResult> {
    if ((kind === 'put' || kind === 'txn' || kind === 'lease-grant') && this.#outOfSpace(kind, txn)) return Promise.reject(etcdError('no-space'));
    const id = this.#newId(trace !== null);
    if (trace !== null) this.tracer.bind(trace, requestIdKey(id));
    return this.#submit(id, encodeWireBytes(kind, id, message), readAtDoor);
  }

  /**
   * outOfSpace is the quota check at the door (etcd's quotaKVServer): a write that needs space is
   * refused while a NOSPACE alarm is raised, and when this member's backend is over its quota,
   * which raises the alarm. Apply refuses the same writes (state-machine.ts), so one that got
   * past the door just before the alarm applied fails alike on every member.
   */
  #outOfSpace(kind: 'put' | 'txn' | 'lease-grant', txn: TxnRequest | null): boolean {
    const full = this.sm.alarms.has('NOSPACE');
    const over = this.#quota?.exceeded === true;
    if (!full && !over) return false;
    if (kind === 'txn' && txn !== null && !txnPuts(txn)) return false;
    if (over) this.raiseNoSpace();
    return true;
  }

  /** observeBackendSize records the backend's size for the quota check (the member measures it periodically, defragment at once). */
  observeBackendSize(bytes: number): void {
    this.#quota?.observe(bytes);
  }

  /**
   * raiseNoSpace proposes this member's NOSPACE alarm, once at a time, unless it is raised
   * already: the backend is over --quota-backend-bytes.
   */
  raiseNoSpace(): void {
    const me = String(this.id);
    if (this.#raisingNoSpace || this.sm.alarms.has('NOSPACE', me) || this.#quota === null) return;
    this.#raisingNoSpace = true;
    this.log(`The backend's size (${this.#quota.size} bytes) exceeds --quota-backend-bytes (${this.#quota.quotaBytes}): raising the NOSPACE alarm; writes are refused until it is disarmed (etcdctl alarm disarm) after compaction and defragmentation`);
    this.submitWire('alarm', { action: 'ACTIVATE', memberID: me, alarm: 'NOSPACE' })
      .catch((err: unknown) => this.log(`Could not raise the NOSPACE alarm (retried on the next check): ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (this.#raisingNoSpace = false));
  }

  /** submitMemberAttrs publishes a member's name and client URLs through the log. */
  submitMemberAttrs(member: NodeId, name: string, clientURLs: readonly string[]): Promise<ApplyResult> {
    const id = this.#newId();
    return this.#submit(id, encodeMemberAttrs(id, member, name, clientURLs));
  }

  /** submitMemberUpdate changes a member's peer URLs through the log. */
  submitMemberUpdate(member: NodeId, peerURLs: readonly string[]): Promise<ApplyResult> {
    const id = this.#newId();
    return this.#submit(id, encodeMemberUpdate(id, member, peerURLs));
  }

  #newId(traced = false): bigint {
    // NB: bit 31 is TRACED_ID_BIT; the sequence wraps below it.
    this.#seq = (this.#seq + 1) & 0x7fffffff;
    const id = (this.#idPrefix << 32n) | BigInt(this.#seq);
    return traced ? id | TRACED_ID_BIT : id;
  }

  async #submit(id: bigint, data: Uint8Array, readAtDoor = false): Promise<ApplyResult> {
    // The log's door: nothing too large, nothing that apply could not decode (requests.ts).
    const check = checkProposal(data, this.maxRequestBytes, readAtDoor);
    if (!check.ok) {
      if (check.reason === 'too-large') throw etcdError('request-too-large');
      throw etcdError('invalid-argument', `the request does not decode back as it would be applied (${check.detail}); it was not proposed`);
    }
    const applied = new Promise<ApplyResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: this.now() + this.requestTimeoutMs });
    });
    // NB: the request's deadline runs from now, also while submit waits: a driver held up by a
    // slow or stalled disk takes no input, and the request must time out rather than hang (and
    // a rejection of `applied` before anyone awaits it must not go unhandled: that would end
    // the process).
    applied.catch(() => undefined);
    this.#ensureSweeper();
    try {
      await Promise.race([this.driver.submit(data), applied]);
    } catch (err: unknown) {
      this.#pending.delete(id);
      this.#onProposalFailed();
      throw mapProposalError(err);
    }
    return applied;
  }

  /** pendingCount is the number of writes submitted here that have not applied yet. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** onApplied resolves the request `id` if this member submitted it. */
  onApplied(id: bigint, result: ApplyResult): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    p.resolve(result);
  }

  #ensureSweeper(): void {
    if (this.#sweeper !== null) return;
    // NB: one timer for all requests; a request lost with a leader change times out here.
    this.#sweeper = setInterval(() => {
      const now = this.now();
      for (const [id, p] of this.#pending) {
        if (p.deadline > now) continue;
        this.#pending.delete(id);
        this.#onProposalFailed();
        p.reject(etcdError('timeout'));
      }
      if (this.#pending.size === 0 && this.#sweeper !== null) {
        clearInterval(this.#sweeper);
        this.#sweeper = null;
      }
    }, PENDING_SWEEP_MS);
    this.#sweeper.unref();
  }

  /**
   * linearizableRead waits until a read of the local state is linearizable (ReadIndex). `trace`
   * is the token of a sampled read (bench kv --trace).
   */
  async linearizableRead(trace: string | null = null): Promise<void> {
    if (this.#unsafeLocalReads) return;
    try {
      if (trace === null) await this.driver.readIndex();
      else await this.driver.readIndex(undefined, (key) => this.tracer.bind(trace, key));
    } catch (err: unknown) {
      throw mapProposalError(err);
    }
  }

  /** leaderClient returns a gRPC client to the leader's client URL, or throws no-leader. */
  leaderClient(): grpc.Client {
    const lead = this.leader();
    if (lead === NO_NODE) throw etcdError('no-leader');
    const m = this.sm.members.get(lead);
    const url = m?.clientURLs[0];
    if (url === undefined) throw etcdError('no-leader', `the leader ${lead.toString(16)} has not published its client URL yet`);
    const target = stripScheme(this.#dial(url));
    const key = `${isHttps(url) ? 'https' : 'http'}://${target}`;
    let c = this.#forwarders.get(key);
    if (c === undefined) {
      c = new grpc.Client(target, channelCredentials(this.#tls, url), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
      this.#forwarders.set(key, c);
    }
    return c;
  }

  /** forward sends a unary request to the leader unchanged and returns its raw response. */
  async forward(service: ServiceName, method: string, raw: unknown, deadlineMs = FORWARD_DEADLINE_MS): Promise<unknown> {
    const def = loadProtoDefinitions().etcd[service] as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
    const m = def[method]!;
    await this.#leaderURLKnown(Math.min(deadlineMs, LEADER_URL_WAIT_MS));
    const client = this.leaderClient();
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, raw, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, value?: unknown) => {
        if (err !== null) reject(err);
        else resolve(value);
      });
    });
  }

  /**
   * leaderURLKnown waits (up to waitMs) until the leader's client URL has applied here.
   * NB: a member publishes its client URL through the log once it has started, so just after
   * start-up a follower may know who leads before it can reach it; failing the request then
   * ("no leader") would break clients that do not retry writes, such as etcdctl.
   */
  async #leaderURLKnown(waitMs: number): Promise<void> {
    const deadline = this.now() + waitMs;
    for (;;) {
      const lead = this.leader();
      if (lead === NO_NODE || this.sm.members.get(lead)?.clientURLs[0] !== undefined || this.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, LEADER_URL_POLL_MS));
    }
  }

  /** close stops timers and forwarding clients, failing what still waits. */
  close(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const p of this.#pending.values()) p.reject(etcdError('stopped'));
    this.#pending.clear();
    if (this.#leaseTimer !== null) clearInterval(this.#leaseTimer);
    this.#leaseTimer = null;
    for (const c of this.#forwarders.values()) c.close();
    this.#forwarders.clear();
  }
}

/** mapProposalError turns a driver failure into etcd's error. */
export function mapProposalError(err: unknown): Error {
  if (err instanceof EtcdError) return err;
  if (err instanceof ProposalError) {
    switch (err.reason) {
      case 'not-leader':
        return etcdError(err.leaderHint === NO_NODE ? 'no-leader' : 'leader-changed');
      case 'dropped':
        return etcdError('leader-changed');
      case 'timeout':
        return etcdError('timeout');
      case 'stopped':
        return etcdError('stopped');
      case 'transferring':
        return etcdError('leader-changed', 'leadership is being transferred; retry');
      case 'conf-change-pending':
        return etcdError('conf-change-pending');
      case 'invalid-conf-change':
        return etcdError('invalid-argument', err.message);
      case 'too-large':
        return etcdError('request-too-large');
    }
  }
  return err instanceof Error ? err : new Error(String(err));
}
