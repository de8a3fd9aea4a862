/**
 * manager: the controller-manager — the garbage collector and the namespace, ReplicaSet,
 * Deployment, node lifecycle and endpoints controllers on one set of shared informers, run only
 * while this process holds the kube-system/kube-controller-manager Lease. Losing the lease
 * stops every controller and informer at once; winning it again starts them afresh (new
 * caches, new expectations). Every write the controllers make is fenced by the lease (see
 * FencedKubeClient): one still in flight when this manager is deposed is refused by the
 * apiserver, so two managers' writes never interleave.
 */
import { RESOURCES } from '../api/resources.js';
import type { ResourceInfo } from '../api/types.js';
import type { KubeClient } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import { systemClock } from '../client/clock.js';
import type { ListWatcher } from '../client/informer.js';
import { FencedKubeClient } from '../client/fenced-client.js';
import { CONTROLLER_MANAGER_LEASE, LeaderElector, leaderIdentity, leaseStoreOf } from '../client/leader-election.js';
import { SharedInformers } from '../client/shared-informers.js';
import type { Controller, ControllerContext } from './controller.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import type { EventSink } from './events.js';
import { EventRecorder } from './events.js';
import { GarbageCollector, gcResources } from './garbage-collector.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { ReplicaSetController } from './replicaset.js';

/** CONTROLLERS names the controllers the manager runs. */
export const CONTROLLERS = ['garbage-collector', 'namespace', 'replicaset', 'deployment', 'node-lifecycle', 'endpoints'] as const;

/** ControllerName is one of CONTROLLERS. */
export type ControllerName = (typeof CONTROLLERS)[number];

/** ControllerManagerLog receives the manager's log lines. */
export type ControllerManagerLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, unknown>>) => void;

/** ControllerManagerOptions configure runControllerManager. */
export interface ControllerManagerOptions {
  /** client talks to the apiservers (an ApiClient). */
  readonly client: KubeClient & ListWatcher;
  /** master is this master's name as in cluster.json; the holder identity begins with it. */
  readonly master: string;
  /** identity overrides the holder identity (default leaderIdentity(master)). */
  readonly identity?: string;
  /** workers per controller (default 5). */
  readonly workers?: number;
  /** controllers to run (default all of CONTROLLERS). */
  readonly controllers?: readonly ControllerName[];
  /** resources the cluster serves (default the apiserver's table). */
  readonly resources?: readonly ResourceInfo[];
  /** election tunes the lease (defaults 6 s / 4 s / 1 s); false runs without election (tests, one master). */
  readonly election?: false | { readonly leaseDurationMs?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
  /** nodeMonitorGracePeriodMs: a node silent this long is NotReady/Unknown and tainted (default 40 s). */
  readonly nodeMonitorGracePeriodMs?: number;
  /** podEvictionTimeoutMs: how long pods that do not tolerate the taint stay on such a node (default 300 s). */
  readonly podEvictionTimeoutMs?: number;
  readonly clock?: Clock;
  /** now is the wall clock written into objects (default the system time). */
  readonly now?: () => Date;
  readonly log?: ControllerManagerLog;
}

/** ControllerManagerHandle is a running controller-manager. */
export interface ControllerManagerHandle {
  /** identity is the holder identity this manager campaigns with. */
  readonly identity: string;
  /** isLeader says whether this manager's controllers are running. */
  isLeader(): boolean;
  /** stop stops the controllers and releases the lease. */
  stop(): Promise<void>;
}

interface Running {
  readonly informers: SharedInformers;
  readonly controllers: readonly Controller[];
  readonly done: Promise<unknown>;
}

/** runControllerManager starts campaigning for the lease and runs the controllers while leading. */
export function runControllerManager(o: ControllerManagerOptions): ControllerManagerHandle {
  const identity = o.identity ?? leaderIdentity(o.master);
  const clock = o.clock ?? systemClock;
  const log: ControllerManagerLog = o.log ?? (() => undefined);
  let running: Running | null = null;
  // NB: the elector exists before the controllers can start (they start when it leads); the
  // controllers write through `writer`, fenced by its term when there is an election.
  let elector: LeaderElector | null = null;
  const writer: KubeClient & ListWatcher = o.election === false ? o.client : new FencedKubeClient(o.client, () => elector?.writeFence() ?? null);

  const start = (): void => {
    if (running !== null) return;
    const informers = new SharedInformers({ client: o.client, clock, onError: (res, e, during) => log('warn', `${during} of ${res.plural} failed`, { code: e.code, error: e.message }) });
    const sinks = new Map<string, EventSink>();
    const ctx: ControllerContext = {
      client: writer,
      informers,
      clock,
      now: o.now ?? (() => new Date()),
      events: (component) => {
        let s = sinks.get(component);
        if (s === undefined) {
          s = new EventRecorder({ client: writer, component, host: o.master, ...(o.now === undefined ? {} : { now: o.now }), onError: (e, ev) => log('warn', 'event not recorded', { reason: ev.reason, error: e.message }) });
          sinks.set(component, s);
        }
        return s;
      },
      onError: (controller, key, error) => log('error', 'reconcile threw', { controller, key, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
    };
    const resources = o.resources ?? RESOURCES;
    const wanted = new Set<ControllerName>(o.controllers ?? CONTROLLERS);
    const controllers: Controller[] = [];
    if (wanted.has('garbage-collector')) controllers.push(new GarbageCollector(ctx, gcResources(resources)));
    if (wanted.has('namespace')) controllers.push(new NamespaceController(ctx, { resources }));
    if (wanted.has('replicaset')) controllers.push(new ReplicaSetController(ctx));
    if (wanted.has('deployment')) controllers.push(new DeploymentController(ctx));
    if (wanted.has('endpoints')) controllers.push(new EndpointsController(ctx));
    if (wanted.has('node-lifecycle')) {
      controllers.push(
        new NodeLifecycleController(ctx, {
          ...(o.nodeMonitorGracePeriodMs === undefined ? {} : { gracePeriodMs: o.nodeMonitorGracePeriodMs }),
          ...(o.podEvictionTimeoutMs === undefined ? {} : { podEvictionTimeoutMs: o.podEvictionTimeoutMs }),
        }),
      );
    }
    informers.start();
    const workers = o.workers ?? 5;
    const done = informers.waitForSync().then((synced) => {
      if (!synced) return [];
      log('info', 'caches synced; controllers running', { controllers: controllers.map((c) => c.name) });
      return Promise.all(controllers.map((c) => c.run(workers)));
    });
    running = { informers, controllers, done };
  };

  const stopRunning = async (): Promise<void> => {
    const r = running;
    running = null;
    if (r === null) return;
    for (const c of r.controllers) c.stop();
    r.informers.stop();
    await r.done;
  };

  if (o.election === false) {
    start();
    return {
      identity,
      isLeader: () => running !== null,
      stop: stopRunning,
    };
  }
  const e = o.election ?? {};
  const leader = new LeaderElector({
    store: leaseStoreOf(o.client),
    lease: CONTROLLER_MANAGER_LEASE,
    identity,
    clock,
    ...(e.leaseDurationMs === undefined ? {} : { leaseDurationMs: e.leaseDurationMs }),
    ...(e.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: e.renewDeadlineMs }),
    ...(e.retryPeriodMs === undefined ? {} : { retryPeriodMs: e.retryPeriodMs }),
    onStartedLeading: () => {
      log('info', 'became leader; starting controllers', { identity });
      start();
    },
    onStoppedLeading: () => {
      log('warn', 'stopped leading; stopping controllers', { identity });
      void stopRunning();
    },
    onNewLeader: (holder) => log('info', 'leader observed', { holder }),
  });
  elector = leader;
  leader.start();
  return {
    identity,
    isLeader: () => leader.isLeader() && running !== null,
    stop: async () => {
      await stopRunning();
      await leader.stop();
    },
  };
}
