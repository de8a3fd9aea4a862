/**
 * member: one etcd-compatible kv member — its write-ahead log, MVCC store, Raft node, driver,
 * peer transport and gRPC servers, wired together, recovered from disk on start and stopped in
 * order. The only place that knows about all of them.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  MemoryStorage, RawNode, NO_NODE, encodeConfChange, logIndex, nodeId, seededRng, term,
  type Entry, type HardState, type NodeId, type Snapshot,
} from '../../raft/index.js';
import { RaftDriver, type LogStore } from '../../raft/driver.js';
import { Wal, SnapshotStore, WalLogStore } from '../../raft/wal/index.js';
import { MvccStore } from '../mvcc/store.js';
import { WatchHub } from '../watch/index.js';
import { loadProtoDefinitions, addService, passBytes } from '../proto/index.js';
import { PEER_MAX_MESSAGE_BYTES, PeerTransport } from '../transport/peer-transport.js';
import { LINK_ALPN } from '../transport/frame-codec.js';
import { dialRewrite, parseTestPeerDial, TEST_PEER_DIAL_ENV, type DialRewrite } from '../transport/test-peer-dial.js';
import { KvStateMachine, SnapshotInstallError, type ApplyResult } from '../server/state-machine.js';
import { KvServer, UNSAFE_LOCAL_READS_ENV } from '../server/kv-server.js';
import { MemberTracer } from '../server/tracer.js';
import { encodeMemberContext } from '../server/members.js';
import { KvHotCalls, kvDirectOptions, kvDirectRoutes, kvService } from '../server/services/kv-service.js';
import { leaseService } from '../server/services/lease-service.js';
import { clusterService } from '../server/services/cluster-service.js';
import { backendSize, maintenanceService } from '../server/services/maintenance-service.js';
import { watchService } from '../server/services/watch-service.js';
import { authService } from '../server/services/auth-service.js';
import { earlyUnaryStatus } from '../server/services/early-status.js';
import { withRawStreams } from '../server/services/raw-stream.js';
import { DEFAULT_QUOTA_BACKEND_BYTES, SpaceQuota } from '../server/alarms.js';
import { EtcdCallError, EtcdClient, stripScheme } from '../client/etcd-client.js';
import { MemberMetrics, PeerRoundTrips } from '../metrics.js';
import { checkMemberConfig, clusterId as deriveClusterId, ConfigError, memberId, type MemberConfig } from './config.js';
import { decodeWalMeta, encodeWalMeta, type WalMeta } from '../server/records.js';
import { listenClient, listenMetrics, listenPeer, type HealthSource, type Listener, type ServerTls } from './http.js';
import { CLIENT_FLAGS, isHttps, loadTls, PEER_FLAGS, serverTlsOptions, type TlsMaterial } from './tls.js';

/** WAL_PREALLOCATE_BYTES is how far ahead the WAL preallocates, so a sync changes no file size. */
const WAL_PREALLOCATE_BYTES = 16 * 1024 * 1024;
/** JOIN_LOOKUP_DEADLINE_MS bounds asking the running members who we are, when joining. */
const JOIN_LOOKUP_DEADLINE_MS = 3_000;

/** JOIN_LOOKUP_RETRY_MS is how often a restarted member that joined asks the others again who they are. */
const JOIN_LOOKUP_RETRY_MS = 2_000;
/** MIN_ELECTION_TICKS is the fewest ticks an election timeout may round to. */
const MIN_ELECTION_TICKS = 2;
/** RAFT_MAX_SIZE_PER_MSG bounds the entries of one append (etcd's 1 MiB). */
const RAFT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** RAFT_MAX_INFLIGHT_MSGS bounds the appends in flight to one follower (etcd's default is 512). */
const RAFT_MAX_INFLIGHT_MSGS = 256;
/** SNAPSHOT_KEEP_ENTRIES_MAX bounds the log tail kept after a snapshot for slightly slow followers. */
const SNAPSHOT_KEEP_ENTRIES_MAX = 5_000;
/** SNAPSHOTS_RETAINED is how many snapshot files stay in snap/ after a new one. */
const SNAPSHOTS_RETAINED = 2;
/** PROGRESS_NOTIFY_INTERVAL_MS is how often watchers that asked for it get a progress notification (etcd: 10 min). */
const PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;
/** CLIENT_MESSAGE_HEADROOM_BYTES is what the client server accepts beyond --max-request-bytes (the refusal then names the limit). */
const CLIENT_MESSAGE_HEADROOM_BYTES = 512 * 1024;
/** LEADER_POLL_MS is how often MoveLeader checks whether the transfer finished. */
const LEADER_POLL_MS = 20;
/** QUOTA_CHECK_MS is how often the backend's size is compared with --quota-backend-bytes. */
const QUOTA_CHECK_MS = 1_000;
/** PUBLISH_RETRY_MS is how often the member tries to publish its name and client URLs until they apply. */
const PUBLISH_RETRY_MS = 300;
/** REFUSAL_LOG_EVERY_MS is how often the same refused party (address and reason) is logged again. */
const REFUSAL_LOG_EVERY_MS = 60_000;

/** Member is a running kv member. */
export interface Member {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly server: KvServer;
  /** metrics is this member's Prometheus registry (served at /metrics). */
  readonly metrics: MemberMetrics;
  stop(): Promise<void>;
}

/** HEALTH_KEY is the key health checks read (etcd reads "health" too). */
const HEALTH_KEY = Buffer.from('health');

function bootstrapEntries(cfg: MemberConfig, ids: readonly NodeId[]): Entry[] {
  // Every member of a new cluster writes the same first entries: one add-voter per member,
  // committed at term 1, so a member that later joins learns the initial members from the log.
  const members = cfg.initialCluster.map((m, i) => ({ m, id: ids[i]! })).sort((a, b) => a.id - b.id);
  return members.map(({ m, id }, i) => ({
    term: term(1),
    index: logIndex(i + 1),
    type: 'conf-change' as const,
    data: encodeConfChange({ type: 'add-voter', nodeId: id, context: encodeMemberContext({ name: m.name, peerURLs: m.peerURLs, clientURLs: [] }) }),
  }));
}

/**
 * refusalLogger logs each refused TLS handshake, once a minute per address and reason: a peer
 * that retries every second must not flood the log.
 */
function refusalLogger(log: Logger, what: 'client' | 'peer', hint: string): ServerTls['onRefused'] {
  const last = new Map<string, number>();
  return (remote, reason) => {
    const key = `${remote.replace(/:[^:]*$/, '')} ${reason}`;
    const now = performance.now();
    const at = last.get(key);
    if (at !== undefined && now - at < REFUSAL_LOG_EVERY_MS) return;
    last.set(key, now);
    if (last.size > 1_000) last.clear();
    log.warn({ remote, reason }, `refused a ${what} connection from ${remote}: TLS handshake failed: ${reason}; ${hint}`);
  };
}

/** lookUpSelf asks the running members (over their peer URLs) for our ID and the cluster ID. */
async function lookUpSelf(cfg: MemberConfig, myPeerURLs: readonly string[], dial: DialRewrite, peerTls: TlsMaterial | null): Promise<{ id: NodeId; clusterId: string; peers: Map<NodeId, string> }> {
  const others = cfg.initialCluster.filter((m) => m.name !== cfg.name).flatMap((m) => m.peerURLs);
  if (others.length === 0) throw new Error('--initial-cluster-state existing needs the running members in --initial-cluster');
  // NB: dialled with the peer certificate, as the peer listener may demand it (--peer-client-cert-auth).
  const tls = peerTls === null ? undefined : { cert: peerTls.cert, key: peerTls.key, ...(peerTls.ca === null ? {} : { ca: peerTls.ca }) };
  const client = new EtcdClient(others.map((u) => (isHttps(u) ? `https://${stripScheme(dial(u))}` : dial(u))), { deadlineMs: JOIN_LOOKUP_DEADLINE_MS, ...(tls === undefined ? {} : { tls }) });
  try {
    let resp: Awaited<ReturnType<EtcdClient['memberList']>>;
    try {
      resp = await client.memberList();
    } catch (err: unknown) {
      if (!(err instanceof EtcdCallError) || err.code !== grpc.status.UNAVAILABLE || !others.some(isHttps)) throw err;
      throw new Error(
        `Cannot reach the running members over their https:// peer URLs (${others.join(',')}): ${err.message}. ` +
          'Check that --peer-trusted-ca-file is the CA that signed their peer certificates and that --peer-cert-file is signed by the CA they trust (their logs name refused connections)',
      );
    }
    const me = resp.members.find((m) => m.peerURLs.some((u) => myPeerURLs.includes(u)));
    if (me === undefined) {
      throw new Error(`No member of the running cluster has peer URL ${myPeerURLs.join(',')}; add it first: etcdctl member add ${cfg.name} --peer-urls=${myPeerURLs.join(',')}`);
    }
    // NB: the running members' IDs come from the list, not from --initial-cluster: a member
    // that itself joined (or replaced another) has an ID MemberAdd assigned, which its peer URL
    // does not give. Without them this member could not answer the leader until it applied
    // the log that names them — and it gets no log while its answers go nowhere.
    const peers = new Map<NodeId, string>();
    for (const m of resp.members) if (m !== me && m.peerURLs[0] !== undefined) peers.set(nodeId(Number(m.ID)), m.peerURLs[0]);
    return { id: nodeId(Number(me.ID)), clusterId: resp.header.cluster_id, peers };
  } finally {
    client.close();
  }
}

/**
 * checkIdentity refuses a data directory that belongs to another member: one whose WAL names a
 * member or cluster other than the flags derive, for a member of the initial cluster.
 */
function checkIdentity(walMeta: WalMeta, freshWal: boolean, cfg: MemberConfig, derived: WalMeta): WalMeta {
  if (freshWal || cfg.initialClusterState !== 'new') return walMeta;
  if (walMeta.memberId === derived.memberId && walMeta.clusterId === derived.clusterId) return walMeta;
  throw new ConfigError(
    `${cfg.dataDir} holds member ${walMeta.memberId.toString(16)} of cluster ${walMeta.clusterId}, but --name and --initial-cluster make this member ${derived.memberId.toString(16)} of cluster ${derived.clusterId}; ` +
      'point --data-dir at this member\'s own directory (a member that joined a running cluster restarts with --initial-cluster-state existing)',
  );
}

/** startMember recovers (or bootstraps) a member from its data directory and starts serving. */
export async function startMember(cfg: MemberConfig, log: Logger): Promise<Member> {
  checkMemberConfig(cfg);
  // Test-only: the chaos suite's proxy mode redirects this member's dials to other members.
  const peerDial = parseTestPeerDial(process.env[TEST_PEER_DIAL_ENV]);
  if (!peerDial.ok) throw new Error(peerDial.error);
  if (peerDial.value !== null) log.warn({ dial: Object.fromEntries(peerDial.value) }, `${TEST_PEER_DIAL_ENV} is set: dialling other members through the given addresses (test-only)`);
  const dial = dialRewrite(peerDial.value);
  const clientTls = loadTls(cfg.clientTls, CLIENT_FLAGS);
  const peerTls = loadTls(cfg.peerTls, PEER_FLAGS);
  if (clientTls !== null && !cfg.listenClientURLs.some(isHttps)) log.warn('--cert-file is given but no client URL is https://; clients are served in plain text (the certificate is still used to reach other members\' https:// client URLs)');
  if (peerTls !== null && !cfg.listenPeerURLs.some(isHttps)) log.warn('--peer-cert-file is given but no peer URL is https://; peers are served in plain text');
  const ids = cfg.initialCluster.map((m) => memberId(m.peerURLs, cfg.initialClusterToken));
  const self = cfg.initialCluster.find((m) => m.name === cfg.name);
  if (self === undefined) throw new Error(`--name ${cfg.name} is not in --initial-cluster; add ${cfg.name}=<its peer URL>`);
  const id = memberId(self.peerURLs, cfg.initialClusterToken);
  const clusterId = deriveClusterId(ids);
  const dir = join(cfg.dataDir, 'member');
  mkdirSync(join(dir, 'wal'), { recursive: true });
  mkdirSync(join(dir, 'snap'), { recursive: true });

  const walDir = join(dir, 'wal');
  const freshWal = readdirSync(walDir).length === 0;
  let meta: WalMeta = { memberId: id, clusterId };
  let joinedPeers: ReadonlyMap<NodeId, string> = new Map();
  if (freshWal && cfg.initialClusterState === 'existing') {
    // Joining a running cluster: its members know our ID (assigned by MemberAdd) and theirs.
    const joined = await lookUpSelf(cfg, self.peerURLs, dial, peerTls);
    meta = { memberId: joined.id, clusterId: joined.clusterId };
    joinedPeers = joined.peers;
    log.info({ id: joined.id.toString(16), cluster: joined.clusterId }, 'joining an existing cluster');
  }
  // The gauges read the member's parts when scraped; until they exist they read as zero.
  const parts: { driver?: RaftDriver<ApplyResult>; kv?: KvServer; hub?: WatchHub; store?: MvccStore } = {};
  let watchStreams = 0;
  const metrics = new MemberMetrics({
    leader: () => parts.driver?.status().leader ?? 0,
    isLeader: () => parts.driver?.status().role === 'leader',
    isLearner: () => {
      const st = parts.driver?.status();
      return st !== undefined && st.confState.learners.includes(st.id);
    },
    committed: () => parts.driver?.status().commit ?? 0,
    applied: () => parts.driver?.applied ?? 0,
    pending: () => parts.kv?.pendingCount ?? 0,
    dbSize: () => (parts.store === undefined ? Promise.resolve(0) : backendSize(parts.store)),
    watchers: () => parts.hub?.watcherCount ?? 0,
    slowWatchers: () => (parts.hub === undefined ? 0 : parts.hub.watcherCount - parts.hub.syncedCount),
    watchStreams: () => watchStreams,
    currentRevision: () => parts.store?.currentRevision ?? 0,
    compactedRevision: () => parts.store?.compactedRevision ?? 0,
    keys: () => parts.store?.keyCount ?? 0,
  });
  // The MVCC store's index rebuild (its scan on a worker thread for a large store) runs while
  // this thread replays the WAL. NB: a failure of either closes the other before it is reported.
  const storeOpening = MvccStore.open(join(dir, 'db'), {
    onCheckpoint: (e) => {
      if (e.type === 'written') log.info({ revision: e.revision, keys: e.keys, records: e.records, bytes: e.bytes, encodeMs: Math.round(e.encodeMs), writeMs: Math.round(e.writeMs), ms: Math.round(e.ms) }, 'wrote an index checkpoint');
      else log.warn({ revision: e.revision, err: e.error }, 'could not write an index checkpoint; the next restart scans more of the database');
    },
  });
  storeOpening.catch(() => undefined); // observed below; not an unhandled rejection meanwhile
  const closeStoreQuietly = (): Promise<void> => storeOpening.then((s) => s.close(), () => undefined);
  // NB: once the WAL exists it says who this member is (as etcd, which ignores --initial-cluster*
  // then): a member that joined has the ID the cluster assigned, not the one its flags derive.
  const walStarted = performance.now();
  let opened: Awaited<ReturnType<typeof Wal.open>>;
  try {
    opened = await Wal.open(walDir, {
      ...(freshWal ? { metadata: encodeWalMeta(meta) } : {}),
      blockingIO: true,
      preallocate: WAL_PREALLOCATE_BYTES,
      onSyncDuration: (s) => metrics.observeWalFsync(s),
    });
  } catch (err: unknown) {
    await closeStoreQuietly();
    throw err;
  }
  const { wal, state } = opened;
  const walMs = performance.now() - walStarted;
  if (state.repairedTail !== null) log.warn({ repaired: state.repairedTail }, 'cut a torn write from the end of the WAL');
  let walMeta: WalMeta;
  try {
    walMeta = checkIdentity(decodeWalMeta(state.metadata, walDir), freshWal, cfg, { memberId: id, clusterId });
  } catch (err: unknown) {
    await Promise.all([wal.close(), closeStoreQuietly()]);
    throw err;
  }
  // NB: the store keeps its files in <dir>/snap itself.
  const snapStore = new SnapshotStore(dir);
  let store: MvccStore;
  try {
    store = await storeOpening;
  } catch (err: unknown) {
    await wal.close();
    throw err;
  }
  {
    const r = store.recovery;
    log.info(
      {
        walMs: Math.round(walMs),
        walEntries: state.entries.length,
        indexMs: Math.round(r.ms),
        indexVia: r.via,
        checkpointRevision: r.checkpointRevision,
        checkpointRejected: r.checkpointRejected, // NB: pino leaves out undefined fields
        revisions: r.revisions,
        keys: r.keys,
        sinceProcessStartMs: Math.round(performance.now()),
      },
      'recovered the WAL and the MVCC state',
    );
  }
  store.setCommitObserver((s) => metrics.observeBackendCommit(s));
  parts.store = store;
  const fresh = state.hardState.term === 0 && state.entries.length === 0 && state.snapshot === null;
  const myId = walMeta.memberId;
  const myCluster = walMeta.clusterId;
  metrics.identify(myId.toString(16));

  // A snapshot recorded in the WAL but newer than the store: the install was cut short.
  if (state.snapshot !== null && state.snapshot.index > store.consistentIndex) {
    const snap = await snapStore.loadMatching({ index: state.snapshot.index, term: state.snapshot.term });
    if (snap === null) throw new Error(`The WAL records snapshot ${state.snapshot.index} but ${join(dir, 'snap')} lacks it; the data directory is damaged`);
    await store.restoreSnapshot(snap.data);
  }

  const storage = new MemoryStorage();
  if (state.snapshot !== null) storage.applySnapshot({ metadata: state.snapshot, data: new Uint8Array(0) });
  let hardState: HardState = state.hardState;
  let entries = state.entries;
  if (fresh && cfg.initialClusterState === 'new') {
    entries = bootstrapEntries(cfg, ids);
    hardState = { term: term(1), vote: NO_NODE, commit: logIndex(entries.length) };
    await wal.save({ hardState, entries });
    log.info({ members: cfg.initialCluster.length }, 'bootstrapped a new cluster');
  }
  storage.setHardState(hardState);
  storage.append(entries);

  const electionTick = Math.max(MIN_ELECTION_TICKS, Math.round(cfg.electionMs / cfg.heartbeatMs));
  const node = new RawNode({ id: myId, storage, electionTick, heartbeatTick: 1, rng: seededRng(randomInt(2 ** 31)), preVote: true, checkQuorum: true, maxSizePerMsg: RAFT_MAX_SIZE_PER_MSG, maxInflightMsgs: RAFT_MAX_INFLIGHT_MSGS });
  const now = (): number => performance.now();

  let transport: PeerTransport | null = null;
  let kv: KvServer | null = null;
  const syncPeers = (): void => {
    if (transport === null) return;
    const members = sm.members.list();
    for (const m of members) {
      if (m.id === myId || m.peerURLs[0] === undefined) continue;
      transport.addPeer(m.id, m.peerURLs[0]);
    }
    // NB: before the first entries apply the registry is empty; never drop the initial peers then.
    // A member that joined keeps the links its join look-up gave it until the registry names
    // itself: until then the registry is the membership of some earlier point in the log, which
    // may not hold the members running now — the leader among them — and a newcomer that cannot
    // answer the leader is sent nothing more.
    const caughtUp = members.some((m) => m.id === myId);
    if (members.length > 0) transport.retainPeers(new Set([...members.map((m) => m.id), ...(caughtUp ? [] : joinedPeers.keys())]));
  };
  const sm = new KvStateMachine({
    store,
    now,
    restoreSnapshot: (data) => store.restoreSnapshot(data),
    log: (msg) => log.warn(msg),
    logError: (msg) => log.error(msg),
    onMembersChanged: syncPeers,
    onApplied: (id, result) => kv?.onApplied(id, result),
    onStorageError: (err) => {
      log.fatal({ err }, 'writing the MVCC state failed; stopping the member');
      process.exit(2);
    },
  });
  // A received snapshot's data is durable (snap/) before the WAL names it; recovery reads it.
  const logStore: LogStore = new WalLogStore(wal, snapStore);

  let lastSnapshotIndex = state.snapshot?.index ?? 0;
  let snapshotting = false;
  const maybeSnapshot = async (): Promise<void> => {
    const applied = driver.applied;
    if (snapshotting || applied - lastSnapshotIndex < cfg.snapshotCount) return;
    snapshotting = true;
    try {
      // The store must hold everything up to the snapshot durably before the log is cut.
      await store.commit({ sync: true });
      const at = logIndex(Math.min(applied, store.consistentIndex));
      const snap: Snapshot = storage.createSnapshot(at, node.confState(), new Uint8Array(0));
      await wal.save({ entries: [], snapshot: snap.metadata });
      // Keep some entries so slightly slow followers catch up from the log, not a snapshot.
      const keep = Math.min(SNAPSHOT_KEEP_ENTRIES_MAX, Math.floor(cfg.snapshotCount / 2));
      const compactTo = logIndex(Math.max(storage.firstIndex(), at - keep));
      if (compactTo > storage.firstIndex()) storage.compact(compactTo);
      await wal.releaseTo(compactTo);
      await snapStore.purge(SNAPSHOTS_RETAINED);
      lastSnapshotIndex = at;
      log.info({ index: at }, 'took a raft snapshot and compacted the log');
    } finally {
      snapshotting = false;
    }
  };

  let stopping = false;
  const tracer = new MemberTracer(myId.toString(16));
  const roundTrips = new PeerRoundTrips((to, s) => metrics.observePeerRoundTrip(to, s));
  const driver = new RaftDriver<ApplyResult>({
    node,
    storage,
    logStore,
    transport: {
      send: (msgs) => {
        for (const m of msgs) if (m.type === 'heartbeat') roundTrips.sent(m.to);
        transport?.send(msgs);
      },
    },
    stateMachine: sm,
    tickMs: cfg.heartbeatMs,
    tracer,
    onReady: (rd) => {
      if (rd.softState !== null) {
        metrics.observeLeader(rd.softState.leader);
        if (rd.softState.role !== 'leader') roundTrips.reset();
        log.info({ role: rd.softState.role, leader: rd.softState.leader.toString(16), term: driver.status().term }, 'raft state changed');
        kv?.onLeadership();
      }
      if (rd.snapshot !== null) log.info({ index: rd.snapshot.metadata.index, revision: store.currentRevision }, 'installed a snapshot from the leader');
      // A failed snapshot is a failed write or sync: as with the WAL, nothing since the last good
      // sync can be trusted, so the member stops rather than serve from state it cannot vouch for.
      if (rd.committedEntries.length > 0) {
        void maybeSnapshot().catch((err: unknown) => {
          log.fatal({ err }, 'taking a snapshot failed (a write or sync to disk failed); stopping the member');
          if (!stopping) process.exit(2);
        });
      }
    },
    onFatal: (err) => {
      // NB: nothing that waited for the failed save was sent or applied (acknowledgements and
      // votes go out only after a save succeeds), and after a failed sync the WAL takes no more.
      if (err instanceof SnapshotInstallError) log.fatal({ err }, err.message);
      else log.fatal({ err }, 'storage failed; stopping the member');
      if (!stopping) process.exit(2);
    },
  });

  transport = new PeerTransport({
    self: myId,
    clusterId: myCluster,
    peers: new Map(),
    onMessage: (m) => {
      if (m.type === 'heartbeat-resp') roundTrips.received(m.from);
      driver.receive(m);
    },
    onUnreachable: (pid) => {
      driver.node.reportUnreachable(pid);
      driver.kick();
    },
    onSnapshotStatus: (pid, ok) => {
      driver.node.reportSnapshot(pid, ok);
      driver.kick();
    },
    snapshotData: async () => {
      const chunks: Buffer[] = [];
      for await (const c of store.snapshot()) chunks.push(c);
      return Buffer.concat(chunks);
    },
    log: (msg) => log.warn(msg),
    dial,
    tls: peerTls,
  });
  // Peers known before anything is applied: the initial cluster, then the recovered registry.
  for (let i = 0; i < cfg.initialCluster.length; i++) {
    const m = cfg.initialCluster[i]!;
    if (ids[i] !== myId && m.peerURLs[0] !== undefined) transport.addPeer(ids[i]!, m.peerURLs[0]);
  }
  for (const [pid, url] of joinedPeers) transport.addPeer(pid, url);
  syncPeers();
  if (!freshWal && cfg.initialClusterState === 'existing') {
    // Restarting a member that joined: if it stopped before applying the entries that name the
    // running members (it was still catching up), neither its registry nor --initial-cluster
    // (whose derived IDs are wrong for members that themselves joined) says where to answer the
    // leader, and without answers the leader never sends it further. Ask the members again, in
    // the background (a restart must not wait on peers that may be restarting too), until they
    // answer or the registry names this member; its own WAL still says who it is.
    void (async () => {
      while (!stopping && !sm.members.list().some((m) => m.id === myId)) {
        try {
          joinedPeers = (await lookUpSelf(cfg, self.peerURLs, dial, peerTls)).peers;
          if (stopping) return;
          for (const [pid, url] of joinedPeers) transport.addPeer(pid, url);
          syncPeers();
          return;
        } catch {
          // Peers not answering yet (a restart of all of them, say): ask again shortly.
          await new Promise((r) => setTimeout(r, JOIN_LOOKUP_RETRY_MS));
        }
      }
    })();
  }

  const unsafeLocalReads = process.env[UNSAFE_LOCAL_READS_ENV] === '1';
  if (unsafeLocalReads) log.warn(`${UNSAFE_LOCAL_READS_ENV}=1: serving linearizable reads from local state without ReadIndex (test-only, deliberately broken)`);
  const quota = new SpaceQuota(cfg.quotaBackendBytes === undefined || cfg.quotaBackendBytes === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : cfg.quotaBackendBytes);
  metrics.setQuota(quota.quotaBytes);
  kv = new KvServer({ id: myId, clusterId: myCluster, driver, sm, maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps, now, log: (msg) => log.warn(msg), unsafeLocalReads, dial, tls: clientTls, onProposalFailed: () => metrics.proposalFailed(), quota, tracer });
  const hub = new WatchHub(store);
  parts.driver = driver;
  parts.kv = kv;
  parts.hub = hub;
  // Progress notifications for watchers that asked for them (etcd sends them every 10 minutes).
  const progressTimer = setInterval(() => hub.progressNotify(), PROGRESS_NOTIFY_INTERVAL_MS);
  progressTimer.unref();
  const defs = loadProtoDefinitions();
  // NB: channelz (grpc-js's per-call and per-session bookkeeping for its debug service) is off:
  // nothing here serves or reads it, and it costs timestamps and counters on every call.
  const grpcOpts = { 'grpc.max_receive_message_length': cfg.maxRequestBytes + CLIENT_MESSAGE_HEADROOM_BYTES, 'grpc.max_send_message_length': -1, 'grpc.enable_channelz': 0 };
  const clientServer = new grpc.Server({ ...grpcOpts, interceptors: [withRawStreams(earlyUnaryStatus)] });
  const server = kv;
  const waitForLeader = async (target: number, timeoutMs: number): Promise<boolean> => {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      if (driver.status().leader === target) return true;
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
    return false;
  };
  const kvHot = new KvHotCalls(server);
  addService(clientServer, passBytes(defs.etcd.KV, ['Put', 'Range', 'Txn']), kvService(server, kvHot));
  addService(clientServer, defs.etcd.Lease, leaseService(server));
  addService(clientServer, defs.etcd.Cluster, clusterService(server, cfg.initialClusterToken));
  addService(clientServer, defs.etcd.Maintenance, maintenanceService(server, waitForLeader));
  addService(clientServer, defs.etcd.Watch, watchService(server, hub, (d) => (watchStreams += d)));
  addService(clientServer, defs.etcd.Auth, authService(server));
  const peerServer = new grpc.Server({ 'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES, 'grpc.enable_channelz': 0 });
  addService(peerServer, defs.raft, transport.handlers());
  // A member joining the cluster asks a peer URL for the member list (etcd serves it there too).
  addService(peerServer, defs.etcd.Cluster, clusterService(server, cfg.initialClusterToken));
  // The peer URLs serve the raft link (raw TCP/TLS frames) and, on the same port, the gRPC
  // services above; peerTls is checked against https:// peer URLs in checkMemberConfig.
  const peerHint = peerTls?.clientCertAuth === true ? 'a member must present a peer certificate signed by --peer-trusted-ca-file to join' : 'check the peer certificates';
  const peerServerTls = peerTls === null ? null : { options: serverTlsOptions(peerTls, [LINK_ALPN, 'h2']), onRefused: refusalLogger(log, 'peer', peerHint) };
  const peerTransport = transport;
  const peerListeners: Listener[] = [await listenPeer(cfg.listenPeerURLs, peerServer, (sock) => peerTransport.acceptLink(sock), peerServerTls)];
  const health: HealthSource = {
    leader: () => driver.status().leader,
    // NB: NOSPACE is raised by the space quota; nothing raises CORRUPT yet (no hash check).
    alarms: () => sm.alarms.list().map((a) => a.alarm),
    serializableRead: () => {
      const r = store.range({ key: HEALTH_KEY, limit: 1, keys_only: true });
      if (!r.ok) throw new Error(r.error.message);
    },
    linearizableRead: (timeoutMs) => driver.readIndex(timeoutMs).then(() => undefined),
  };
  const listeners: Listener[] = [];
  try {
    const hint = clientTls?.clientCertAuth === true ? 'clients must present a certificate signed by --trusted-ca-file' : 'check the client\'s CA and the server certificate';
    const serverTls = clientTls === null ? null : { options: serverTlsOptions(clientTls, ['http/1.1', 'h2']), onRefused: refusalLogger(log, 'client', hint) };
    const direct = {
      routes: kvDirectRoutes(kvHot),
      options: kvDirectOptions(kvHot, grpcOpts['grpc.max_receive_message_length']),
      onUnavailable: () => log.warn('KV Put, Range and Txn are served through grpc-js: this grpc-js version does not let raftkube reach its HTTP/2 streams (see direct-unary.ts)'),
    };
    listeners.push(await listenClient(cfg.listenClientURLs, clientServer, { metrics, health, tracer }, serverTls, direct));
    if (cfg.listenMetricsURLs !== undefined && cfg.listenMetricsURLs.length > 0) listeners.push(await listenMetrics(cfg.listenMetricsURLs, { metrics, health, tracer }));
  } catch (err: unknown) {
    await Promise.all([...listeners, ...peerListeners].map((l) => l.close()));
    throw err;
  }
  listeners.push(...peerListeners);
  driver.start();
  // Make this member known to its peers now: a leader that was backing off re-dials at once.
  peerTransport.connectAll();
  log.info({ id: myId.toString(16), cluster: myCluster, client: cfg.listenClientURLs, peer: cfg.listenPeerURLs, sinceProcessStartMs: Math.round(performance.now()) }, 'member started');

  // Publish our name and client URLs through the log so MemberList and forwarding know them.
  const publisher = setInterval(() => {
    const me = sm.members.get(myId);
    if (me !== undefined && me.name === cfg.name && me.clientURLs.join() === cfg.advertiseClientURLs.join()) {
      clearInterval(publisher);
      return;
    }
    if (driver.status().leader === NO_NODE) return;
    server.submitMemberAttrs(myId, cfg.name, cfg.advertiseClientURLs).catch(() => undefined);
  }, PUBLISH_RETRY_MS);
  publisher.unref();

  // The space quota: this member's backend over --quota-backend-bytes raises its NOSPACE alarm
  // (through the log; a write refused at the door raises it too). Once raised, only an
  // operator clears it (etcdctl alarm disarm), after compaction and defragmentation.
  let checkingQuota = false;
  const quotaTimer = setInterval(() => {
    if (checkingQuota) return;
    checkingQuota = true;
    void backendSize(store)
      .then((size) => {
        server.observeBackendSize(size);
        if (quota.exceeded && driver.status().leader !== NO_NODE) server.raiseNoSpace();
      })
      .finally(() => (checkingQuota = false));
  }, QUOTA_CHECK_MS);
  quotaTimer.unref();

  return {
    id: myId,
    clusterId: myCluster,
    server,
    metrics,
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(publisher);
      clearInterval(progressTimer);
      clearInterval(quotaTimer);
      driver.stop();
      server.close();
      hub.close();
      transport?.close();
      // NB: the client listeners' close waits for their gRPC connections, which tryShutdown ends.
      await Promise.all([
        new Promise<void>((r) => clientServer.tryShutdown(() => r())),
        new Promise<void>((r) => peerServer.tryShutdown(() => r())),
        ...listeners.map((l) => l.close()),
      ]);
      sm.close();
      await wal.close();
      await store.commit({ sync: true });
      await store.close();
    },
  };
}
