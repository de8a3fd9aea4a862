/**
 * controller: the shape every controller of the controller-manager shares — it registers
 * handlers on shared informers that only enqueue keys, and `run(workers)` drives its work queue
 * through `reconcile(key)` until `stop()`.
 */
import type { KubeObject } from '../api/types.js';
import type { Disposable } from '../apiserver/registry-api.js';
import type { KubeClient, ResourceDescriptor } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import type { IndexFunc, Informer } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import { WorkQueue } from '../client/work-queue.js';
import type { EventSink } from './events.js';

/** InformerSource hands out shared informers (SharedInformers fits). */
export interface InformerSource {
  informerFor<T extends KubeObject = KubeObject>(res: ResourceDescriptor, indexers?: Readonly<Record<string, IndexFunc<T>>>): Informer<T>;
}

/** ControllerContext is what a controller is built from. */
export interface ControllerContext {
  readonly client: KubeClient;
  readonly informers: InformerSource;
  /** events makes the event sink of one component (e.g. 'replicaset-controller'). */
  readonly events: (component: string) => EventSink;
  readonly clock: Clock;
  /** now is the wall-clock time written into objects (conditions, timestamps). */
  readonly now: () => Date;
  /** onError hears about reconciles that threw (bugs) and failed writes worth logging. */
  readonly onError?: (controller: string, key: string, error: unknown) => void;
}

/** Controller is one control loop of the controller-manager. */
export interface Controller {
  /** name is the controller's name, e.g. 'replicaset'. */
  readonly name: string;
  /** reconcile converges one key; tests call it directly. */
  reconcile(key: string): Promise<Reconciled>;
  /** run processes queued keys with `workers` workers until stop(); resolves when they are done. */
  run(workers: number): Promise<void>;
  /** stop shuts the queue down and unregisters the informer handlers. */
  stop(): void;
}

/**
 * QueueLoop is the queue and handler bookkeeping a controller delegates to: enqueue keys,
 * remember handler registrations, run the queue through a reconcile, and undo it all on stop.
 */
export class QueueLoop {
  readonly queue: WorkQueue<string>;
  readonly #name: string;
  readonly #ctx: ControllerContext;
  readonly #registrations: Disposable[] = [];

  constructor(name: string, ctx: ControllerContext) {
    this.#name = name;
    this.#ctx = ctx;
    this.queue = new WorkQueue<string>({ clock: ctx.clock });
  }

  /** watch registers handlers on an informer, to be unregistered on stop. */
  watch<T extends KubeObject>(inf: Informer<T>, h: Parameters<Informer<T>['addEventHandler']>[0]): void {
    this.#registrations.push(inf.addEventHandler(h));
  }

  /** run processes the queue through `reconcile` with `workers` workers. */
  run(workers: number, reconcile: (key: string) => Promise<Reconciled>): Promise<void> {
    return this.queue.run(workers, reconcile, { onError: (key, e) => this.#ctx.onError?.(this.#name, key, e) });
  }

  /** stop shuts the queue down and unregisters every handler. */
  stop(): void {
    this.queue.shutDown();
    for (const r of this.#registrations.splice(0)) r.dispose();
  }
}

/** isGone says whether a failed write means the object is already gone (NotFound). */
export function isGone(e: { readonly code: number }): boolean {
  return e.code === 404;
}
