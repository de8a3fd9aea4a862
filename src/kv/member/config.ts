/**
 * config: a member's configuration (etcd-like flags) and the identifiers derived from it.
 * Member and cluster IDs are derived deterministically, like etcd's, so every member computes
 * the same IDs from the same --initial-cluster.
 */
import { createHash } from 'node:crypto';
import { nodeId, type NodeId } from '../../raft/index.js';
import { PEER_MAX_MESSAGE_BYTES } from '../transport/peer-transport.js';
import { CLIENT_FLAGS, PEER_FLAGS, tlsFlagsProblem, type TlsFlags } from './tls.js';

/** InitialMember is one entry of --initial-cluster. */
export interface InitialMember {
  readonly name: string;
  readonly peerURLs: readonly string[];
}

/** MemberConfig is everything `raftkube kv` needs to run one member. */
export interface MemberConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientURLs: readonly string[];
  readonly advertiseClientURLs: readonly string[];
  readonly listenPeerURLs: readonly string[];
  /**
   * listenMetricsURLs serve /metrics, /health, /livez and /readyz over plain HTTP (etcd's
   * --listen-metrics-urls); the client URLs serve them too, beside gRPC.
   */
  readonly listenMetricsURLs?: readonly string[];
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  /** heartbeatMs is one Raft tick (etcd's --heartbeat-interval). */
  readonly heartbeatMs: number;
  /** electionMs is the election timeout (etcd's --election-timeout). */
  readonly electionMs: number;
  /** maxRequestBytes refuses larger requests (etcd's --max-request-bytes, 1.5 MiB). */
  readonly maxRequestBytes: number;
  /** snapshotCount is the number of applied entries between Raft snapshots. */
  readonly snapshotCount: number;
  /** maxTxnOps is the most operations one txn may hold (etcd's --max-txn-ops). */
  readonly maxTxnOps: number;
  /**
   * quotaBackendBytes is the backend size above which the NOSPACE alarm is raised (etcd's
   * --quota-backend-bytes); absent or 0 means etcd's default, 2 GiB.
   */
  readonly quotaBackendBytes?: number;
  /** clientTls is --cert-file, --key-file, --trusted-ca-file, --client-cert-auth (see tls.ts). */
  readonly clientTls?: TlsFlags;
  /** peerTls is --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth. */
  readonly peerTls?: TlsFlags;
}

/** DEFAULTS are etcd's defaults where etcd has one. */
export const DEFAULTS = {
  heartbeatMs: 100,
  electionMs: 1000,
  maxRequestBytes: 1.5 * 1024 * 1024,
  snapshotCount: 100_000,
  maxTxnOps: 128,
  initialClusterToken: 'raftkube-cluster',
} as const;

/** ConfigError is a bad flag value, with a message that says how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** MIN_ELECTION_HEARTBEATS: the election timeout spans at least this many heartbeats (etcd's rule). */
const MIN_ELECTION_HEARTBEATS = 5;
/** MAX_ELECTION_MS is the longest election timeout accepted (etcd's limit, 50 s). */
export const MAX_ELECTION_MS = 50_000;
/**
 * MAX_REQUEST_BYTES_LIMIT is the largest --max-request-bytes accepted: half the peer message
 * limit, so a request forwarded or appended with its envelope always fits one peer message.
 */
export const MAX_REQUEST_BYTES_LIMIT = PEER_MAX_MESSAGE_BYTES / 2;

/**
 * memberConfigProblem says what is wrong with a member's configuration, naming the flag, or
 * null when it is usable: every URL http(s)://host:port, https only with a certificate and key
 * for that side (tls.ts), the member in --initial-cluster, no peer
 * URL claimed by two members, sizes and counts positive whole numbers, and an election timeout
 * of at least MIN_ELECTION_HEARTBEATS heartbeats and at most MAX_ELECTION_MS.
 */
export function memberConfigProblem(cfg: MemberConfig): string | null {
  const whole = (v: number, min: number): boolean => Number.isSafeInteger(v) && v >= min;
  if (cfg.name.length === 0 || /[,=]/.test(cfg.name)) return `--name must be a non-empty name without "," or "=", not "${cfg.name}"`;
  if (cfg.dataDir.length === 0) return '--data-dir must not be empty';
  if (cfg.initialClusterToken.length === 0) return '--initial-cluster-token must not be empty';
  const urlLists: [string, readonly string[]][] = [
    ['--listen-client-urls', cfg.listenClientURLs],
    ['--advertise-client-urls', cfg.advertiseClientURLs],
    ['--listen-peer-urls', cfg.listenPeerURLs],
  ];
  for (const u of cfg.listenMetricsURLs ?? []) {
    const bad = urlProblem(u, '--listen-metrics-urls');
    if (bad !== null) return bad;
  }
  for (const [flag, list] of urlLists) {
    if (list.length === 0) return `${flag} must list at least one URL`;
    for (const u of list) {
      const bad = urlProblem(u, flag);
      if (bad !== null) return bad;
    }
  }
  if (cfg.initialCluster.length === 0) return '--initial-cluster is empty; list every member as name=peerURL';
  const owner = new Map<string, string>();
  for (const m of cfg.initialCluster) {
    if (m.peerURLs.length === 0) return `--initial-cluster gives member ${m.name} no peer URL`;
    for (const u of m.peerURLs) {
      const bad = urlProblem(u, '--initial-cluster');
      if (bad !== null) return bad;
      const prev = owner.get(u);
      if (prev !== undefined && prev !== m.name) return `--initial-cluster gives peer URL ${u} to both ${prev} and ${m.name}`;
      owner.set(u, m.name);
    }
  }
  const clientTls = tlsFlagsProblem(cfg.clientTls, CLIENT_FLAGS, [
    { flag: '--listen-client-urls', list: cfg.listenClientURLs },
    { flag: '--advertise-client-urls', list: cfg.advertiseClientURLs },
  ]);
  if (clientTls !== null) return clientTls;
  const mine = cfg.initialCluster.find((m) => m.name === cfg.name)?.peerURLs ?? [];
  const peerTls = tlsFlagsProblem(cfg.peerTls, PEER_FLAGS, [
    { flag: '--listen-peer-urls', list: cfg.listenPeerURLs },
    { flag: '--initial-advertise-peer-urls', list: mine },
  ]);
  if (peerTls !== null) return peerTls;
  if (!cfg.initialCluster.some((m) => m.name === cfg.name)) return `--name ${cfg.name} is not in --initial-cluster; add ${cfg.name}=<its peer URL>`;
  if (cfg.initialClusterState !== 'new' && cfg.initialClusterState !== 'existing') return `--initial-cluster-state must be new or existing, not ${String(cfg.initialClusterState)}`;
  if (!whole(cfg.heartbeatMs, 1)) return `--heartbeat-interval must be a whole number of milliseconds ≥ 1, not ${cfg.heartbeatMs}`;
  if (!whole(cfg.electionMs, 1)) return `--election-timeout must be a whole number of milliseconds ≥ 1, not ${cfg.electionMs}`;
  if (cfg.electionMs < MIN_ELECTION_HEARTBEATS * cfg.heartbeatMs) {
    return `--election-timeout (${cfg.electionMs} ms) must be at least ${MIN_ELECTION_HEARTBEATS} × --heartbeat-interval (${cfg.heartbeatMs} ms)`;
  }
  if (cfg.electionMs > MAX_ELECTION_MS) return `--election-timeout (${cfg.electionMs} ms) must be at most ${MAX_ELECTION_MS} ms`;
  if (!whole(cfg.maxRequestBytes, 1)) return `--max-request-bytes must be a whole number ≥ 1, not ${cfg.maxRequestBytes}`;
  if (cfg.maxRequestBytes > MAX_REQUEST_BYTES_LIMIT) return `--max-request-bytes (${cfg.maxRequestBytes}) must be at most ${MAX_REQUEST_BYTES_LIMIT} (half the peer message limit)`;
  if (!whole(cfg.snapshotCount, 1)) return `--snapshot-count must be a whole number ≥ 1, not ${cfg.snapshotCount}`;
  if (!whole(cfg.maxTxnOps, 1)) return `--max-txn-ops must be a whole number ≥ 1, not ${cfg.maxTxnOps}`;
  if (cfg.quotaBackendBytes !== undefined && !whole(cfg.quotaBackendBytes, 0)) return `--quota-backend-bytes must be a whole number of bytes (0: the default, 2 GiB), not ${cfg.quotaBackendBytes}`;
  return null;
}

/** checkMemberConfig returns `cfg` if it is usable, else throws a ConfigError naming the flag. */
export function checkMemberConfig(cfg: MemberConfig): MemberConfig {
  const problem = memberConfigProblem(cfg);
  if (problem !== null) throw new ConfigError(problem);
  return cfg;
}

/** parseInitialCluster parses "n1=http://a:1,n2=http://b:2" (a name may repeat for several URLs). */
export function parseInitialCluster(s: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of s.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(`--initial-cluster entry "${part}" must look like name=http://host:port (or https://)`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    checkURL(url, '--initial-cluster');
    const urls = byName.get(name) ?? [];
    urls.push(url);
    byName.set(name, urls);
  }
  if (byName.size === 0) throw new ConfigError('--initial-cluster is empty; list every member as name=peerURL');
  return [...byName].map(([name, peerURLs]) => ({ name, peerURLs }));
}

/** checkURL refuses anything but http://host:port or https://host:port. */
export function checkURL(url: string, flag: string): void {
  const problem = urlProblem(url, flag);
  if (problem !== null) throw new ConfigError(problem);
}

function urlProblem(url: string, flag: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${flag}: "${url}" is not a URL; use http://host:port or https://host:port`;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.port === '') return `${flag}: "${url}" must be http://host:port or https://host:port`;
  return null;
}

/** hostPort turns http(s)://host:port into host:port. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

function hash52(parts: readonly string[]): number {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  const b = h.digest();
  // 52 bits keep ids exact as JS numbers; etcd uses 64, which our wire layer also accepts.
  const hi = b.readUInt32BE(0) & 0xfffff;
  const lo = b.readUInt32BE(4);
  const n = hi * 2 ** 32 + lo;
  return n === 0 ? 1 : n;
}

/** memberId derives a member's ID from its peer URLs and the cluster token (as etcd does). */
export function memberId(peerURLs: readonly string[], token: string): NodeId {
  return nodeId(hash52([...[...peerURLs].sort(), token]));
}

/** clusterId derives the cluster ID from the initial members' IDs. */
export function clusterId(ids: readonly NodeId[]): string {
  return String(hash52([...ids].sort((a, b) => a - b).map(String)));
}
