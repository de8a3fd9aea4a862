/**
 * run: the scheduler as a component. Informers on pods and nodes start at once (a standby
 * keeps a warm cache), a LeaderElector campaigns for kube-system/kube-scheduler, and only
 * while this instance holds the lease does the scheduling loop run; losing the lease aborts
 * the loop before another scheduler can take over. `stop()` releases the lease, so a standby
 * takes over at once. Every write (bindings, pod conditions, events) is fenced by the lease
 * (see FencedClient): a binding still in flight when this scheduler is deposed is refused by
 * the apiserver, so two schedulers never both bind.
 */
import type { Clock } from '../client/clock.js';
import { systemClock } from '../client/clock.js';
import { SharedInformers } from '../client/shared-informers.js';
import { FencedClient } from '../client/fenced-client.js';
import { LeaderElector, leaderIdentity, leaseStoreOf, SCHEDULER_LEASE } from '../client/leader-election.js';
import type { Profile } from './framework.js';
import type { SchedulerClient, SchedulerLog } from './scheduler.js';
import { NODES, PODS, Scheduler } from './scheduler.js';
import type { NodeObject, PodObject } from './types.js';

/** LeaderElectionTimings are the lease's durations (defaults 6 s / 4 s / 1 s). */
export interface LeaderElectionTimings {
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

/** RunSchedulerOptions configure `runScheduler`. */
export interface RunSchedulerOptions {
  /** client talks to the apiservers (an ApiClient; tests pass an in-process one). */
  readonly client: SchedulerClient;
  /** master names this master; the lease holder identity begins with it (default 'scheduler'). */
  readonly master?: string;
  /** identity overrides the holder identity (default leaderIdentity(master)). */
  readonly identity?: string;
  /** leaderElection: timings, or false to schedule without a lease (one scheduler only!). */
  readonly leaderElection?: LeaderElectionTimings | false;
  readonly clock?: Clock;
  readonly wallClock?: () => Date;
  readonly log?: SchedulerLog;
  readonly schedulerName?: string;
  readonly profile?: Profile;
  readonly percentageOfNodesToScore?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxUnschedulableMs?: number;
  readonly assumeTtlMs?: number;
  readonly maxBindsInFlight?: number;
  readonly onBound?: (podKey: string, node: string) => void;
  /** onLeaderChange hears whenever this instance starts (true) or stops (false) leading. */
  readonly onLeaderChange?: (leading: boolean) => void;
}

/** SchedulerHandle is a running scheduler. */
export interface SchedulerHandle {
  readonly identity: string;
  readonly scheduler: Scheduler;
  /** isLeader says whether this instance holds the lease and schedules. */
  isLeader(): boolean;
  /** synced resolves true once the pod and node caches are loaded. */
  synced(): Promise<boolean>;
  /** stop ends scheduling, releases the lease, stops the informers and waits for bindings in flight. */
  stop(): Promise<void>;
}

/** runScheduler starts a scheduler: informers now, scheduling once it leads (or at once without election). */
export function runScheduler(o: RunSchedulerOptions): SchedulerHandle {
  const clock = o.clock ?? systemClock;
  const identity = o.identity ?? leaderIdentity(o.master ?? 'scheduler');
  const log = o.log;
  let elector: LeaderElector | null = null;
  const writer: SchedulerClient = o.leaderElection === false ? o.client : new FencedClient(o.client, () => elector?.writeFence() ?? null);
  const scheduler = new Scheduler({
    client: writer,
    clock,
    identity,
    ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }),
    ...(log === undefined ? {} : { log }),
    ...(o.schedulerName === undefined ? {} : { schedulerName: o.schedulerName }),
    ...(o.profile === undefined ? {} : { profile: o.profile }),
    ...(o.percentageOfNodesToScore === undefined ? {} : { percentageOfNodesToScore: o.percentageOfNodesToScore }),
    ...(o.initialBackoffMs === undefined ? {} : { initialBackoffMs: o.initialBackoffMs }),
    ...(o.maxBackoffMs === undefined ? {} : { maxBackoffMs: o.maxBackoffMs }),
    ...(o.maxUnschedulableMs === undefined ? {} : { maxUnschedulableMs: o.maxUnschedulableMs }),
    ...(o.assumeTtlMs === undefined ? {} : { assumeTtlMs: o.assumeTtlMs }),
    ...(o.maxBindsInFlight === undefined ? {} : { maxBindsInFlight: o.maxBindsInFlight }),
    ...(o.onBound === undefined ? {} : { onBound: o.onBound }),
  });
  const informers = new SharedInformers({
    client: o.client,
    clock,
    onError: (res, e, during) => log?.warn({ resource: res.plural, code: e.code }, `${during} failed: ${e.message}`),
  });
  const nodes = informers.informerFor<NodeObject>(NODES);
  const pods = informers.informerFor<PodObject>(PODS);
  // Nodes first, so pods bound to them land on known nodes.
  const subscriptions = [nodes.addEventHandler(scheduler.nodeHandlers()), pods.addEventHandler(scheduler.podHandlers())];
  informers.start();
  const synced = informers.waitForSync();

  let loop: Promise<void> | null = null;
  const lead = (signal: AbortSignal): void => {
    log?.info({ identity }, 'leading: scheduling');
    o.onLeaderChange?.(true);
    const prev = loop ?? Promise.resolve();
    loop = prev.then(async () => {
      if (!(await synced) || signal.aborted) return;
      await scheduler.run(signal);
    });
  };

  let standalone: AbortController | null = null;
  if (o.leaderElection === false) {
    standalone = new AbortController();
    lead(standalone.signal);
  } else {
    const t = o.leaderElection ?? {};
    elector = new LeaderElector({
      store: leaseStoreOf(o.client),
      lease: SCHEDULER_LEASE,
      identity,
      clock,
      ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }),
      ...(t.leaseDurationMs === undefined ? {} : { leaseDurationMs: t.leaseDurationMs }),
      ...(t.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: t.renewDeadlineMs }),
      ...(t.retryPeriodMs === undefined ? {} : { retryPeriodMs: t.retryPeriodMs }),
      onStartedLeading: lead,
      onStoppedLeading: () => {
        log?.info({ identity }, 'stopped leading: scheduling paused');
        o.onLeaderChange?.(false);
      },
      onNewLeader: (holder) => log?.info({ identity, leader: holder }, 'scheduler lease holder changed'),
    });
    elector.start();
  }

  let stopping: Promise<void> | null = null;
  return {
    identity,
    scheduler,
    isLeader: () => (elector === null ? standalone?.signal.aborted === false : elector.isLeader()),
    synced: () => synced,
    stop: () => {
      stopping ??= (async () => {
        standalone?.abort();
        if (elector !== null) await elector.stop();
        scheduler.close();
        for (const s of subscriptions) s.dispose();
        informers.stop();
        if (loop !== null) await loop;
        await scheduler.idle();
      })();
      return stopping;
    },
  };
}
