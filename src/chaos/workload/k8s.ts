/**
 * k8s: the Kubernetes workload of `raftkube chaos run`. Through the apiservers' load balancer,
 * as kubectl would, it creates a few Deployments, then keeps scaling them and creating and
 * deleting ConfigMaps while the nemesis breaks the masters, and records every request in
 * k8s-history.jsonl in the history format (`f` is `create-deployment`, `scale`,
 * `create-configmap` or `delete-configmap`; `value` the replica count or the ConfigMap's
 * sequence number).
 *
 * Each Deployment is scaled by one worker only, one request at a time, so for each of them the
 * last acknowledged scale is well defined; a request whose outcome is unknown (`info`) may take
 * effect at any later time, so its value stays a possible end state too. After the cluster has
 * healed, `observe` reads what the cluster holds for the checks (src/chaos/checker/k8s.ts).
 *
 * Outcomes: `ok` for a 2xx answer; `fail` only when the request certainly changed nothing (a
 * 4xx refusal, a connection that was refused); `info` otherwise (5xx, a timeout, a reset).
 */
import { seededRng, type Rng } from '../../raft/rng.js';
import type { Clock, JsonlSink, OpType } from '../runner/recorder.js';
import { statusMessage, type KubeReply, type KubeRest } from '../../cli/kube-rest.js';

/** K8sOpF is what a k8s workload request does. */
export type K8sOpF = 'create-deployment' | 'scale' | 'create-configmap' | 'delete-configmap';

/** K8sOp is one line of k8s-history.jsonl. */
export interface K8sOp {
  readonly process: number;
  readonly type: OpType;
  readonly f: K8sOpF;
  /** key is the object's name. */
  readonly key: string;
  /** value is the replica count (Deployments) or the ConfigMap's sequence number. */
  readonly value: number | null;
  readonly time: number;
  readonly error?: string;
}

/** K8sWorkloadOptions shape the load. */
export interface K8sWorkloadOptions {
  readonly namespace: string;
  readonly deployments: number;
  readonly initialReplicas: number;
  readonly maxReplicas: number;
  readonly workers: number;
  /** rate bounds the requests a second, over all workers. */
  readonly rate: number;
  readonly seed: number;
}

/** DEFAULT_K8S_WORKLOAD is what `chaos run --workload k8s|both` uses. */
export const DEFAULT_K8S_WORKLOAD: Omit<K8sWorkloadOptions, 'seed'> = { namespace: 'default', deployments: 4, initialReplicas: 2, maxReplicas: 4, workers: 2, rate: 8 };

/** K8sStats counts outcomes so far (for the progress line). */
export interface K8sStats {
  ok: number;
  fail: number;
  info: number;
}

/** outcomeOf decides what an answer means for the history. */
export function outcomeOf(r: KubeReply): { readonly type: 'ok' | 'fail' | 'info'; readonly error?: string } {
  if (r.kind === 'answered') {
    if (r.status >= 200 && r.status < 300) return { type: 'ok' };
    // A refusal (bad request, conflict, fenced, not found, forbidden) happened before any write.
    if (r.status >= 400 && r.status < 500 && r.status !== 408) return { type: 'fail', error: statusMessage(r) };
    return { type: 'info', error: statusMessage(r) };
  }
  // Nothing was sent on a refused connection; anything else may have reached an apiserver.
  return /ECONNREFUSED/.test(r.reason) ? { type: 'fail', error: r.reason } : { type: 'info', error: r.reason };
}

/** deploymentName is the name of the workload's Deployment number i. */
export function deploymentName(i: number): string {
  return `chaos-d${i + 1}`;
}

function deploymentBody(name: string, replicas: number): unknown {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'registry.local/chaos:1' }] } },
    },
  };
}

/** K8sWorkload drives the requests and records them. */
export class K8sWorkload {
  readonly stats: K8sStats = { ok: 0, fail: 0, info: 0 };
  readonly #api: KubeRest;
  readonly #sink: JsonlSink<K8sOp>;
  /** #clock is the run's clock once start() gives it; setup's requests are stamped before it exists. */
  #clock: Clock | null = null;
  readonly #setupOps: { readonly op: Omit<K8sOp, 'time'>; readonly at: bigint }[] = [];
  readonly #o: K8sWorkloadOptions;
  #nextProcess = 0;
  #stopped = false;
  #loops: Promise<void>[] = [];
  #wake = new Set<() => void>();

  constructor(api: KubeRest, sink: JsonlSink<K8sOp>, o: K8sWorkloadOptions) {
    this.#api = api;
    this.#sink = sink;
    this.#o = o;
  }

  #push(op: Omit<K8sOp, 'time'>): void {
    if (this.#clock === null) this.#setupOps.push({ op, at: process.hrtime.bigint() });
    else this.#sink.push({ ...op, time: this.#clock.nowNs() });
  }

  /** names of the workload's Deployments. */
  get deploymentNames(): string[] {
    return Array.from({ length: this.#o.deployments }, (_, i) => deploymentName(i));
  }

  async #request(process: number, f: K8sOpF, key: string, value: number | null, call: () => Promise<KubeReply>): Promise<{ readonly type: 'ok' | 'fail' | 'info'; readonly reply: KubeReply }> {
    this.#push({ process, type: 'invoke', f, key, value });
    const reply = await call();
    const o = outcomeOf(reply);
    this.#push({ process, type: o.type, f, key, value, ...(o.error === undefined ? {} : { error: o.error }) });
    this.stats[o.type]++;
    return { type: o.type, reply };
  }

  /**
   * setup creates the Deployments, retrying each until it exists (an unknown outcome is
   * followed by a create that finds it there); false if that took longer than `deadlineMs`.
   */
  async setup(deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    const ns = this.#o.namespace;
    for (const name of this.deploymentNames) {
      for (;;) {
        const p = this.#nextProcess++;
        const { type, reply } = await this.#request(p, 'create-deployment', name, this.#o.initialReplicas, () => this.#api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, deploymentBody(name, this.#o.initialReplicas)));
        // 409: an earlier attempt whose outcome was unknown did create it.
        if (type === 'ok' || (reply.kind === 'answered' && reply.status === 409)) break;
        if (Date.now() > deadline || this.#stopped) return false;
        await this.#pause(500);
      }
    }
    return true;
  }

  /**
   * start runs the workers until stop, on the run's clock; setup's requests go into the history
   * first, with the (negative) times they had on that clock.
   */
  start(clock: Clock): void {
    const nowAbs = process.hrtime.bigint();
    const nowNs = clock.nowNs();
    for (const { op, at } of this.#setupOps) this.#sink.push({ ...op, time: nowNs - Number(nowAbs - at) });
    this.#setupOps.length = 0;
    this.#clock = clock;
    for (let w = 0; w < this.#o.workers; w++) this.#loops.push(this.#worker(w));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#wake) wake();
    await Promise.all(this.#loops);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.#wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wake.add(done);
    });
  }

  async #worker(w: number): Promise<void> {
    const rng: Rng = seededRng((this.#o.seed ^ (0x9e3779b1 * (w + 1))) >>> 0);
    const ns = this.#o.namespace;
    const owned = this.deploymentNames.filter((_, i) => i % this.#o.workers === w);
    const live: string[] = [];
    let seq = 0;
    const intervalMs = (1000 * this.#o.workers) / this.#o.rate;
    while (!this.#stopped) {
      const started = Date.now();
      const roll = rng.int(10);
      const p = this.#nextProcess++;
      if (roll < 4 && owned.length > 0) {
        const name = owned[rng.int(owned.length)]!;
        const n = rng.int(this.#o.maxReplicas + 1);
        await this.#request(p, 'scale', name, n, () => this.#api.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`, { spec: { replicas: n } }));
      } else if (roll < 7 || live.length === 0) {
        seq++;
        const name = `chaos-cm-${w + 1}-${seq}`;
        const { type: t } = await this.#request(p, 'create-configmap', name, seq, () => this.#api.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { seq: String(seq) } }));
        if (t !== 'fail') live.push(name);
      } else {
        const name = live.splice(rng.int(live.length), 1)[0]!;
        await this.#request(p, 'delete-configmap', name, null, () => this.#api.delete(`/api/v1/namespaces/${ns}/configmaps/${name}`));
      }
      const left = intervalMs - (Date.now() - started);
      if (left > 0 && !this.#stopped) await this.#pause(left);
    }
  }
}

/** ObservedDeployment is what the cluster says of one Deployment and its pods. */
export interface ObservedDeployment {
  readonly name: string;
  readonly specReplicas: number;
  readonly availableReplicas: number;
  readonly updatedReplicas: number;
  /** pods counts the Deployment's pods that are not being deleted. */
  readonly pods: number;
}

/** Observed is the cluster's state as the checks see it after recovery. */
export interface Observed {
  readonly deployments: ReadonlyMap<string, ObservedDeployment>;
  readonly configMaps: ReadonlySet<string>;
}

interface ListBody {
  readonly items?: readonly {
    readonly metadata?: { readonly name?: string; readonly labels?: Record<string, string>; readonly deletionTimestamp?: string };
    readonly spec?: { readonly replicas?: number };
    readonly status?: { readonly availableReplicas?: number; readonly updatedReplicas?: number; readonly phase?: string };
  }[];
}

async function list(api: KubeRest, path: string): Promise<ListBody | string> {
  const r = await api.get(path);
  if (r.kind !== 'answered' || r.status !== 200 || typeof r.body !== 'object' || r.body === null) return `GET ${path}: ${statusMessage(r)}`;
  return r.body;
}

/** observe reads the workload's Deployments, their pods and the ConfigMaps; a string says why it could not. */
export async function observe(api: KubeRest, namespace: string): Promise<Observed | string> {
  const deps = await list(api, `/apis/apps/v1/namespaces/${namespace}/deployments`);
  if (typeof deps === 'string') return deps;
  const pods = await list(api, `/api/v1/namespaces/${namespace}/pods`);
  if (typeof pods === 'string') return pods;
  const cms = await list(api, `/api/v1/namespaces/${namespace}/configmaps`);
  if (typeof cms === 'string') return cms;
  const podsOf = new Map<string, number>();
  for (const p of pods.items ?? []) {
    const app = p.metadata?.labels?.['app'];
    if (app === undefined || p.metadata?.deletionTimestamp !== undefined || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    podsOf.set(app, (podsOf.get(app) ?? 0) + 1);
  }
  const deployments = new Map<string, ObservedDeployment>();
  for (const d of deps.items ?? []) {
    const name = d.metadata?.name;
    if (name === undefined || !name.startsWith('chaos-d')) continue;
    deployments.set(name, {
      name,
      specReplicas: d.spec?.replicas ?? 1,
      availableReplicas: d.status?.availableReplicas ?? 0,
      updatedReplicas: d.status?.updatedReplicas ?? 0,
      pods: podsOf.get(name) ?? 0,
    });
  }
  const configMaps = new Set((cms.items ?? []).map((c) => c.metadata?.name).filter((n): n is string => n !== undefined && n.startsWith('chaos-cm-')));
  return { deployments, configMaps };
}
