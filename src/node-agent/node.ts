/**
 * node: the Node object a node agent registers and the status it keeps current — capacity and
 * allocatable (from the machine or from flags), taints, addresses, nodeInfo, and the kubelet's
 * four conditions — as pure functions of the agent's settings and the time.
 */
import { arch as osArch, cpus, hostname, release, totalmem } from 'node:os';
import type { NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../control-plane/api/quantity.js';
import type { Result } from '../control-plane/api/types.js';
import { err, ok } from '../control-plane/api/types.js';
import type { NodeObject, NodeStatusBody } from './types.js';
import { KUBELET_VERSION, rfc3339 } from './types.js';

/** NodeResources are what a node offers pods: cpu and memory quantities and a pod count. */
export interface NodeResources {
  /** cpu is a quantity ('4', '3500m'). */
  readonly cpu: string;
  /** memory is a quantity ('8Gi', '16384Mi'). */
  readonly memory: string;
  readonly pods: number;
}

/** NodeSettings describe the node an agent registers. */
export interface NodeSettings {
  readonly name: string;
  readonly resources: NodeResources;
  readonly taints?: readonly Taint[];
  /** labels are added to the kubelet's own (kubernetes.io/hostname, os, arch). */
  readonly labels?: Readonly<Record<string, string>>;
  /** annotations go on the Node (e.g. whether resource limits are enforced). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** address is the node's InternalIP (default 127.0.0.1). */
  readonly address?: string;
  /** runtime names the container runtime in nodeInfo ('process', 'simulated'). */
  readonly runtime: string;
  /** kubeletPort is the port of the agent's log endpoint, published as daemonEndpoints.kubeletEndpoint.Port (0: none). */
  readonly kubeletPort?: number;
}

/** LIMITS_ANNOTATION says on a Node whether its agent enforces containers' resource limits. */
export const LIMITS_ANNOTATION = 'raftkube.io/resource-limits';

/** DEFAULT_MAX_PODS is a node's pod capacity unless told otherwise (the kubelet's default). */
export const DEFAULT_MAX_PODS = 110;

/** machineResources reads this machine's cpus and memory; pods is DEFAULT_MAX_PODS. */
export function machineResources(): NodeResources {
  return { cpu: String(Math.max(1, cpus().length)), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: DEFAULT_MAX_PODS };
}

/** checkResources makes sure cpu and memory are quantities and pods a positive integer. */
export function checkResources(r: NodeResources): Result<NodeResources, string> {
  for (const [what, v] of [['cpu', r.cpu], ['memory', r.memory]] as const) {
    const q = parseQuantity(v);
    if (!q.ok) return err(`The ${what} capacity ${JSON.stringify(v)} is not a quantity (${q.error}); write e.g. --cpu 4 --memory 8Gi`);
  }
  if (!Number.isSafeInteger(r.pods) || r.pods <= 0) return err(`The pod capacity ${r.pods} is not a positive integer; write e.g. --max-pods 110`);
  return ok(r);
}

const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/**
 * parseTaints reads taints as kubectl writes them, comma-separated: `key=value:Effect` or
 * `key:Effect`, with Effect NoSchedule, PreferNoSchedule or NoExecute.
 */
export function parseTaints(text: string): Result<Taint[], string> {
  const out: Taint[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const colon = part.lastIndexOf(':');
    const effect = colon < 0 ? '' : part.slice(colon + 1);
    if (!EFFECTS.has(effect)) return err(`The taint ${JSON.stringify(part)} has no effect NoSchedule, PreferNoSchedule or NoExecute; write key=value:NoSchedule`);
    const kv = part.slice(0, colon);
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key === '') return err(`The taint ${JSON.stringify(part)} has no key; write key=value:${effect}`);
    out.push({ key, ...(eq < 0 ? {} : { value: kv.slice(eq + 1) }), effect });
  }
  return ok(out);
}

function goArch(): string {
  const a = osArch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

/** nodeLabels are the labels a kubelet puts on its own Node, plus the settings' extra labels. */
export function nodeLabels(s: NodeSettings): Record<string, string> {
  return { 'kubernetes.io/hostname': s.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch(), 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': goArch(), ...(s.labels ?? {}) };
}

interface ConditionDef {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

const CONDITIONS: readonly ConditionDef[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

/**
 * nodeConditions are the kubelet's conditions at `now`: heartbeat now, and the transition time
 * kept from `previous` when the status did not change (a NodeStatusUnknown set by the node
 * lifecycle controller is a change, so Ready=True moves its transition time on).
 */
export function nodeConditions(previous: readonly NodeCondition[] | undefined, now: Date): NodeCondition[] {
  return CONDITIONS.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    const since = prev !== undefined && prev.status === c.status && prev.lastTransitionTime !== undefined ? prev.lastTransitionTime : rfc3339(now);
    return { type: c.type, status: c.status, lastHeartbeatTime: rfc3339(now), lastTransitionTime: since, reason: c.reason, message: c.message };
  });
}

/** nodeStatus is the status the agent reports at `now`, given the status stored before. */
export function nodeStatus(s: NodeSettings, previous: NodeStatusBody | undefined, now: Date): NodeStatusBody {
  const resources = { cpu: s.resources.cpu, memory: s.resources.memory, pods: String(s.resources.pods) };
  return {
    ...(previous ?? {}),
    capacity: resources,
    allocatable: resources,
    conditions: nodeConditions(previous?.conditions, now),
    addresses: [
      { type: 'InternalIP', address: s.address ?? '127.0.0.1' },
      { type: 'Hostname', address: s.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: s.kubeletPort ?? 0 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: release(),
      osImage: `raftkube node agent on ${hostname()}`,
      containerRuntimeVersion: `raftkube-${s.runtime}://0.1.0`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

/** newNode is the Node object an agent registers at `now`. */
export function newNode(s: NodeSettings, now: Date): NodeObject {
  const taints = s.taints ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: s.name, labels: nodeLabels(s), ...(s.annotations === undefined ? {} : { annotations: { ...s.annotations } }) },
    spec: taints.length === 0 ? {} : { taints: [...taints] },
    status: nodeStatus(s, undefined, now),
  };
}
