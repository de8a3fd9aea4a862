/**
 * collector: the dashboard's view of a local cluster, kept current. Every second it reads
 * cluster.json (members come and go: a replaced member, a healed cluster), asks every member
 * for its Status over one long-lived client, and folds the answers into the model; every few
 * seconds it also asks the apiservers, when the cluster has them, who holds the scheduler's and
 * controller manager's leases and how many nodes and pods there are. Subscribers get each view.
 */
import { readClusterFile, type ClusterFile } from '../cli/cluster-file.js';
import { readCredentials, leaseHolders } from '../cli/control-plane-up.js';
import { humanError } from '../cli/local-cluster.js';
import { EtcdClient } from '../kv/client/etcd-client.js';
import { KubeRest } from '../cli/kube-rest.js';
import { get } from 'node:http';
import { get as getHttps } from 'node:https';
import { etcdTlsOf } from '../cli/etcd-pki.js';
import type { EtcdTls } from '../kv/client/etcd-client.js';
import { Model, type ClusterView, type ControlPlaneView, type LeaderMetrics, type MemberAnswer } from './model.js';
import { buckets, parsePromText, value } from './prom-text.js';

/** CollectorOptions say what to watch and how often. */
export interface CollectorOptions {
  readonly dataDir: string;
  readonly intervalMs: number;
  /** controlPlaneEvery probes the control plane every this many rounds. */
  readonly controlPlaneEvery: number;
}

/** STATUS_DEADLINE_MS bounds one member's Status answer: a paused member must not stall the round. */
const STATUS_DEADLINE_MS = 800;

interface PodList {
  readonly items?: readonly { readonly status?: { readonly phase?: string }; readonly metadata?: { readonly deletionTimestamp?: string } }[];
}

interface NodeList {
  readonly items?: readonly { readonly status?: { readonly conditions?: readonly { readonly type?: string; readonly status?: string }[] } }[];
}

/** httpText GETs a URL's body (https:// with the cluster's CA and client certificate), or null on any failure or past the deadline. */
function httpText(url: string, timeoutMs: number, tls?: EtcdTls): Promise<string | null> {
  return new Promise((resolve) => {
    const secure = url.startsWith('https://');
    const tlsOpts = tls === undefined ? {} : { ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }) };
    const req = (secure ? getHttps : get)(url, { timeout: timeoutMs, ...(secure ? tlsOpts : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString('utf8') : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.on('error', () => resolve(null));
  });
}

/** leaderMetrics reads the figures the page charts from a member's /metrics (served on its client URL), or null. */
async function leaderMetrics(member: string, clientURL: string, tls: EtcdTls | undefined): Promise<LeaderMetrics | null> {
  const text = await httpText(`${clientURL.replace(/\/$/, '')}/metrics`, STATUS_DEADLINE_MS, tls);
  if (text === null) return null;
  try {
    const scrape = parsePromText(text);
    return { member, proposalsCommitted: value(scrape, 'etcd_server_proposals_committed_total'), fsync: buckets(scrape, 'etcd_disk_wal_fsync_duration_seconds') };
  } catch {
    // Not a raftkube member's metrics (or a newer format): the page goes without these figures.
    return null;
  }
}

/** Collector polls the cluster until stopped. */
export class Collector {
  readonly #o: CollectorOptions;
  readonly #model = new Model();
  readonly #listeners = new Set<(v: ClusterView) => void>();
  #client: { readonly key: string; readonly client: EtcdClient } | null = null;
  #tls: { readonly key: string; readonly tls: EtcdTls | undefined } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #round = 0;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(o: CollectorOptions) {
    this.#o = o;
  }

  get view(): ClusterView | null {
    return this.#model.view;
  }

  /** subscribe calls fn with every new view; returns the unsubscribe. */
  subscribe(fn: (v: ClusterView) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.#running = this.#roundOnce().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
    this.#client?.client.close();
    this.#client = null;
  }

  #clientFor(file: ClusterFile): EtcdClient {
    const endpoints = file.masters.map((m) => m.clientURL);
    const key = `${endpoints.join(',')} ${JSON.stringify(file.etcdTls ?? null)}`;
    if (this.#client?.key !== key) {
      this.#client?.client.close();
      const tls = this.#tlsFor(file);
      this.#client = { key, client: new EtcdClient(endpoints, { deadlineMs: STATUS_DEADLINE_MS, ...(tls === undefined ? {} : { tls }) }) };
    }
    return this.#client.client;
  }

  /** tlsFor reads the cluster's client certificate once per cluster file that names it. */
  #tlsFor(file: ClusterFile): EtcdTls | undefined {
    const key = JSON.stringify(file.etcdTls ?? null);
    if (this.#tls?.key !== key) this.#tls = { key, tls: etcdTlsOf(file) };
    return this.#tls.tls;
  }

  async #roundOnce(): Promise<void> {
    let file: ClusterFile | null;
    try {
      file = readClusterFile(this.#o.dataDir);
    } catch {
      // Half-written by `up` right now: the next round reads it.
      return;
    }
    if (file === null) return;
    const client = this.#clientFor(file);
    const answers = await Promise.all(
      file.masters.map(async (m, i): Promise<MemberAnswer> => {
        try {
          return { name: m.name, endpoint: m.clientURL, status: await client.statusAt(i), error: null };
        } catch (err: unknown) {
          return { name: m.name, endpoint: m.clientURL, status: null, error: humanError(err) };
        }
      }),
    );
    if (this.#round++ % this.#o.controlPlaneEvery === 0) this.#model.setControlPlane(await this.#controlPlane(file));
    const leader = answers.find((a) => a.status !== null && a.status.leader === a.status.header.member_id);
    const metrics = leader === undefined ? null : await leaderMetrics(leader.name, leader.endpoint, this.#tlsFor(file));
    const view = this.#model.observe(Date.now(), answers, metrics);
    for (const fn of this.#listeners) fn(view);
  }

  async #controlPlane(file: ClusterFile): Promise<ControlPlaneView | null> {
    const url = file.loadBalancer?.url ?? file.masters.find((m) => m.apiserverURL !== undefined)?.apiserverURL;
    const creds = readCredentials(this.#o.dataDir);
    if (url === undefined || creds === null) return null;
    const api = new KubeRest({ url, caPem: creds.caPem, token: creds.adminToken, timeoutMs: 1500 });
    const [leases, nodes, pods] = await Promise.all([leaseHolders(file, this.#o.dataDir), api.get('/api/v1/nodes'), api.get('/api/v1/pods')]);
    let nodesReady: number | null = null;
    let nodesTotal: number | null = null;
    if (nodes.kind === 'answered' && nodes.status === 200) {
      const items = (nodes.body as NodeList).items ?? [];
      nodesTotal = items.length;
      nodesReady = items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true).length;
    }
    let podsByPhase: Record<string, number> | null = null;
    if (pods.kind === 'answered' && pods.status === 200) {
      podsByPhase = {};
      for (const p of (pods.body as PodList).items ?? []) {
        const phase = p.metadata?.deletionTimestamp !== undefined ? 'Terminating' : (p.status?.phase ?? 'Pending');
        podsByPhase[phase] = (podsByPhase[phase] ?? 0) + 1;
      }
    }
    return { leases: leases.map((l) => ({ lease: l.lease, holder: l.holder, transitions: l.transitions })), nodesReady, nodesTotal, podsByPhase };
  }
}
