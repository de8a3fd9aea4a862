/**
 * node-agent: the kubelet of raftkube — registers its Node, renews its Lease, and runs the pods
 * bound to it on a ContainerRuntime (child processes by default, or kwok-style simulated nodes
 * by the thousand). A client of the apiserver's gRPC API only.
 */
export type { AgentClient, AgentHandle, CommonAgentOptions, NodeAgentOptions, SimulatedNodesOptions } from './agent.js';
export { runNodeAgent, runSimulatedNodes, simulatedNodeNames } from './agent.js';
export type { EnvContext, ObjectData } from './env.js';
export { EnvSource, expandVars, resolveEnv } from './env.js';
export type { EventSink, EventType } from './events.js';
export { eventRecorder, EVENTS } from './events.js';
export { DEFAULT_POD_CIDR, IpAllocator, nodePodCidr } from './ip-allocator.js';
export type { NodeResources, NodeSettings } from './node.js';
export { checkResources, DEFAULT_MAX_PODS, LIMITS_ANNOTATION, machineResources, newNode, nodeConditions, nodeStatus, parseTaints } from './node.js';
export type { NodeClient, NodeLifecycleOptions, Registration } from './node-lifecycle.js';
export { NODE_LEASE_NAMESPACE, NodeLifecycle } from './node-lifecycle.js';
export type { StatusFacts, Waiting } from './pod-status.js';
export { OWNED_STATUS_FIELDS, podPhase, podStatus, statusChanged } from './pod-status.js';
export type { BackoffSettings, PodCache, PodWorkerOptions } from './pod-worker.js';
export { PodWorker } from './pod-worker.js';
export type { ProcessRuntimeOptions, RecoveryReport } from './process-runtime.js';
export { containerLogPath, containerRoot, podDirName, ProcessRuntime } from './process-runtime.js';
export type { Checkpoint } from './checkpoint.js';
export { checkpointPath, decodeCheckpoint, readCheckpoints } from './checkpoint.js';
export type { ConfigError, ContainerRecord, ContainerRuntime, RuntimeContainerState, StartContainerRequest, Terminated } from './runtime.js';
export type { SimulatedRuntimeOptions } from './simulated-runtime.js';
export { SimulatedRuntime } from './simulated-runtime.js';
export type { NodeObject, PodObject } from './types.js';
export { KUBELET_VERSION, NODES, PODS } from './types.js';
export type { ExecProbe, ProbeKind, ProbeManagerOptions, ProbeTarget, RunningContainer, RunProbe } from './probes.js';
export { httpProbe, networkProber, ProbeManager, tcpProbe } from './probes.js';
export { prepareVolumes, volumeDir } from './volumes.js';
export type { CgroupHandle, Limits } from './cgroups.js';
export { Cgroups, limitsOf } from './cgroups.js';
export type { ServiceProxyOptions } from './service-proxy.js';
export { ENDPOINTS, SERVICES, ServiceProxy } from './service-proxy.js';
