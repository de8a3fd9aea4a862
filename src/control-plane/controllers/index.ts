/**
 * controllers: the controller-manager's control loops (garbage collector, namespace,
 * ReplicaSet, Deployment, node lifecycle, endpoints), the event recorder they share, and
 * runControllerManager, which runs them under the kube-controller-manager Lease.
 */
export type { Controller, ControllerContext, InformerSource } from './controller.js';
export { DeploymentController } from './deployment.js';
export type { Endpoints, EndpointSlice, Service, SliceBody } from './endpoints.js';
export { ENDPOINTS, ENDPOINTSLICES, EndpointsController, resolvePorts, SERVICES } from './endpoints.js';
export type { EventObject, EventRecorderOptions, EventSink, EventType, RecordedEvent } from './events.js';
export { EventRecorder, RecordingSink } from './events.js';
export { Expectations } from './expectations.js';
export { FOREGROUND_FINALIZER, GarbageCollector, gcResources, ORPHAN_FINALIZER } from './garbage-collector.js';
export type { ControllerManagerHandle, ControllerManagerLog, ControllerManagerOptions, ControllerName } from './manager.js';
export { CONTROLLERS, runControllerManager } from './manager.js';
export { KUBERNETES_FINALIZER, NamespaceController } from './namespace.js';
export type { Node, NodeLifecycleOptions } from './node-lifecycle.js';
export { NodeLifecycleController, NOT_READY_TAINT, UNREACHABLE_TAINT } from './node-lifecycle.js';
export { ReplicaSetController } from './replicaset.js';
