/**
 * namespace: the namespace controller. A namespace being deleted (deletionTimestamp set, status
 * Terminating, spec.finalizers ['kubernetes']) has every namespaced object in it deleted, one
 * deleteCollection per served namespaced resource; once a fresh list finds nothing left, the
 * controller removes 'kubernetes' from spec.finalizers. NB: raftkube's apiserver has no
 * namespaces/<name>/finalize subresource; an update of a namespace that is being deleted and
 * has no metadata.finalizers completes the delete, which is what that update does.
 */
import type { ResourceInfo } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import type { EventSink } from './events.js';
import type { Namespace } from './objects.js';
import { NAMESPACES } from './objects.js';

/** KUBERNETES_FINALIZER is the namespace finalizer this controller owns. */
export const KUBERNETES_FINALIZER = 'kubernetes';

/** NamespaceControllerOptions tune the namespace controller. */
export interface NamespaceControllerOptions {
  /** resources are the served resources; the namespaced ones with deletecollection are emptied. */
  readonly resources: readonly ResourceInfo[];
  /** recheckMs is how long to wait before looking again at a namespace not yet empty (default 1000). */
  readonly recheckMs?: number;
}

/** NamespaceController is the namespace controller. */
export class NamespaceController implements Controller {
  readonly name = 'namespace';
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  readonly #events: EventSink;
  readonly #resources: readonly ResourceInfo[];
  readonly #recheckMs: number;
  readonly #namespaces: Informer<Namespace>;

  constructor(ctx: ControllerContext, o: NamespaceControllerOptions) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    this.#events = ctx.events('namespace-controller');
    this.#resources = o.resources.filter((r) => r.namespaced && r.verbs.includes('deletecollection') && r.verbs.includes('list'));
    this.#recheckMs = o.recheckMs ?? 1000;
    this.#namespaces = ctx.informers.informerFor<Namespace>(NAMESPACES);
    const q = this.#loop.queue;
    this.#loop.watch(this.#namespaces, {
      onAdd: (ns) => {
        if (ns.metadata.deletionTimestamp !== undefined) q.add(ns.metadata.name ?? '');
      },
      onUpdate: (_old, ns) => {
        if (ns.metadata.deletionTimestamp !== undefined) q.add(ns.metadata.name ?? '');
      },
    });
  }

  /** reconcile empties one terminating namespace and then finalizes it. */
  async reconcile(key: string): Promise<Reconciled> {
    const ns = this.#namespaces.get(key);
    if (ns === undefined || ns.metadata.deletionTimestamp === undefined) return 'done';
    if (!(ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER)) return 'done';
    const client = this.#ctx.client;
    let remaining = 0;
    const failures: string[] = [];
    for (const res of this.#resources) {
      const d = await client.deleteCollection(res, { namespace: key }, {});
      if (!d.ok) {
        failures.push(`${res.plural}: ${d.error.message}`);
        continue;
      }
      // Objects with finalizers or a grace period stay for a while: look again until none is left.
      const left = await client.list(res, { namespace: key, limit: 1 });
      if (!left.ok) failures.push(`${res.plural}: ${left.error.message}`);
      else remaining += left.value.items.length;
    }
    if (failures.length > 0) {
      await this.#events.event(ns, 'Warning', 'NamespaceDeletionContentFailure', `Failed to delete all resource types, ${failures.length} remaining: ${failures.join('; ')}`);
      return 'retry';
    }
    if (remaining > 0) return { requeueAfter: this.#recheckMs };
    const next = structuredClone(ns);
    next.spec = { ...next.spec, finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== KUBERNETES_FINALIZER) };
    const u = await client.update(NAMESPACES, next);
    if (u.ok || isGone(u.error)) return 'done';
    return 'retry';
  }

  /** run processes the queue. */
  run(workers: number): Promise<void> {
    return this.#loop.run(workers, (k) => this.reconcile(k));
  }

  /** stop stops the queue and unregisters the handlers. */
  stop(): void {
    this.#loop.stop();
  }
}
