/**
 * agent: the node agent's two library entries. `runNodeAgent` runs one node: its lifecycle
 * (registration, Lease, status) and its pods (an informer on the pods bound to it, a work queue,
 * the pod worker) on a ContainerRuntime. `runSimulatedNodes` runs many fake nodes in one
 * process, kwok-style: one informer on all pods, one queue, one worker and one simulated
 * runtime shared by every node, and heartbeats spread evenly over the renewal interval.
 */
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { ApiError } from '../control-plane/apiserver/registry-api.js';
import type { Clock, KubeClient, ListWatcher, TimerHandle } from '../control-plane/client/index.js';
import { Informer, keyOf, systemClock, WorkQueue } from '../control-plane/client/index.js';
import type { EventSink } from './events.js';
import { eventRecorder } from './events.js';
import { DEFAULT_POD_CIDR, IpAllocator, nodePodCidr } from './ip-allocator.js';
import type { NodeResources } from './node.js';
import { machineResources } from './node.js';
import type { Registration } from './node-lifecycle.js';
import { NodeLifecycle } from './node-lifecycle.js';
import type { BackoffSettings } from './pod-worker.js';
import { PodWorker } from './pod-worker.js';
import type { RunProbe } from './probes.js';
import { networkProber } from './probes.js';
import type { ContainerRuntime } from './runtime.js';
import { SimulatedRuntime } from './simulated-runtime.js';
import type { PodObject } from './types.js';
import { nodeOf, PODS } from './types.js';

/** AgentClient is what an agent needs of the apiserver (ApiClient fits). */
export type AgentClient = Pick<KubeClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete'> & ListWatcher;

/** CommonAgentOptions are shared by both entries. */
export interface CommonAgentOptions {
  readonly client: AgentClient;
  /** resources a node offers (default: this machine's cpus and memory, 110 pods). */
  readonly resources?: NodeResources;
  readonly taints?: readonly Taint[];
  readonly labels?: Readonly<Record<string, string>>;
  /** annotations go on every Node the agent registers. */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly wallClock?: () => Date;
  /** leaseRenewMs: Lease renewal interval per node (default 10 s). */
  readonly leaseRenewMs?: number;
  /** statusReportMs: node status report interval (default 60 s). */
  readonly statusReportMs?: number;
  /** workers: concurrent pod reconciles (default 4 for one node, 32 for simulated nodes). */
  readonly workers?: number;
  /** podCidr: the block pod IPs come from (default: nodePodCidr(name) for one node, 127.64.0.0/10 for simulated ones). */
  readonly podCidr?: string;
  /** nodeIP is the nodes' InternalIP and their pods' hostIP (default 127.0.0.1). */
  readonly nodeIP?: string;
  /** onError hears about failed calls and reconciles (for logs). */
  readonly onError?: (what: string, e: unknown) => void;
}

/** NodeAgentOptions configure `runNodeAgent`. */
export interface NodeAgentOptions extends CommonAgentOptions {
  readonly name: string;
  readonly runtime: ContainerRuntime;
  /** backoff tunes CrashLoopBackOff (10 s doubling to 5 min by default). */
  readonly backoff?: BackoffSettings;
  /** prober runs probes (default: httpGet and tcpSocket over the network, exec through the runtime). */
  readonly prober?: RunProbe;
  /** events: false records no Events about pods (default: recorded, as the kubelet does). */
  readonly events?: boolean;
  /** kubeletPort is the port the node's log endpoint listens on, published in its status (default: none). */
  readonly kubeletPort?: number;
}

/** SimulatedNodesOptions configure `runSimulatedNodes`. */
export interface SimulatedNodesOptions extends CommonAgentOptions {
  /** name is the node's name when count is 1, else the prefix of `<name>-<i>`. */
  readonly name: string;
  readonly count: number;
  /** startDelayMs: how long a pod stays ContainerCreating before Running and Ready (default 200 ms). */
  readonly startDelayMs?: number;
  /** registerConcurrency bounds registrations in flight (default 50). */
  readonly registerConcurrency?: number;
}

/** AgentHandle is a running agent (one node or many simulated ones). */
export interface AgentHandle {
  /** nodes are the node lifecycles (registration, Lease, status). */
  readonly nodes: readonly NodeLifecycle[];
  readonly informer: Informer<PodObject>;
  readonly worker: PodWorker;
  readonly runtime: ContainerRuntime;
  /** registered resolves once every node is registered (or the agent stopped first). */
  readonly registered: Promise<readonly (Registration | null)[]>;
  /**
   * stop ends heartbeats, the informer and the queue, then closes the runtime — which stops every
   * pod's processes on the process runtime, so nothing outlives an agent that was asked to stop
   * (a restarted agent restarts its pods under their restart policy). An agent that dies instead
   * leaves its pods running, and takes them back when it starts again (ProcessRuntime.recover).
   * The Nodes and Leases stay, to expire as a dead node's would.
   */
  stop(): Promise<void>;
}

function startPods(o: CommonAgentOptions, podCidr: string, runtime: ContainerRuntime, isOurs: (node: string) => boolean, fieldSelector: string, workers: number, backoff: BackoffSettings | undefined, prober: RunProbe | undefined, events: EventSink | undefined): { informer: Informer<PodObject>; queue: WorkQueue<string>; worker: PodWorker; running: Promise<void>; housekeeping: () => void } {
  const clock = o.clock ?? systemClock;
  // Retries share a bucket of 100 a second: after an apiserver outage, thousands of simulated pods recover in seconds.
  const queue = new WorkQueue<string>({ clock, rateLimits: { qps: 100, burst: 1000 } });
  const informer = new Informer<PodObject>({
    client: o.client,
    resource: PODS,
    fieldSelector,
    clock,
    ...(o.onError === undefined ? {} : { onError: (e: ApiError, during: string) => o.onError?.(`pods ${during}`, e) }),
  });
  const enqueueOurs = (p: PodObject): void => {
    if (isOurs(nodeOf(p))) queue.add(keyOf(p));
  };
  informer.addEventHandler({ onAdd: enqueueOurs, onUpdate: (_old, p) => enqueueOurs(p), onDelete: (p) => enqueueOurs(p) });
  const worker = new PodWorker({
    client: o.client,
    pods: informer,
    runtime,
    isOurs,
    ips: new IpAllocator(podCidr),
    ...(o.nodeIP === undefined ? {} : { hostIP: o.nodeIP }),
    enqueue: (k) => queue.add(k),
    clock,
    ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }),
    ...(backoff === undefined ? {} : { backoff }),
    ...(prober === undefined ? {} : { prober }),
    ...(events === undefined ? {} : { events }),
  });
  informer.start();
  const running = queue.run(workers, (k) => worker.reconcile(k), { onError: (k, e) => o.onError?.(`reconcile pod ${k}`, e) });
  const housekeeping = startHousekeeping(informer, worker, clock, o.onError);
  return { informer, queue, worker, running, housekeeping };
}

/** HOUSEKEEPING_MS: how often the worker looks for runtime pods that are no longer bound to its nodes. */
const HOUSEKEEPING_MS = 30_000;

/**
 * startHousekeeping runs the worker's housekeeping once the pod cache has synced — stopping what
 * a previous run of the agent left of pods deleted or moved while it was down — and then every
 * HOUSEKEEPING_MS. It returns the function that ends it.
 */
function startHousekeeping(informer: Informer<PodObject>, worker: PodWorker, clock: Clock, onError: CommonAgentOptions['onError']): () => void {
  let timer: TimerHandle | null = null;
  let stopped = false;
  const round = (): void => {
    timer = null;
    if (stopped) return;
    worker.housekeeping(informer.list()).then(
      () => {
        if (!stopped) timer = clock.setTimeout(round, HOUSEKEEPING_MS);
      },
      (e: unknown) => {
        onError?.('pod housekeeping', e);
        if (!stopped) timer = clock.setTimeout(round, HOUSEKEEPING_MS);
      },
    );
  };
  void informer.waitForSync().then((synced) => {
    if (synced) round();
  });
  return () => {
    stopped = true;
    if (timer !== null) clock.clearTimeout(timer);
  };
}

function lifecycle(o: CommonAgentOptions & { readonly kubeletPort?: number }, name: string, runtime: string, firstBeatMs: number): NodeLifecycle {
  return new NodeLifecycle({
    client: o.client,
    settings: { name, resources: o.resources ?? machineResources(), runtime, ...(o.nodeIP === undefined ? {} : { address: o.nodeIP }), ...(o.kubeletPort === undefined ? {} : { kubeletPort: o.kubeletPort }), ...(o.taints === undefined ? {} : { taints: o.taints }), ...(o.labels === undefined ? {} : { labels: o.labels }), ...(o.annotations === undefined ? {} : { annotations: o.annotations }) },
    firstBeatMs,
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }),
    ...(o.leaseRenewMs === undefined ? {} : { leaseRenewMs: o.leaseRenewMs }),
    ...(o.statusReportMs === undefined ? {} : { statusReportMs: o.statusReportMs }),
    ...(o.onError === undefined ? {} : { onError: (what: string, e: ApiError) => o.onError?.(`node ${name}: ${what}`, e) }),
  });
}

function handle(nodes: NodeLifecycle[], pods: ReturnType<typeof startPods>, runtime: ContainerRuntime, registered: Promise<readonly (Registration | null)[]>): AgentHandle {
  let stopping: Promise<void> | null = null;
  return {
    nodes,
    informer: pods.informer,
    worker: pods.worker,
    runtime,
    registered,
    stop: () => {
      stopping ??= (async () => {
        for (const n of nodes) n.stop();
        pods.housekeeping();
        pods.queue.shutDown();
        pods.informer.stop();
        await pods.running;
        pods.worker.dispose();
        await runtime.close();
      })();
      return stopping;
    },
  };
}

/** runNodeAgent starts one node agent; see the module doc. */
export function runNodeAgent(o: NodeAgentOptions): AgentHandle {
  const node = lifecycle(o, o.name, o.runtime.name, 0);
  const registered = node.start().then((r) => [r]);
  const exec = o.runtime.exec?.bind(o.runtime);
  const pods = startPods(o, o.podCidr ?? nodePodCidr(o.name), o.runtime, (n) => n === o.name, `spec.nodeName=${o.name}`, o.workers ?? 4, o.backoff, o.prober ?? networkProber(exec), o.events === false ? undefined : eventRecorder(o.client, o.name, o.wallClock));
  return handle([node], pods, o.runtime, registered);
}

/** simulatedNodeNames are the names runSimulatedNodes gives its nodes. */
export function simulatedNodeNames(name: string, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i}`);
}

/** runSimulatedNodes starts `count` simulated nodes in this process; see the module doc. */
export function runSimulatedNodes(o: SimulatedNodesOptions): AgentHandle {
  if (!Number.isSafeInteger(o.count) || o.count < 1) throw new Error(`Simulated nodes need a positive count, not ${o.count}`);
  const names = simulatedNodeNames(o.name, o.count);
  const ours = new Set(names);
  const runtime = new SimulatedRuntime({ ...(o.startDelayMs === undefined ? {} : { startDelayMs: o.startDelayMs }), ...(o.clock === undefined ? {} : { clock: o.clock }), ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }) });
  const renew = o.leaseRenewMs ?? 10_000;
  // Each node's first heartbeat is offset by its share of the interval, so renewals stay spread.
  const nodes = names.map((n, i) => lifecycle(o, n, runtime.name, Math.floor((i * renew) / names.length)));
  const registered = registerAll(nodes, o.registerConcurrency ?? 50);
  // Simulated containers run nothing to probe: their probes pass; and, as kwok, they record no events.
  const pods = startPods(o, o.podCidr ?? DEFAULT_POD_CIDR, runtime, (n) => ours.has(n), 'spec.nodeName!=', o.workers ?? 32, undefined, undefined, undefined);
  return handle(nodes, pods, runtime, registered);
}

async function registerAll(nodes: readonly NodeLifecycle[], concurrency: number): Promise<(Registration | null)[]> {
  const out: (Registration | null)[] = new Array<Registration | null>(nodes.length).fill(null);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const n = nodes[i];
      if (n === undefined) return;
      out[i] = await n.start();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, nodes.length)) }, () => lane()));
  return out;
}
