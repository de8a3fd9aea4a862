/**
 * target: a system under measurement as the workloads see it — client endpoints and, for the
 * memory and recovery workloads, the processes of each member — plus the small helpers every
 * workload shares (bounded polling, an abortable sleep).
 */
import type { EtcdClient, EtcdTls } from '../../src/kv/client/etcd-client.js';
import type { Progress } from './progress.js';
import type { SystemName } from './types.js';

/** MemberHandle is one member's processes, as far as the benchmark may touch them. */
export interface MemberHandle {
  readonly name: string;
  readonly clientURL: string;
  /** pids lists the member's processes now. */
  pids(): readonly number[];
  /** replacePid records that the process `oldPid` was restarted as `newPid`. */
  replacePid(oldPid: number, newPid: number): void;
  /** logPath is where a restarted member writes its output. */
  readonly logPath: string;
}

/** Target is one system: where to send requests and, when known, its members' processes. */
export interface Target {
  readonly system: SystemName;
  readonly endpoints: readonly string[];
  /** members is null when the benchmark does not know the processes (no --cluster-file). */
  readonly members: readonly MemberHandle[] | null;
  /** restartDetached says whether a restarted member must outlive the benchmark (raftkube's do). */
  readonly restartDetached: boolean;
  /** tls is how to reach https:// endpoints (raftkube's, from its cluster file). */
  readonly tls?: EtcdTls;
}

/** WorkloadContext is everything a workload needs to run against one target. */
export interface WorkloadContext {
  readonly target: Target;
  /** client spreads requests over all endpoints round-robin, failing over on UNAVAILABLE. */
  readonly client: EtcdClient;
  /** prefix is this workload's own key prefix; nothing else writes under it. */
  readonly prefix: string;
  readonly durationMs: number;
  /** count overrides each phase's operation bound (null: the workload's default). */
  readonly count: number | null;
  readonly keys: number;
  readonly watchers: number;
  /** watchClients is how many client threads hold watch-fanout's watchers. */
  readonly watchClients: number;
  /** putClients is how many client threads share put-throughput's requests in flight. */
  readonly putClients: number;
  /** value is the 256-byte value every put writes. */
  readonly value: Buffer;
  readonly progress: Progress;
  readonly signal: AbortSignal;
}

/** sleep waits `ms`, or less if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * pollUntil calls `check` every `intervalMs` until it returns a value other than undefined,
 * and throws `what` once `timeoutMs` has passed or the signal aborts.
 */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, o: { readonly timeoutMs: number; readonly intervalMs: number; readonly signal?: AbortSignal }): Promise<T> {
  const deadline = performance.now() + o.timeoutMs;
  for (;;) {
    if (o.signal?.aborted === true) throw new Error(`Interrupted while waiting: ${what}`);
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() >= deadline) throw new Error(`Timed out after ${(o.timeoutMs / 1000).toFixed(0)} s: ${what}`);
    await sleep(o.intervalMs, o.signal);
  }
}

/** errorMessage turns anything thrown into a one-line message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
