/**
 * trace-run: `raftkube bench kv --trace` — four sequential phases against a running raftkube
 * (puts sent to the leader, puts sent to a follower, linearizable gets sent to the leader, to a
 * follower), one request in `every` sampled. For each phase the bench turns recording on in
 * every member (POST /debug/trace?enable=true on its client port), runs the requests, then reads
 * each member's records (GET /debug/trace); trace.ts joins them with the client's own timings.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EtcdClient, type EtcdTls } from '../../src/kv/client/etcd-client.js';
import { prefixEnd } from '../../src/kv/client/watch-stream.js';
import type { TraceDump, TraceEvent, TracePause } from '../../src/kv/server/tracer.js';
import type { Progress } from './progress.js';
import { errorMessage } from './target.js';
import { GcWatch, pausedMs, type Pause } from './client-gc.js';
import { CpuWaitClock } from '../../src/kv/server/cpu-wait.js';
import { joinTrace, traceTables, type ClientSample, type JoinResult, type TraceKind, type TraceTable } from './trace.js';

/** TraceRunOptions describe a --trace run. */
export interface TraceRunOptions {
  /** endpoints are every member's client URL (http:// or https://host:port). */
  readonly endpoints: readonly string[];
  /** tls reaches https:// endpoints (the CA, and the client certificate members may demand). */
  readonly tls?: EtcdTls;
  readonly durationMs: number;
  /** count bounds the requests of each phase (null: TRACE_DEFAULT_COUNT). */
  readonly count: number | null;
  /** every: one request in `every` is sampled. */
  readonly every: number;
  /** prefix is where the run's keys go; they are deleted at the end. */
  readonly prefix: string;
  readonly value: Buffer;
  readonly progress: Progress;
  readonly signal: AbortSignal;
}

/** TraceRunReport is everything a --trace run gathered. */
export interface TraceRunReport {
  readonly members: number;
  readonly leader: string;
  readonly samples: readonly ClientSample[];
  readonly dumps: readonly TraceDump[];
  readonly join: JoinResult;
  readonly tables: readonly TraceTable[];
  readonly notes: readonly string[];
}

/** TRACE_DEFAULT_COUNT bounds each phase's requests when --count is not given. */
export const TRACE_DEFAULT_COUNT = 20_000;

const HTTP_TIMEOUT_MS = 10_000;

/** HttpAnswer is a status code and body of a /debug/trace request. */
interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * send makes one HTTP/1.1 request; https:// URLs use the run's CA and client certificate (a
 * member with --client-cert-auth refuses a request without one, on /debug/trace as on /metrics).
 */
function send(url: URL, method: 'GET' | 'POST', tls: EtcdTls | undefined): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const opts = { method, timeout: HTTP_TIMEOUT_MS };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, { ...opts, ...(tls?.ca === undefined ? {} : { ca: tls.ca }), ...(tls?.cert === undefined ? {} : { cert: tls.cert }), ...(tls?.key === undefined ? {} : { key: tls.key }) }, onResponse)
      : httpRequest(url, opts, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function debugTrace(endpoint: string, method: 'GET' | 'POST', tls: EtcdTls | undefined, query = ''): Promise<unknown> {
  const url = `${endpoint}/debug/trace${query}`;
  let res: HttpAnswer;
  try {
    res = await send(new URL(url), method, tls);
  } catch (err: unknown) {
    throw new Error(`${method} ${url} failed: ${errorMessage(err)}`);
  }
  if (res.status === 404 || res.status === 405) throw new Error(`${endpoint} does not serve /debug/trace (HTTP ${res.status}); is it a raftkube member of this version?`);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${url}: HTTP ${res.status} ${res.body.trim()}`);
  return JSON.parse(res.body) as unknown;
}

function isEvent(v: unknown): v is TraceEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['key'] === 'string' && typeof e['stage'] === 'string' && typeof e['t'] === 'string' && /^\d+$/.test(e['t']) && (e['peer'] === undefined || typeof e['peer'] === 'string') && (e['ref'] === undefined || typeof e['ref'] === 'string') && (e['waited'] === undefined || (typeof e['waited'] === 'string' && /^\d+$/.test(e['waited'])));
}

function isPause(v: unknown): v is TracePause {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p['start'] === 'string' && /^\d+$/.test(p['start']) && typeof p['end'] === 'string' && /^\d+$/.test(p['end']) && BigInt(p['end']) >= BigInt(p['start']);
}

/** decodeDump narrows a GET /debug/trace body (members that do not record GC pauses send no `gc`). */
export function decodeDump(v: unknown, from: string): TraceDump {
  if (typeof v !== 'object' || v === null) throw new Error(`${from}: /debug/trace did not return an object`);
  const d = v as Record<string, unknown>;
  const events = d['events'];
  const gc = d['gc'];
  const gcDropped = d['gcDropped'];
  if (typeof d['member'] !== 'string' || typeof d['dropped'] !== 'number' || typeof d['enabled'] !== 'boolean' || !Array.isArray(events) || !events.every(isEvent)) {
    throw new Error(`${from}: /debug/trace returned a body of the wrong shape`);
  }
  if ((gc !== undefined && (!Array.isArray(gc) || !gc.every(isPause))) || (gcDropped !== undefined && typeof gcDropped !== 'number')) {
    throw new Error(`${from}: /debug/trace returned GC pauses of the wrong shape`);
  }
  return { member: d['member'], enabled: d['enabled'], dropped: d['dropped'], events, ...(gc === undefined ? {} : { gc }), ...(typeof gcDropped === 'number' ? { gcDropped } : {}) };
}

async function setAll(endpoints: readonly string[], tls: EtcdTls | undefined, enable: boolean): Promise<void> {
  await Promise.all(endpoints.map((e) => debugTrace(e, 'POST', tls, `?enable=${enable}`)));
}

async function drainAll(endpoints: readonly string[], tls: EtcdTls | undefined): Promise<TraceDump[]> {
  return Promise.all(endpoints.map(async (e) => decodeDump(await debugTrace(e, 'GET', tls), e)));
}

/** findLeader returns the index of the endpoint whose member leads, and the leader's hex ID. */
async function findLeader(client: EtcdClient, n: number): Promise<{ index: number; id: string }> {
  const statuses = await Promise.all(Array.from({ length: n }, (_, i) => client.statusAt(i)));
  const leaders = new Set(statuses.map((s) => s.leader));
  if (leaders.size !== 1 || statuses[0]?.leader === '0') throw new Error('The members do not agree on a leader (an election is going on?); retry in a moment');
  const leader = statuses[0]!.leader;
  const index = statuses.findIndex((s) => s.header.member_id === leader);
  if (index < 0) throw new Error(`The leader (${BigInt(leader).toString(16)}) is not among the endpoints; --trace needs every member's client URL`);
  return { index, id: BigInt(leader).toString(16) };
}

/** runTrace runs the four phases and joins what they recorded. */
export async function runTrace(o: TraceRunOptions): Promise<TraceRunReport> {
  const n = o.endpoints.length;
  if (n < 2) throw new Error('--trace needs a cluster of at least 3 members and every member\'s endpoint (one endpoint cannot show a follower)');
  const client = new EtcdClient(o.endpoints, { deadlineMs: 30_000, ...(o.tls === undefined ? {} : { tls: o.tls }) });
  const samples: ClientSample[] = [];
  const dumps: TraceDump[] = [];
  const notes: string[] = [];
  const count = o.count ?? TRACE_DEFAULT_COUNT;
  const gc = new GcWatch();
  const cpuClock = CpuWaitClock.open();
  let pauses: readonly Pause[] = [];
  try {
    const lead = await findLeader(client, n);
    const follower = (lead.index + 1) % n;
    const getKey = `${o.prefix}get`;
    await client.putAt(lead.index, getKey, o.value);
    const phases: { label: string; kind: TraceKind; at: number }[] = [
      { label: 'trace: put via the leader', kind: 'put', at: lead.index },
      { label: 'trace: put via a follower', kind: 'put', at: follower },
      { label: 'trace: get via the leader', kind: 'get', at: lead.index },
      { label: 'trace: get via a follower', kind: 'get', at: follower },
    ];
    for (const [p, ph] of phases.entries()) {
      if (o.signal.aborted) break;
      let headersNs: bigint | undefined;
      const onHeaders = (): void => {
        headersNs = process.hrtime.bigint();
      };
      const op = (i: number, trace?: string): Promise<unknown> => {
        const opts = trace === undefined ? {} : { trace, onHeaders };
        return ph.kind === 'put' ? client.putAt(ph.at, `${o.prefix}${p}/${i}`, o.value, opts) : client.rangeAt(ph.at, getKey, false, opts);
      };
      // Warm the connection and the JIT before recording.
      for (let i = 0; i < 50; i++) await op(-1 - i);
      await setAll(o.endpoints, o.tls, true);
      o.progress.phase(ph.label, count, o.durationMs);
      const t0 = performance.now();
      let done = 0;
      let traced = 0;
      let lastUpdate = 0;
      for (let i = 0; i < count && performance.now() - t0 < o.durationMs && !o.signal.aborted; i++) {
        if (i % o.every === 0) {
          const token = `${ph.kind}${p}.${i}`;
          headersNs = undefined;
          const waited0 = cpuClock?.waitedNs() ?? null;
          const sentNs = process.hrtime.bigint();
          await op(i, token);
          const recvNs = process.hrtime.bigint();
          const waited1 = waited0 === null ? null : (cpuClock?.waitedNs() ?? null);
          const cpuWaitMs = waited0 === null || waited1 === null ? undefined : (waited1 - waited0) / 1e6;
          samples.push({ token, kind: ph.kind, sentNs, recvNs, ...(headersNs === undefined ? {} : { headersNs }), ...(cpuWaitMs === undefined ? {} : { cpuWaitMs }) });
          traced++;
        } else {
          await op(i);
        }
        done++;
        if (performance.now() - lastUpdate > 100) {
          lastUpdate = performance.now();
          o.progress.update(done);
        }
      }
      const got = await drainAll(o.endpoints, o.tls);
      dumps.push(...got);
      const dropped = got.reduce((a, d) => a + d.dropped, 0);
      if (dropped > 0) notes.push(`${ph.label}: the members' rings overwrote ${dropped} events; use a higher --trace-sample or a shorter --duration`);
      const gcDropped = got.reduce((a, d) => a + (d.gcDropped ?? 0), 0);
      if (gcDropped > 0) notes.push(`${ph.label}: the members kept no record of ${gcDropped} GC pauses (more than they hold between two reads); use a shorter --duration`);
      o.progress.done(`${done} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${traced} sampled`);
    }
  } finally {
    pauses = gc.stop();
    cpuClock?.close();
    await setAll(o.endpoints, o.tls, false).catch((err: unknown) => notes.push(`could not turn tracing off everywhere: ${errorMessage(err)}`));
    await client.deleteRange(o.prefix, prefixEnd(o.prefix)).catch((err: unknown) => notes.push(`could not delete ${o.prefix}*: ${errorMessage(err)}`));
    client.close();
  }
  const join = joinTrace(samples.map((s) => ({ ...s, pausedMs: pausedMs(pauses, s.sentNs, s.recvNs) })), dumps, { members: n });
  if (join.incomplete.length > 0) {
    const reasons = new Map<string, number>();
    for (const x of join.incomplete) reasons.set(x.reason, (reasons.get(x.reason) ?? 0) + 1);
    notes.push(`${join.incomplete.length} of ${samples.length} sampled requests could not be joined: ${[...reasons].map(([r, c]) => `${c}× ${r}`).join('; ')}`);
  }
  const leaders = new Set(join.joined.map((j) => j.leader));
  if (leaders.size > 1) notes.push(`the leader changed during the run (${[...leaders].join(', ')})`);
  return { members: n, leader: [...leaders][0] ?? '', samples, dumps, join, tables: traceTables(join.joined), notes };
}
