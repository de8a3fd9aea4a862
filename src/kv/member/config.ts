/**
 * config: a member's configuration (etcd-like flags) and the identifiers derived from it.
 * Member and cluster IDs are derived deterministically, like etcd's, so every member computes
 * the same IDs from the same --initial-cluster.
 */
import { createHash } from 'node:crypto';
import { nodeId, type NodeId } from '../../raft/index.js';

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

/** parseInitialCluster parses "n1=http://a:1,n2=http://b:2" (a name may repeat for several URLs). */
export function parseInitialCluster(s: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of s.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(`--initial-cluster entry "${part}" must look like name=http://host:port`);
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

/** checkURL refuses anything but http://host:port. */
export function checkURL(url: string, flag: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${flag}: "${url}" is not a URL; use http://host:port`);
  }
  if (u.protocol !== 'http:' || u.port === '') throw new ConfigError(`${flag}: "${url}" must be http://host:port (TLS is not supported yet)`);
}

/** hostPort turns http://host:port into host:port. */
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
