/**
 * events: the Events a kubelet records about the pods it runs (Started, Killing, BackOff,
 * Unhealthy, Failed), which `kubectl describe pod` lists. Recording is fire-and-forget: an
 * event that cannot be written is dropped, never retried, so events never hold a pod back.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../control-plane/api/types.js';
import type { KubeClient, ResourceDescriptor } from '../control-plane/client/index.js';
import type { PodObject } from './types.js';
import { rfc3339 } from './types.js';

/** EVENTS addresses core/v1 events. */
export const EVENTS: ResourceDescriptor = { group: '', version: 'v1', plural: 'events', namespaced: true };

/** EventType is Kubernetes' event type. */
export type EventType = 'Normal' | 'Warning';

/** EventSink records one event about a pod (and one of its containers, if given). */
export type EventSink = (pod: PodObject, container: string | undefined, type: EventType, reason: string, message: string) => void;

/** eventRecorder writes events as the kubelet on `node` through the client; `now` stamps them. */
export function eventRecorder(client: Pick<KubeClient, 'create'>, node: string, now: () => Date = () => new Date()): EventSink {
  return (pod, container, type, reason, message) => {
    const t = rfc3339(now());
    const ns = pod.metadata.namespace ?? 'default';
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${pod.metadata.name ?? ''}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        name: pod.metadata.name ?? '',
        ...(pod.metadata.uid === undefined ? {} : { uid: pod.metadata.uid }),
        ...(container === undefined ? {} : { fieldPath: `spec.containers{${container}}` }),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: node },
      reportingComponent: 'kubelet',
      reportingInstance: node,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
    };
    void client.create(EVENTS, ev);
  };
}
