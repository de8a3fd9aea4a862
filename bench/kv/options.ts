/**
 * options: the flags of `raftkube bench kv`, checked in one pure function so that every
 * mistake is reported with what to do instead, before any process starts.
 */
import { HEAVY_WORKLOADS, LIGHT_WORKLOADS, WORKLOADS, type WorkloadName } from './types.js';

/** RawBenchKvOptions are the flags as commander hands them over (strings and switches). */
export interface RawBenchKvOptions {
  readonly endpoints?: string;
  readonly clusterFile?: string;
  readonly workload?: string;
  readonly compareEtcd?: boolean;
  readonly etcdOnly?: boolean;
  readonly etcdFirst?: boolean;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly members?: string;
  readonly duration?: string;
  readonly warmup?: string;
  readonly count?: string;
  readonly heavy?: boolean;
  readonly keys?: string;
  readonly watchers?: string;
  readonly watchClients?: string;
  readonly putClients?: string;
  readonly etcdBin?: string;
  readonly etcdBasePort?: string;
  readonly json?: string;
  readonly svg?: string;
  readonly progress?: boolean;
  readonly trace?: boolean;
  readonly traceOut?: string;
  readonly traceSample?: string;
}

/** EtcdPlan says how to start the reference etcd cluster. */
export interface EtcdPlan {
  /** members is the cluster size; null means "as many as raftkube has endpoints". */
  readonly members: number | null;
  readonly bin: string;
  readonly basePort: number;
}

/** BenchKvOptions are validated options. */
export interface BenchKvOptions {
  /** raftkube is whether raftkube is measured (false with --etcd-only). */
  readonly raftkube: boolean;
  /** endpoints are raftkube's client endpoints from --endpoints (null: take them from the cluster file). */
  readonly endpoints: readonly string[] | null;
  /** clusterFile is raftkube's cluster.json (or its data directory), needed for memory and recovery. */
  readonly clusterFile: string | null;
  /** etcd is how to start the reference etcd, or null when etcd is not measured. */
  readonly etcd: EtcdPlan | null;
  /**
   * etcdFirst starts the alternation with etcd: the first workload runs against etcd first, the
   * second against raftkube first, and so on (--etcd-first), so two runs can swap the order.
   */
  readonly etcdFirst: boolean;
  /**
   * tlsFiles are etcdctl's --cacert, --cert and --key for raftkube's https:// endpoints, or null
   * (then a cluster file's certificates are used, if it has any).
   */
  readonly tlsFiles: { readonly cacert?: string; readonly cert?: string; readonly key?: string } | null;
  readonly workloads: readonly WorkloadName[];
  /** durationMs bounds each phase of a workload in time. */
  readonly durationMs: number;
  /**
   * warmupMs is how long each system is driven, unmeasured, before its first workload (puts and
   * linearizable gets alternating, 4 in flight), so both are measured warm: raftkube's V8 compiles
   * its hot paths over the first few thousand requests.
   */
  readonly warmupMs: number;
  /** count overrides each phase's operation bound (null: the workload's default). */
  readonly count: number | null;
  /** keys is how many keys the memory workload loads. */
  readonly keys: number;
  /** watchers is the watcher count of the many-watchers phases. */
  readonly watchers: number;
  /** watchClients is how many client threads hold watch-fanout's watchers (puts run on another). */
  readonly watchClients: number;
  /** putClients is how many client threads share put-throughput's requests in flight. */
  readonly putClients: number;
  readonly jsonPath: string | null;
  readonly svgPath: string | null;
  readonly progress: boolean;
  /** trace is null, or the per-hop latency budget (--trace) to run instead of the workloads. */
  readonly trace: TracePlan | null;
}

/** TracePlan says how to run --trace. */
export interface TracePlan {
  /** every: one request in `every` is sampled (--trace-sample). */
  readonly every: number;
  /** outPath is where the raw records go as JSON (--trace-out), or null. */
  readonly outPath: string | null;
}

/** Validated is a value or the reason the flags were refused. */
export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** DEFAULT_ETCD_BIN is where Debian's etcd-server package installs etcd. */
export const DEFAULT_ETCD_BIN = '/usr/bin/etcd';
/** DEFAULT_WATCH_CLIENTS: one client thread per core of these 2-core machines decodes watch-fanout's events. */
export const DEFAULT_WATCH_CLIENTS = 2;
/** DEFAULT_PUT_CLIENTS: one client thread per core drives put-throughput's puts (one thread alone saturates its core at 256 in flight). */
export const DEFAULT_PUT_CLIENTS = 2;
/** DEFAULT_ETCD_BASE_PORT is the first port of the reference etcd (client, peer pairs from there). */
export const DEFAULT_ETCD_BASE_PORT = 42379;

/** parseEndpoints splits a comma-separated URL list and refuses anything not on loopback. */
export function parseEndpoints(list: string): Validated<string[]> {
  const parts = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) return { ok: false, error: '--endpoints is empty; pass raftkube client URLs such as http://127.0.0.1:32379,http://127.0.0.1:32381' };
  const out: string[] = [];
  for (const p of parts) {
    let u: URL;
    try {
      u = new URL(p.includes('://') ? p : `http://${p}`);
    } catch {
      return { ok: false, error: `--endpoints: "${p}" is not a URL; use http://127.0.0.1:PORT` };
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, error: `--endpoints: "${p}" uses ${u.protocol}; the benchmark speaks gRPC over http:// or https:// only` };
    if (u.port === '') return { ok: false, error: `--endpoints: "${p}" has no port; add one, e.g. http://127.0.0.1:32379` };
    if (!isLoopbackHost(u.hostname)) return { ok: false, error: `--endpoints: "${p}" is not on loopback; the benchmark only sends requests to 127.0.0.0/8, ::1 or localhost` };
    out.push(`${u.protocol}//${u.host}`);
  }
  if (new Set(out).size !== out.length) return { ok: false, error: '--endpoints lists an endpoint twice; list each member once' };
  return { ok: true, value: out };
}

/** isLoopbackHost tells whether a URL host name is a loopback address. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** parseWorkloads expands --workload (a name, a comma list, or all) into the workloads to run. */
export function parseWorkloads(spec: string, heavy: boolean): Validated<WorkloadName[]> {
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return { ok: false, error: `--workload is empty; pick one of ${[...WORKLOADS, 'all'].join(', ')}` };
  const out = new Set<WorkloadName>();
  for (const n of names) {
    if (n === 'all') {
      for (const w of LIGHT_WORKLOADS) out.add(w);
      if (heavy) for (const w of HEAVY_WORKLOADS) out.add(w);
      continue;
    }
    const w = WORKLOADS.find((x) => x === n);
    if (w === undefined) return { ok: false, error: `Unknown workload "${n}"; pick one of ${[...WORKLOADS, 'all'].join(', ')}` };
    out.add(w);
  }
  // Run in the canonical order: the heavy workloads load a million keys, so they go last.
  return { ok: true, value: WORKLOADS.filter((w) => out.has(w)) };
}

function intFlag(name: string, v: string | undefined, def: number, min: number, max: number): Validated<number> {
  if (v === undefined) return { ok: true, value: def };
  const n = Number(v.replace(/_/g, ''));
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) return { ok: false, error: `--${name} must be a whole number from ${min} to ${max} (got "${v}")` };
  return { ok: true, value: n };
}

/** validateBenchKvOptions checks the flags of `raftkube bench kv` and resolves their defaults. */
export function validateBenchKvOptions(raw: RawBenchKvOptions): Validated<BenchKvOptions> {
  const etcdOnly = raw.etcdOnly ?? false;
  const compare = raw.compareEtcd ?? false;
  if (etcdOnly && (raw.endpoints !== undefined || raw.clusterFile !== undefined)) {
    return { ok: false, error: '--etcd-only measures a fresh etcd alone; drop --endpoints/--cluster-file, or drop --etcd-only to measure raftkube' };
  }
  let endpoints: string[] | null = null;
  if (raw.endpoints !== undefined) {
    const e = parseEndpoints(raw.endpoints);
    if (!e.ok) return e;
    endpoints = e.value;
  }
  if (!etcdOnly && endpoints === null && raw.clusterFile === undefined) {
    return { ok: false, error: 'Tell the benchmark where raftkube is: --endpoints URLs or --cluster-file DIR/cluster.json (or --etcd-only to measure etcd alone)' };
  }
  const trace = raw.trace ?? false;
  if (!trace && (raw.traceOut !== undefined || raw.traceSample !== undefined)) return { ok: false, error: '--trace-out and --trace-sample go with --trace; add --trace' };
  const tlsGiven = raw.cacert !== undefined || raw.cert !== undefined || raw.key !== undefined;
  if (tlsGiven && etcdOnly) return { ok: false, error: '--cacert/--cert/--key reach raftkube\'s https:// endpoints; --etcd-only measures a plain-http etcd alone: drop them' };
  if ((raw.etcdFirst ?? false) && !compare) return { ok: false, error: '--etcd-first orders the systems of --compare-etcd; add --compare-etcd' };
  if (trace && (etcdOnly || compare)) return { ok: false, error: '--trace measures raftkube alone (etcd records no per-hop times); drop --compare-etcd/--etcd-only' };
  const traceSample = intFlag('trace-sample', raw.traceSample, 4, 1, 1000);
  if (!traceSample.ok) return traceSample;
  const heavy = raw.heavy ?? false;
  const workloads = parseWorkloads(raw.workload ?? 'all', heavy);
  if (!workloads.ok) return workloads;
  const needsPids = workloads.value.some((w) => (HEAVY_WORKLOADS as readonly string[]).includes(w));
  if (!etcdOnly && needsPids && raw.clusterFile === undefined) {
    return { ok: false, error: 'The memory and recovery workloads need raftkube member pids: pass --cluster-file DIR/cluster.json' };
  }
  const members = raw.members === undefined ? null : intFlag('members', raw.members, 3, 1, 7);
  if (members !== null && !members.ok) return members;
  if (members !== null && members.value % 2 === 0) return { ok: false, error: `--members must be odd (1, 3, 5 or 7) for a clean quorum, got ${members.value}` };
  const duration = Number(raw.duration ?? '10');
  if (!Number.isFinite(duration) || duration <= 0 || duration > 3600) return { ok: false, error: `--duration is seconds per phase, more than 0 and at most 3600 (got "${raw.duration ?? ''}")` };
  const warmup = Number(raw.warmup ?? '10');
  if (!Number.isFinite(warmup) || warmup < 0 || warmup > 600) return { ok: false, error: `--warmup is seconds of unmeasured load on each system before it is measured, 0 to 600 (got "${raw.warmup ?? ''}")` };
  const count = raw.count === undefined ? null : intFlag('count', raw.count, 0, 1, 100_000_000);
  if (count !== null && !count.ok) return count;
  const keys = intFlag('keys', raw.keys, 1_000_000, 1, 100_000_000);
  if (!keys.ok) return keys;
  const watchers = intFlag('watchers', raw.watchers, 100, 1, 10_000);
  if (!watchers.ok) return watchers;
  const watchClients = intFlag('watch-clients', raw.watchClients, DEFAULT_WATCH_CLIENTS, 1, 16);
  if (!watchClients.ok) return watchClients;
  const putClients = intFlag('put-clients', raw.putClients, DEFAULT_PUT_CLIENTS, 1, 16);
  if (!putClients.ok) return putClients;
  const basePort = intFlag('etcd-base-port', raw.etcdBasePort, DEFAULT_ETCD_BASE_PORT, 1024, 65535 - 16);
  if (!basePort.ok) return basePort;
  const runEtcd = etcdOnly || compare;
  const etcdMembers = members === null ? (etcdOnly ? 3 : null) : members.value;
  return {
    ok: true,
    value: {
      raftkube: !etcdOnly,
      endpoints,
      clusterFile: raw.clusterFile ?? null,
      etcdFirst: raw.etcdFirst ?? false,
      tlsFiles: tlsGiven ? { ...(raw.cacert === undefined ? {} : { cacert: raw.cacert }), ...(raw.cert === undefined ? {} : { cert: raw.cert }), ...(raw.key === undefined ? {} : { key: raw.key }) } : null,
      etcd: runEtcd ? { members: etcdMembers, bin: raw.etcdBin ?? DEFAULT_ETCD_BIN, basePort: basePort.value } : null,
      workloads: workloads.value,
      durationMs: duration * 1000,
      warmupMs: warmup * 1000,
      count: count === null ? null : count.value,
      keys: keys.value,
      watchers: watchers.value,
      watchClients: watchClients.value,
      putClients: putClients.value,
      jsonPath: raw.json ?? null,
      svgPath: raw.svg ?? null,
      progress: raw.progress ?? true,
      trace: trace ? { every: traceSample.value, outPath: raw.traceOut ?? null } : null,
    },
  };
}
