/**
 * workloads: the phases of `raftkube bench api` against live apiservers — pod creates through
 * REST and gRPC at a given concurrency, watch delivery latency at a given number of watchers,
 * filling the namespace, timed lists, and deleting what the run created. Each phase reports
 * its course to a Progress and returns a latency series.
 */
import type { ApiClient, ResourceDescriptor } from '../../src/control-plane/client/api-client.js';
import { LatencyRecorder } from '../kv/histogram.js';
import type { Progress } from '../kv/progress.js';
import { expectStatus, type RestClient, type RestWatch } from './rest.js';
import type { ApiTarget } from './target.js';
import type { ApiSeries, ApiVia } from './types.js';

/** PODS addresses core/v1 pods for the gRPC client. */
export const PODS: ResourceDescriptor = { group: '', version: 'v1', plural: 'pods', namespaced: true };

/** CHUNK_LABEL groups the run's pods in chunks of CHUNK_SIZE, so cleanup can delete them with progress. */
export const CHUNK_LABEL = 'bench.raftkube.io/chunk';
/** CHUNK_SIZE is how many pods share a chunk label. */
export const CHUNK_SIZE = 500;

/** ApiBenchContext is what every phase works with. */
export interface ApiBenchContext {
  readonly target: ApiTarget;
  readonly rest: RestClient;
  /** grpc holds one client per apiserver, each trying its own apiserver first; null without gRPC addresses. */
  readonly grpc: readonly ApiClient[] | null;
  readonly namespace: string;
  readonly progress: Progress;
  readonly signal: AbortSignal;
  /** created counts the pods this run created (names and chunk labels come from it). */
  created: number;
}

/** podBody is the smallest valid pod: one container, never scheduled (there are no nodes). */
export function podBody(name: string, namespace: string, index: number): { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'raftkube-bench', [CHUNK_LABEL]: String(Math.floor(index / CHUNK_SIZE)) } },
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

function restURL(ctx: ApiBenchContext, i: number): string {
  const m = ctx.target.masters[i % ctx.target.masters.length];
  if (m === undefined) throw new Error('The cluster has no apiservers');
  return m.apiserverURL;
}

function podsPath(ns: string, query = ''): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods${query === '' ? '' : `?${query}`}`;
}

/** createPod creates the next pod of the run through one face, on apiserver `i` (round robin). */
async function createPod(ctx: ApiBenchContext, via: ApiVia, i: number, prefix: string): Promise<string | null> {
  const index = ctx.created++;
  const name = `${prefix}-${index}`;
  const body = podBody(name, ctx.namespace, index);
  if (via === 'rest') {
    const r = await ctx.rest.request(restURL(ctx, i), 'POST', podsPath(ctx.namespace), body);
    if (r.status === 201) return null;
    return `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
  }
  const clients = ctx.grpc;
  if (clients === null) throw new Error('No gRPC address in cluster.json');
  const c = clients[i % clients.length]!;
  const r = await c.create(PODS, body);
  return r.ok ? null : `${r.error.code} ${r.error.reason}: ${r.error.message}`;
}

const NAMESPACES: ResourceDescriptor = { group: '', version: 'v1', plural: 'namespaces', namespaced: false };

/**
 * warmUp reads the namespace once per client, untimed, so connections (TLS handshakes, gRPC
 * channels) are open before the first timed create: the keep-alive agent then holds `clients`
 * idle sockets.
 */
async function warmUp(ctx: ApiBenchContext, via: ApiVia, clients: number): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      if (via === 'rest') {
        const r = await ctx.rest.request(restURL(ctx, k), 'GET', `/api/v1/namespaces/${encodeURIComponent(ctx.namespace)}`);
        expectStatus(r, [200], 'Reading the benchmark namespace');
        return;
      }
      const c = ctx.grpc?.[k % ctx.grpc.length];
      if (c === undefined) throw new Error('No gRPC address in cluster.json');
      const r = await c.get(NAMESPACES, { name: ctx.namespace });
      if (!r.ok) throw new Error(`Reading the benchmark namespace over gRPC failed: ${r.error.message}`);
    }),
  );
}

function summaryNote(errors: number, first: string | null): string[] {
  return errors === 0 ? [] : [`${errors} failed request${errors === 1 ? '' : 's'} left out of the latencies (first: ${first ?? '?'})`];
}

/**
 * createPhase creates pods with `clients` clients, each keeping one create in flight, until
 * `count` creates or `durationMs` have passed; client k talks to apiserver k (round robin).
 */
export async function createPhase(ctx: ApiBenchContext, o: { readonly via: ApiVia; readonly clients: number; readonly count: number; readonly durationMs: number }): Promise<ApiSeries> {
  const label = `create, ${o.via === 'rest' ? 'REST' : 'gRPC'}, ${o.clients} client${o.clients === 1 ? '' : 's'}`;
  await warmUp(ctx, o.via, o.clients);
  ctx.progress.phase(label, o.count, o.durationMs);
  const rec = new LatencyRecorder();
  let issued = 0;
  let done = 0;
  let errors = 0;
  let first: string | null = null;
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  const client = async (k: number): Promise<void> => {
    while (issued < o.count && performance.now() < deadline && !ctx.signal.aborted) {
      issued++;
      const s = performance.now();
      let failure: string | null;
      try {
        failure = await createPod(ctx, o.via, k, `c${o.via}${o.clients}`);
      } catch (e: unknown) {
        failure = e instanceof Error ? e.message : String(e);
      }
      if (failure === null) rec.recordMs(performance.now() - s);
      else {
        errors++;
        first ??= failure;
      }
      done++;
      ctx.progress.update(done);
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, k) => client(k)));
  const seconds = (performance.now() - t0) / 1000;
  const summary = rec.summary();
  ctx.progress.done(`${summary.count} creates, ${(summary.count / seconds).toFixed(0)}/s, p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms${errors > 0 ? `, ${errors} errors` : ''}`);
  return { kind: 'create', label, via: o.via, concurrency: o.clients, summary, rate: summary.count / seconds, errors, notes: summaryNote(errors, first) };
}

/** eventPodName reads metadata.name out of a watch event line without parsing the whole object (the first "name" is metadata's). */
export function eventPodName(line: string): string | null {
  if (!line.startsWith('{"type":"ADDED"')) return null;
  const i = line.indexOf('"name":"');
  if (i < 0) return null;
  const j = line.indexOf('"', i + 8);
  return j < 0 ? null : line.slice(i + 8, j);
}

interface Pending {
  /** timed is false for the warm-up create. */
  readonly timed: boolean;
  /** sent is when the create was sent. */
  readonly sent: number;
  ack: number | null;
  /** early counts events read before the create's response. */
  early: number;
  arrivals: number;
  readonly resolve: () => void;
}

/** listResourceVersion reads the namespace's pods' current resourceVersion with a quorum list of one. */
async function listResourceVersion(ctx: ApiBenchContext): Promise<string> {
  const r = await ctx.rest.request(restURL(ctx, 0), 'GET', podsPath(ctx.namespace, 'limit=1'));
  expectStatus(r, [200], 'Listing pods');
  const rv = (JSON.parse(r.body) as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
  if (typeof rv !== 'string') throw new Error('The pod list has no metadata.resourceVersion');
  return rv;
}

/**
 * watchPhase opens `watchers` watches of the namespace's pods from the current resourceVersion,
 * spread over the apiservers, then creates pods one at a time (through REST) and times, for
 * every watcher, from the create's acknowledgement to the watcher reading the ADDED event.
 * An event read before its create was acknowledged counts as 0 ms (and is counted in a note).
 * The next create waits until every watcher has the event (or 10 s passed).
 */
export async function watchPhase(ctx: ApiBenchContext, o: { readonly via: ApiVia; readonly watchers: number; readonly creates: number }): Promise<[ApiSeries, ApiSeries]> {
  const label = `watch, ${o.via === 'rest' ? 'REST' : 'gRPC'}, ${o.watchers} watcher${o.watchers === 1 ? '' : 's'}`;
  const rec = new LatencyRecorder();
  const recSent = new LatencyRecorder();
  const pending = new Map<string, Pending>();
  let early = 0;
  let broken = 0;
  let firstBreak: string | null = null;
  const arrive = (name: string, at: number): void => {
    const p = pending.get(name);
    if (p === undefined) return;
    p.arrivals++;
    if (p.timed) recSent.recordMs(at - p.sent);
    if (p.ack === null) p.early++;
    else if (p.timed) rec.recordMs(Math.max(0, at - p.ack));
    if (p.arrivals >= o.watchers) p.resolve();
  };
  const ended = (e: Error | string | null): void => {
    if (ctx.signal.aborted) return;
    broken++;
    firstBreak ??= e === null ? 'closed by the server' : typeof e === 'string' ? e : e.message;
  };
  const rv = await listResourceVersion(ctx);
  const open: RestWatch[] = [];
  ctx.progress.phase(`${label}: opening`, o.watchers, 0);
  try {
    const openOne = async (k: number): Promise<void> => {
      if (o.via === 'rest') {
        const w = await ctx.rest.watch(restURL(ctx, k), podsPath(ctx.namespace, `watch=1&resourceVersion=${encodeURIComponent(rv)}`), {
          line: (line, at) => {
            const name = eventPodName(line);
            if (name !== null) arrive(name, at);
          },
          end: ended,
        });
        open.push(w);
        return;
      }
      const clients = ctx.grpc;
      if (clients === null) throw new Error('No gRPC address in cluster.json');
      const d = clients[k % clients.length]!.watch(PODS, { namespace: ctx.namespace, resourceVersion: rv }, {
        event: (ev) => {
          if (ev.type === 'ADDED' && ev.object.metadata.name !== undefined) arrive(ev.object.metadata.name, performance.now());
        },
        end: (why) => ended(why === null ? null : why.message),
      });
      open.push(d);
    };
    const batch = 50;
    for (let k = 0; k < o.watchers && !ctx.signal.aborted; k += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, o.watchers - k) }, (_, j) => openOne(k + j)));
      ctx.progress.update(Math.min(o.watchers, k + batch));
    }
    ctx.progress.done(`${open.length} watches open from resourceVersion ${rv}`);
    ctx.progress.phase(label, o.creates, 0);
    let missing = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // One untimed create first: it proves every stream delivers (gRPC streams open lazily) and warms the path.
    for (let k = -1; k < o.creates && !ctx.signal.aborted; k++) {
      const index = ctx.created++;
      const name = `w${o.watchers}-${index}`;
      let resolveAll: () => void = () => {};
      const all = new Promise<void>((resolve) => (resolveAll = resolve));
      const p: Pending = { timed: k >= 0, sent: performance.now(), ack: null, early: 0, arrivals: 0, resolve: resolveAll };
      pending.set(name, p);
      const r = await ctx.rest.request(restURL(ctx, k + 1), 'POST', podsPath(ctx.namespace), podBody(name, ctx.namespace, index));
      expectStatus(r, [201], `Creating pod ${name}`);
      p.ack = performance.now();
      if (p.timed) {
        for (let e = 0; e < p.early; e++) rec.recordMs(0);
        early += p.early;
      }
      let timer: NodeJS.Timeout | undefined;
      const arrived = p.arrivals >= o.watchers || (await Promise.race([all.then(() => true), new Promise<boolean>((res) => (timer = setTimeout(() => res(false), 10_000)))]));
      clearTimeout(timer);
      if (!arrived && p.timed) missing += o.watchers - p.arrivals;
      pending.delete(name);
      if (p.timed) ctx.progress.update(k + 1);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuPercent = (100 * (cpu.user + cpu.system)) / 1000 / Math.max(1, performance.now() - t0);
    const s = rec.summary();
    ctx.progress.done(`${s.count} deliveries, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms${missing > 0 ? `, ${missing} missing` : ''}`);
    const notes: string[] = [];
    if (early > 0) notes.push(`${early} of ${s.count} events (${((100 * early) / Math.max(1, s.count)).toFixed(1)}%) were read before the create's response; they count as 0 ms`);
    if (missing > 0) notes.push(`${missing} events never arrived within 10 s of their create`);
    if (broken > 0) notes.push(`${broken} watch stream${broken === 1 ? '' : 's'} ended early (first: ${firstBreak ?? '?'})`);
    notes.push(`the benchmark process used ${cpuPercent.toFixed(0)}% of a core while the pods were created and delivered`);
    const fromSent: ApiSeries = { kind: 'watch-sent', label: `${label}, from create sent`, via: o.via, concurrency: o.watchers, summary: recSent.summary(), rate: 0, errors: missing, notes: [] };
    return [{ kind: 'watch', label: `${label}, from create acked`, via: o.via, concurrency: o.watchers, summary: s, rate: 0, errors: missing, notes }, fromSent];
  } finally {
    for (const w of open) w.dispose();
  }
}

/** fillPods creates pods through REST, 64 in flight, until the run has created `total`. */
export async function fillPods(ctx: ApiBenchContext, total: number): Promise<void> {
  const todo = total - ctx.created;
  if (todo <= 0) return;
  ctx.progress.phase(`filling to ${total.toLocaleString('en-US')} pods`, todo, 0);
  let done = 0;
  let failed = 0;
  let first: string | null = null;
  const worker = async (k: number): Promise<void> => {
    while (ctx.created < total && !ctx.signal.aborted) {
      const f = await createPod(ctx, 'rest', k, 'f');
      if (f !== null) {
        failed++;
        first ??= f;
        if (failed > 100) throw new Error(`Filling the namespace failed more than 100 times (first: ${first})`);
      }
      ctx.progress.update(++done);
    }
  };
  await Promise.all(Array.from({ length: 64 }, (_, k) => worker(k)));
  ctx.progress.done(`${done} pods created${failed > 0 ? ` (${failed} failed: ${first ?? '?'})` : ''}`);
}

/**
 * listPhase times `repeats` lists of every pod in the namespace (round robin over the
 * apiservers), from the watch cache (`resourceVersion=0`) or as a quorum read (no
 * resourceVersion): from sending the request to having read the whole body. The first body
 * is parsed (untimed) to check it holds `expected` pods.
 */
export async function listPhase(ctx: ApiBenchContext, o: { readonly cache: boolean; readonly repeats: number; readonly expected: number }): Promise<ApiSeries> {
  const label = `list ${o.expected.toLocaleString('en-US')} pods, ${o.cache ? 'watch cache (rv=0)' : 'quorum read'}`;
  ctx.progress.phase(label, o.repeats, 0);
  const rec = new LatencyRecorder();
  const notes: string[] = [];
  let bytes = 0;
  const t0 = performance.now();
  for (let k = 0; k < o.repeats && !ctx.signal.aborted; k++) {
    const s = performance.now();
    const r = await ctx.rest.request(restURL(ctx, k), 'GET', podsPath(ctx.namespace, o.cache ? 'resourceVersion=0' : ''));
    rec.recordMs(performance.now() - s);
    expectStatus(r, [200], label);
    bytes = r.body.length;
    if (k === 0) {
      const items = (JSON.parse(r.body) as { items?: unknown[] }).items?.length ?? 0;
      if (items !== o.expected) notes.push(`the list held ${items} pods, not ${o.expected}`);
    }
    ctx.progress.update(k + 1);
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = rec.summary();
  notes.push(`each list is ${(bytes / 1048576).toFixed(1)} MiB of JSON`);
  ctx.progress.done(`${s.count} lists, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, ${(bytes / 1048576).toFixed(1)} MiB each`);
  return { kind: 'list', label, via: 'rest', concurrency: 1, summary: s, rate: s.count / seconds, errors: 0, notes };
}

/**
 * deletePods deletes the run's pods chunk by chunk (deletecollection by label, grace period 0:
 * unscheduled pods go at once), then whatever is left in the namespace.
 */
export async function deletePods(ctx: ApiBenchContext): Promise<void> {
  const chunks = Math.ceil(ctx.created / CHUNK_SIZE);
  ctx.progress.phase(`deleting ${ctx.created.toLocaleString('en-US')} pods`, chunks + 1, 0);
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 };
  for (let c = 0; c < chunks; c++) {
    const r = await ctx.rest.request(restURL(ctx, c), 'DELETE', podsPath(ctx.namespace, `labelSelector=${encodeURIComponent(`${CHUNK_LABEL}=${c}`)}`), body, 300_000);
    expectStatus(r, [200], `Deleting chunk ${c} of the benchmark's pods`);
    ctx.progress.update(c + 1);
  }
  const r = await ctx.rest.request(restURL(ctx, 0), 'DELETE', podsPath(ctx.namespace), body, 300_000);
  expectStatus(r, [200], "Deleting the benchmark's remaining pods");
  ctx.progress.done('done');
}
