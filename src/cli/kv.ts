/**
 * kv: `raftkube kv` — run one member in this process, with etcd's flag names.
 */
import { resolve } from 'node:path';
import type { TlsFlags } from '../kv/member/tls.js';
import { createLogger, parseLogFormat } from './log-format.js';
import { checkMemberConfig, checkURL, ConfigError, DEFAULTS, parseInitialCluster, type MemberConfig } from '../kv/member/config.js';
import { installTestFailpoints } from '../kv/member/failpoints.js';
import { startMember } from '../kv/member/member.js';

function urls(v: unknown, flag: string): string[] {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${flag} is required`);
  const list = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const u of list) checkURL(u, flag);
  return list;
}

function num(v: unknown, def: number): number {
  return typeof v === 'number' ? v : def;
}

/** tlsFlags gathers one side's TLS flags (keys prefixed `peer` for the peer side). */
function tlsFlags(o: KvFlags, prefix: '' | 'peer'): TlsFlags | undefined {
  const k = (name: string): string => (prefix === '' ? name : `${prefix}${name[0]!.toUpperCase()}${name.slice(1)}`);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const certFile = str(o[k('certFile')]);
  const keyFile = str(o[k('keyFile')]);
  const trustedCaFile = str(o[k('trustedCaFile')]);
  const clientCertAuth = o[k('clientCertAuth')] === true;
  if (certFile === undefined && keyFile === undefined && trustedCaFile === undefined && !clientCertAuth) return undefined;
  return { ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }), ...(trustedCaFile === undefined ? {} : { trustedCaFile }), clientCertAuth };
}

/** KvFlags are `raftkube kv`'s parsed flags. */
export type KvFlags = Record<string, string | number | boolean | undefined>;

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** memberConfig turns parsed flags into a checked MemberConfig, with errors naming the flag. */
export function memberConfig(o: KvFlags): MemberConfig {
  const name = String(o['name']);
  const listenClientURLs = urls(o['listenClientUrls'], '--listen-client-urls');
  const listenPeerURLs = urls(o['listenPeerUrls'], '--listen-peer-urls');
  const advertisePeer = o['initialAdvertisePeerUrls'] === undefined ? listenPeerURLs : urls(o['initialAdvertisePeerUrls'], '--initial-advertise-peer-urls');
  const initialCluster = o['initialCluster'] === undefined ? [{ name, peerURLs: advertisePeer }] : parseInitialCluster(String(o['initialCluster']));
  const state = String(o['initialClusterState'] ?? 'new');
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`--initial-cluster-state must be new or existing, got ${state}`);
  const heartbeatMs = num(o['heartbeatInterval'], DEFAULTS.heartbeatMs);
  const electionMs = num(o['electionTimeout'], DEFAULTS.electionMs);
  return checkMemberConfig({
    name,
    dataDir: String(o['dataDir'] ?? `${name}.raftkube`),
    listenClientURLs,
    advertiseClientURLs: o['advertiseClientUrls'] === undefined ? listenClientURLs : urls(o['advertiseClientUrls'], '--advertise-client-urls'),
    listenPeerURLs,
    listenMetricsURLs: o['listenMetricsUrls'] === undefined ? [] : urls(o['listenMetricsUrls'], '--listen-metrics-urls'),
    initialCluster,
    initialClusterState: state,
    initialClusterToken: String(o['initialClusterToken'] ?? DEFAULTS.initialClusterToken),
    heartbeatMs,
    electionMs,
    maxRequestBytes: num(o['maxRequestBytes'], DEFAULTS.maxRequestBytes),
    snapshotCount: num(o['snapshotCount'], DEFAULTS.snapshotCount),
    maxTxnOps: num(o['maxTxnOps'], DEFAULTS.maxTxnOps),
    quotaBackendBytes: num(o['quotaBackendBytes'], 0),
    ...optional('clientTls', tlsFlags(o, '')),
    ...optional('peerTls', tlsFlags(o, 'peer')),
  });
}

/** runKvMember starts the member and stops it cleanly on SIGTERM or SIGINT. */
export async function runKvMember(o: KvFlags): Promise<void> {
  const cfg = memberConfig(o);
  // NB: say where the data goes when no --data-dir was given; it is the current directory's.
  if (o['dataDir'] === undefined) process.stderr.write(`raftkube kv: no --data-dir given; member ${cfg.name} keeps its data in ${resolve(cfg.dataDir)}\n`);
  const format = o['logFormat'] === undefined ? undefined : parseLogFormat(String(o['logFormat']));
  const log = createLogger({ level: String(o['logLevel'] ?? 'info'), base: { component: 'kv', member: cfg.name }, ...(format === undefined ? {} : { format }) });
  // NB: before the member starts, so a SIGUSR2 sent to a member that answers finds the handler.
  installTestFailpoints(process.env, log);
  const member = await startMember(cfg, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    member.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
