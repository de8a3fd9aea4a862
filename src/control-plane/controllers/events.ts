/**
 * events: the controllers' event recorder. Each call writes a core/v1 Event about an object
 * (reason, message, type, source.component, reportingComponent, involvedObject), so what a
 * controller did shows in `kubectl describe` and `kubectl get events`. A repeat of the same
 * event (same object, type, reason and message) is aggregated as Kubernetes does: the stored
 * Event's count goes up by one and its lastTimestamp moves, instead of a new Event.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject, Result } from '../api/types.js';
import type { ApiError } from '../apiserver/registry-api.js';
import type { KubeClient } from '../client/api-client.js';
import { EVENTS, rfc3339 } from './objects.js';

/** EventType is Normal or Warning. */
export type EventType = 'Normal' | 'Warning';

/** EventSink is what a controller records events through (a recorder, or a list in a test). */
export interface EventSink {
  /** event records that something happened to `obj`; failures are logged, never returned. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

/** EventRecorderOptions configure a recorder. */
export interface EventRecorderOptions {
  readonly client: Pick<KubeClient, 'create' | 'patch'>;
  /** component is source.component and reportingComponent, e.g. 'replicaset-controller'. */
  readonly component: string;
  /** host is source.host and reportingInstance (default: none). */
  readonly host?: string;
  /** now gives the event times (default: the system time). */
  readonly now?: () => Date;
  /** onError hears about events that could not be written (for logs). */
  readonly onError?: (e: ApiError, event: EventObject) => void;
}

/** EventObject is a core/v1 Event as the recorder writes it. */
export interface EventObject extends KubeObject {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

interface Seen {
  readonly namespace: string;
  readonly name: string;
  count: number;
}

/** MAX_REMEMBERED bounds how many distinct events the recorder remembers for aggregation. */
const MAX_REMEMBERED = 4096;

/**
 * EventRecorder writes Events, aggregating repeats. Its memory of written events is bounded
 * (the oldest are forgotten first); a repeat of a forgotten event starts a new Event.
 */
export class EventRecorder implements EventSink {
  readonly #o: EventRecorderOptions;
  readonly #seen = new Map<string, Seen>();

  constructor(o: EventRecorderOptions) {
    this.#o = o;
  }

  /** event writes (or aggregates) one Event about `obj`. */
  async event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = rfc3339(this.#o.now?.() ?? new Date());
    const namespace = obj.metadata.namespace ?? 'default';
    const key = [obj.apiVersion, obj.kind, namespace, obj.metadata.name ?? '', obj.metadata.uid ?? '', type, reason, message].join('\u0000');
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      const r = await this.#o.client.patch<EventObject>(EVENTS, { namespace: seen.namespace, name: seen.name }, { type: 'merge', patch: { count: seen.count + 1, lastTimestamp: now } });
      if (r.ok) {
        seen.count = r.value.count;
        // Refresh its place so often-repeated events are the last to be forgotten.
        this.#seen.delete(key);
        this.#seen.set(key, seen);
        return;
      }
      this.#seen.delete(key);
      if (r.error.code !== 404) {
        this.#o.onError?.(r.error, this.#build(obj, namespace, type, reason, message, now));
        return;
      }
    }
    const ev = this.#build(obj, namespace, type, reason, message, now);
    const r: Result<EventObject, ApiError> = await this.#o.client.create<EventObject>(EVENTS, ev);
    if (!r.ok) {
      this.#o.onError?.(r.error, ev);
      return;
    }
    this.#seen.set(key, { namespace, name: r.value.metadata.name ?? '', count: 1 });
    if (this.#seen.size > MAX_REMEMBERED) {
      const oldest = this.#seen.keys().next();
      if (oldest.done !== true) this.#seen.delete(oldest.value);
    }
  }

  #build(obj: KubeObject, namespace: string, type: EventType, reason: string, message: string, now: string): EventObject {
    const m = obj.metadata;
    const host = this.#o.host;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      // As Kubernetes names them: the object's name and a unique hex suffix.
      metadata: { name: `${m.name ?? 'object'}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: m.name ?? '',
        ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
        ...(m.uid === undefined ? {} : { uid: m.uid }),
        ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      },
      reason,
      message,
      type,
      source: { component: this.#o.component, ...(host === undefined ? {} : { host }) },
      reportingComponent: this.#o.component,
      reportingInstance: host ?? '',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }
}

/** RecordedEvent is one event a RecordingSink kept. */
export interface RecordedEvent {
  readonly object: string;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

/** RecordingSink is an EventSink that keeps events in memory (for tests and dry runs). */
export class RecordingSink implements EventSink {
  readonly events: RecordedEvent[] = [];

  /** event keeps the event as 'Kind ns/name'. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace;
    this.events.push({ object: `${obj.kind} ${ns === undefined ? '' : `${ns}/`}${obj.metadata.name ?? ''}`, type, reason, message });
    return Promise.resolve();
  }
}
