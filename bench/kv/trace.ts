/**
 * trace: the pure half of `raftkube bench kv --trace` — join the client's timings of sampled
 * requests with the points the members recorded (GET /debug/trace), turn each request into the
 * durations of its hops, and print p50/p99 per hop.
 *
 * A request's hops are the differences of consecutive points on its critical path: for a put,
 * client → serving member → (forward →) leader → the follower whose acknowledgement made the
 * quorum → leader commit → apply on the serving member → reply. All times are CLOCK_MONOTONIC
 * nanoseconds (process.hrtime.bigint()), which every process on one machine shares.
 *
 * NB: a point earlier than the one before it on the path (possible only where two members race,
 * e.g. a commit notice sent before the leader's own apply) is moved up to it, so every hop is
 * ≥ 0 and the hops of a request sum to at most its client-observed total; such requests are
 * counted (`reordered`). What the hops do not cover — the reply's trip back to the client — is
 * the "rest".
 */
import type { TraceDump, TraceStage } from '../../src/kv/server/tracer.js';
import { coveredMs, type Pause } from './client-gc.js';

/** TraceKind is what a sampled request does. */
export type TraceKind = 'put' | 'get';

/** TraceGroup is one table: a kind of request and who served it. */
export type TraceGroup = 'put, leader' | 'put, follower' | 'get, leader' | 'get, follower';

/** TRACE_GROUPS is the order the tables are printed in. */
export const TRACE_GROUPS: readonly TraceGroup[] = ['put, leader', 'put, follower', 'get, leader', 'get, follower'];

/** ClientSample is what the bench saw of one sampled request. */
export interface ClientSample {
  readonly token: string;
  readonly kind: TraceKind;
  /** sentNs and recvNs are process.hrtime.bigint() just before the call and when it resolved. */
  readonly sentNs: bigint;
  readonly recvNs: bigint;
  /** pausedMs is how long the client's own process stood still (its GC pauses) within the request, when measured. */
  readonly pausedMs?: number;
  /** headersNs is when the response's headers reached the client (the member writes its response message with them). */
  readonly headersNs?: bigint;
  /** cpuWaitMs is how long the client's thread waited for a CPU while ready to run, within the request (Linux schedstat), when measured. */
  readonly cpuWaitMs?: number;
}

/** Hop is one stage of a joined request. */
export interface Hop {
  readonly name: string;
  readonly ms: number;
  /**
   * cpuWaitMs is how long, within the hop, the member it ends on waited for a CPU while ready to
   * run: its event-loop thread's run-queue wait from its last point at or before the hop's start to
   * the hop's end, at most the hop itself (a member's readings come only at its points, so a wait
   * just before the hop began would otherwise count); absent when the member sent no readings.
   */
  readonly cpuWaitMs?: number;
}

/** JoinedSample is one request, hop by hop. */
export interface JoinedSample {
  readonly token: string;
  readonly group: TraceGroup;
  readonly leader: string;
  readonly serving: string;
  /** follower is the member whose answer completed the quorum. */
  readonly follower: string;
  readonly hops: readonly Hop[];
  readonly totalMs: number;
  /** restMs is total minus the hops: the reply's way back to the client and anything unexplained. */
  readonly restMs: number;
  /** leaderSyncMs is the leader's own WAL sync (puts; it runs beside the followers' round). */
  readonly leaderSyncMs: number | null;
  /** reordered is whether a point had to be moved up to the one before it. */
  readonly reordered: boolean;
  /** clientPausedMs is the client's own GC pauses within the request (null: not measured). */
  readonly clientPausedMs: number | null;
  /**
   * memberPausedMs is how much of the request's time a member stood still for its GC: `path`
   * counts the serving member, the leader and the follower whose answer completed the quorum
   * (the request waited for each of them), `others` the rest (null: the members sent no pauses).
   */
  readonly memberPausedMs: { readonly path: number; readonly others: number } | null;
  /**
   * trailersMs runs from the response's headers and message reaching the client until the call
   * completed: the wait for the trailers, which a member's HTTP/2 writes on a later loop turn
   * (null: not measured).
   */
  readonly trailersMs: number | null;
  /** clientCpuWaitMs is the client's wait for a CPU within the request (null: not measured). */
  readonly clientCpuWaitMs: number | null;
  /** membersCpuWaitMs is the sum of the hops' cpuWaitMs: the members on the path waiting for a CPU (null: no hop has it). */
  readonly membersCpuWaitMs: number | null;
}

/** JoinResult is every sample joined, or the reason it could not be. */
export interface JoinResult {
  readonly joined: readonly JoinedSample[];
  readonly incomplete: readonly { readonly token: string; readonly reason: string }[];
}

/** Ev is one recorded point: when, on which member, and that member's run-queue wait so far (ns; null: not read). */
interface Ev {
  readonly t: bigint;
  readonly member: string;
  readonly peer: string | undefined;
  readonly waited: number | null;
}

function byTime(a: { readonly t: bigint }, b: { readonly t: bigint }): number {
  return a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
}

/** EventIndex finds a member's events by key and stage. */
class EventIndex {
  readonly #byKey = new Map<string, Map<string, Map<TraceStage, Ev[]>>>();
  readonly #binds = new Map<string, { member: string; ref: string }>();
  /** #waits holds each member's run-queue readings, every point of every key, oldest first. */
  readonly #waits = new Map<string, { t: bigint; waited: number }[]>();

  constructor(dumps: readonly TraceDump[]) {
    for (const d of dumps) {
      let waits = this.#waits.get(d.member);
      if (waits === undefined) this.#waits.set(d.member, (waits = []));
      for (const e of d.events) {
        const waited = e.waited === undefined ? null : Number(e.waited);
        if (waited !== null) waits.push({ t: BigInt(e.t), waited });
        if (e.stage === 'bind') {
          if (e.ref !== undefined) this.#binds.set(e.key, { member: d.member, ref: e.ref });
          continue;
        }
        let byMember = this.#byKey.get(e.key);
        if (byMember === undefined) this.#byKey.set(e.key, (byMember = new Map<string, Map<TraceStage, Ev[]>>()));
        let byStage = byMember.get(d.member);
        if (byStage === undefined) byMember.set(d.member, (byStage = new Map<TraceStage, Ev[]>()));
        let list = byStage.get(e.stage);
        if (list === undefined) byStage.set(e.stage, (list = []));
        list.push({ t: BigInt(e.t), member: d.member, peer: e.peer, waited });
      }
    }
    for (const byMember of this.#byKey.values()) for (const byStage of byMember.values()) for (const l of byStage.values()) l.sort(byTime);
    for (const w of this.#waits.values()) w.sort(byTime);
  }

  /** waitedAt is `member`'s run-queue wait so far at its last reading at or before `t` (null: none). */
  waitedAt(member: string, t: bigint): number | null {
    const w = this.#waits.get(member) ?? [];
    let lo = 0;
    let hi = w.length; // the first reading after t is at hi
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (w[mid]!.t <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : w[lo - 1]!.waited;
  }

  bind(token: string): { member: string; ref: string } | undefined {
    return this.#binds.get(token);
  }

  /** members lists the members that recorded `stage` for `key`. */
  members(key: string, stage: TraceStage): string[] {
    const out: string[] = [];
    for (const [m, byStage] of this.#byKey.get(key) ?? []) if ((byStage.get(stage)?.length ?? 0) > 0) out.push(m);
    return out;
  }

  /** all returns a member's events of a stage for a key, oldest first. */
  all(key: string, member: string, stage: TraceStage): readonly Ev[] {
    return this.#byKey.get(key)?.get(member)?.get(stage) ?? [];
  }
}

class Missing extends Error {}

/** Path builds a request's critical path point by point. */
class Path {
  readonly hops: Hop[] = [];
  #prev: bigint;
  reordered = false;

  constructor(
    readonly ix: EventIndex,
    start: bigint,
  ) {
    this.#prev = start;
  }

  /** to adds the hop `name` ending at point `e` (moved up to the previous point if earlier). */
  to(name: string, e: Ev): void {
    let at = e.t;
    if (at < this.#prev) {
      this.reordered = true;
      at = this.#prev;
    }
    const base = e.waited === null ? null : this.ix.waitedAt(e.member, this.#prev);
    const ms = Number(at - this.#prev) / 1e6;
    const cpuWaitMs = e.waited === null || base === null ? undefined : Math.min(ms, Math.max(0, e.waited - base) / 1e6);
    this.hops.push({ name, ms, ...(cpuWaitMs === undefined ? {} : { cpuWaitMs }) });
    this.#prev = at;
  }

  get last(): bigint {
    return this.#prev;
  }
}

function first(ix: EventIndex, key: string, member: string, stage: TraceStage, peer?: string): Ev {
  const e = ix.all(key, member, stage).find((x) => peer === undefined || x.peer === peer);
  if (e === undefined) throw new Missing(`no ${stage} on member ${member}${peer === undefined ? '' : ` for peer ${peer}`}`);
  return e;
}

/**
 * quorumAnswer returns the leader's receipt of the answer that completed a quorum of `members`
 * (the leader counts itself), and who sent it.
 */
function quorumAnswer(ix: EventIndex, key: string, leader: string, stage: TraceStage, members: number): { at: Ev; from: string } {
  const need = Math.floor(members / 2); // answers from followers a quorum needs besides the leader
  const seen = new Set<string>();
  const answers: Ev[] = [];
  for (const e of ix.all(key, leader, stage)) {
    if (e.peer === undefined || seen.has(e.peer)) continue;
    seen.add(e.peer);
    answers.push(e);
  }
  const a = answers[need - 1];
  if (a === undefined || a.peer === undefined) throw new Missing(`${answers.length} ${stage} on the leader, a quorum needs ${need}`);
  return { at: a, from: a.peer };
}

function onlyMember(ix: EventIndex, key: string, stage: TraceStage): string {
  const ms = ix.members(key, stage);
  if (ms.length !== 1) throw new Missing(`${ms.length} members recorded ${stage}, expected 1`);
  return ms[0]!;
}

/**
 * responseOut adds the serving member's sending of the response — from the handler's return until
 * its trailers, the call's last frame, are handed to HTTP/2 — if the member marked it (calls on
 * its direct path do); what follows is the way to the client.
 */
function responseOut(ix: EventIndex, p: Path, token: string, serving: string): void {
  const sent = ix.all(token, serving, 'sent')[0];
  if (sent !== undefined) p.to('member: response out (HTTP/2 headers, data, trailers)', sent);
}

type Joined = Omit<JoinedSample, 'token' | 'totalMs' | 'restMs' | 'clientPausedMs' | 'memberPausedMs' | 'trailersMs' | 'clientCpuWaitMs' | 'membersCpuWaitMs'>;

function joinPut(ix: EventIndex, s: ClientSample, serving: string, key: string, members: number): Joined {
  const leader = onlyMember(ix, key, 'app-sent');
  const byLeader = serving === leader;
  const ack = quorumAnswer(ix, key, leader, 'ack-recv', members);
  const f = ack.from;
  const p = new Path(ix, s.sentNs);
  p.to('client → member (gRPC request)', first(ix, s.token, serving, 'recv'));
  p.to('member: decode, hand to Raft', first(ix, key, serving, 'proposed'));
  if (!byLeader) {
    p.to('follower: Ready, forward (MsgProp) handed to the peer link', first(ix, key, serving, 'prop-sent'));
    p.to('forward: follower → leader (peer link)', first(ix, key, leader, 'prop-recv'));
  }
  p.to('leader: to the Ready with the new entry', first(ix, key, leader, 'ready'));
  p.to('leader: appends handed to the peer link', first(ix, key, leader, 'app-sent', f));
  p.to('append: leader → follower (peer link)', first(ix, key, f, 'app-recv'));
  p.to('follower: to the Ready with the entry', first(ix, key, f, 'ready'));
  p.to('follower: WAL append + fdatasync', first(ix, key, f, 'synced'));
  p.to('follower: acknowledgement handed to the peer link', first(ix, key, f, 'ack-sent'));
  p.to('acknowledgement: follower → leader (peer link)', ack.at);
  const leaderSynced = first(ix, key, leader, 'synced');
  p.to('leader: wait for its own WAL sync', leaderSynced.t > ack.at.t ? leaderSynced : ack.at);
  p.to('leader: commit → Ready', first(ix, key, leader, 'commit'));
  if (byLeader) {
    p.to('leader: apply', first(ix, key, leader, 'applied'));
  } else {
    p.to('commit notice: leader → follower (peer link)', first(ix, key, serving, 'commit-recv'));
    p.to('follower: commit → Ready', first(ix, key, serving, 'commit'));
    p.to('follower: apply', first(ix, key, serving, 'applied'));
  }
  p.to('member: wake the request, build the response', first(ix, s.token, serving, 'reply'));
  responseOut(ix, p, s.token, serving);
  const leaderSyncMs = Number(leaderSynced.t - first(ix, key, leader, 'ready').t) / 1e6;
  return { group: byLeader ? 'put, leader' : 'put, follower', leader, serving, follower: f, hops: p.hops, leaderSyncMs, reordered: p.reordered };
}

function joinGet(ix: EventIndex, s: ClientSample, serving: string, key: string, members: number): Joined {
  const leader = onlyMember(ix, key, 'hb-sent');
  const byLeader = serving === leader;
  const answer = quorumAnswer(ix, key, leader, 'hb-resp-recv', members);
  const f = answer.from;
  const p = new Path(ix, s.sentNs);
  p.to('client → member (gRPC request)', first(ix, s.token, serving, 'recv'));
  p.to('member: decode, hand ReadIndex to Raft', first(ix, key, serving, 'read-start'));
  if (!byLeader) {
    p.to('follower: Ready, ReadIndex handed to the peer link', first(ix, key, serving, 'read-index-sent'));
    p.to('ReadIndex: follower → leader (peer link)', first(ix, key, leader, 'read-index-recv'));
  }
  p.to('leader: Ready, heartbeat handed to the peer link', first(ix, key, leader, 'hb-sent', f));
  p.to('heartbeat: leader → follower (peer link)', first(ix, key, f, 'hb-recv'));
  p.to('follower: answer handed to the peer link', first(ix, key, f, 'hb-resp-sent'));
  p.to('answer: follower → leader (peer link)', answer.at);
  if (byLeader) {
    p.to('leader: quorum → read state (Ready)', first(ix, key, leader, 'read-state'));
  } else {
    p.to('leader: quorum → read index handed to the peer link', first(ix, key, leader, 'read-index-resp-sent', serving));
    p.to('read index: leader → follower (peer link)', first(ix, key, serving, 'read-index-resp-recv'));
    p.to('follower: read state (Ready)', first(ix, key, serving, 'read-state'));
  }
  p.to('member: wait for apply, wake the request', first(ix, s.token, serving, 'read-done'));
  p.to('member: range, build the response', first(ix, s.token, serving, 'reply'));
  responseOut(ix, p, s.token, serving);
  return { group: byLeader ? 'get, leader' : 'get, follower', leader, serving, follower: f, hops: p.hops, leaderSyncMs: null, reordered: p.reordered };
}

/**
 * joinTrace joins each client sample with the members' events. `members` is the cluster size
 * (it says how many acknowledgements make a quorum).
 */
export function joinTrace(samples: readonly ClientSample[], dumps: readonly TraceDump[], o: { readonly members: number }): JoinResult {
  const ix = new EventIndex(dumps);
  const pauses = memberPauses(dumps);
  const pausedOn = (j: Joined, s: ClientSample): JoinedSample['memberPausedMs'] => {
    if (pauses === null) return null;
    const path = new Set([j.serving, j.leader, j.follower]);
    const on = [...pauses].filter(([m]) => path.has(m)).flatMap(([, ps]) => ps);
    const off = [...pauses].filter(([m]) => !path.has(m)).flatMap(([, ps]) => ps);
    return { path: coveredMs(on, s.sentNs, s.recvNs), others: coveredMs(off, s.sentNs, s.recvNs) };
  };
  const joined: JoinedSample[] = [];
  const incomplete: { token: string; reason: string }[] = [];
  for (const s of samples) {
    try {
      const b = ix.bind(s.token);
      if (b === undefined) throw new Missing('no member bound the token to a request');
      const part = s.kind === 'put' ? joinPut(ix, s, b.member, b.ref, o.members) : joinGet(ix, s, b.member, b.ref, o.members);
      const totalMs = Number(s.recvNs - s.sentNs) / 1e6;
      const sum = part.hops.reduce((a, h) => a + h.ms, 0);
      const trailersMs = s.headersNs === undefined ? null : Number(s.recvNs - s.headersNs) / 1e6;
      const waits = part.hops.flatMap((h) => (h.cpuWaitMs === undefined ? [] : [h.cpuWaitMs]));
      const membersCpuWaitMs = waits.length === 0 ? null : waits.reduce((a, v) => a + v, 0);
      joined.push({ token: s.token, ...part, totalMs, restMs: totalMs - sum, clientPausedMs: s.pausedMs ?? null, memberPausedMs: pausedOn(part, s), trailersMs, clientCpuWaitMs: s.cpuWaitMs ?? null, membersCpuWaitMs });
    } catch (err: unknown) {
      if (!(err instanceof Missing)) throw err;
      incomplete.push({ token: s.token, reason: err.message });
    }
  }
  return { joined, incomplete };
}

/** memberPauses gathers each member's GC pauses from its dumps (null if no member sent any record of them). */
function memberPauses(dumps: readonly TraceDump[]): Map<string, Pause[]> | null {
  if (!dumps.some((d) => d.gc !== undefined)) return null;
  const out = new Map<string, Pause[]>();
  for (const d of dumps) {
    let list = out.get(d.member);
    if (list === undefined) out.set(d.member, (list = []));
    for (const p of d.gc ?? []) list.push({ startNs: BigInt(p.start), endNs: BigInt(p.end) });
  }
  return out;
}

/** percentile is the nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** StageRow is one line of a table: a hop (or the rest, or the total) and its p50/p99. */
export interface StageRow {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  /**
   * tailMean is the stage's mean over the slowest 1 % of the group's requests (by total, at least
   * one): where the tail's time goes, which the per-stage p99s cannot show, since different
   * requests are slow in different stages.
   */
  readonly tailMean: number;
  readonly samples: number;
  /** cpuWaitP50 is, for a hop, the p50 of the member's wait for a CPU within it (null: not measured). */
  readonly cpuWaitP50: number | null;
  /** cpuWaitTailMean is, for a hop, the mean over the same slowest 1 % of the member's wait for a CPU within it (null: not measured). */
  readonly cpuWaitTailMean: number | null;
}

/** TraceTable is the budget of one group. */
export interface TraceTable {
  readonly group: TraceGroup;
  readonly samples: number;
  readonly stages: readonly StageRow[];
  readonly rest: StageRow;
  readonly total: StageRow;
  /** leaderSync is the leader's own WAL sync (puts), which runs beside the followers' round. */
  readonly leaderSync: StageRow | null;
  /** clientPaused is the client's own GC pauses within each request, which fall in its sending (stage 1) or the rest (null: not measured). */
  readonly clientPaused: StageRow | null;
  /** pathPaused and othersPaused are the members' GC pauses within each request (see JoinedSample.memberPausedMs; null: not measured). */
  readonly pathPaused: StageRow | null;
  readonly othersPaused: StageRow | null;
  /** trailers is the client's wait from the response's headers and message to its trailers (see JoinedSample.trailersMs; null: not measured). */
  readonly trailers: StageRow | null;
  /** clientCpuWait is the client's wait for a CPU within each request, in its sending (stage 1) or the rest (null: not measured). */
  readonly clientCpuWait: StageRow | null;
  /** membersCpuWait is the members on the path waiting for a CPU, summed over the stages (null: not measured). */
  readonly membersCpuWait: StageRow | null;
  readonly reordered: number;
}

function mean(vs: readonly number[]): number {
  return vs.length === 0 ? 0 : vs.reduce((a, v) => a + v, 0) / vs.length;
}

/** CpuWaits are a hop's waits for a CPU: over all its requests, and over the slowest 1 %. */
interface CpuWaits {
  readonly all: readonly number[];
  readonly tail: readonly number[];
}

function row(name: string, values: readonly number[], tail: readonly number[], waits: CpuWaits | null = null): StageRow {
  const sorted = [...values].sort((a, b) => a - b);
  const measured = waits !== null && waits.all.length > 0;
  return {
    name,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    tailMean: mean(tail),
    samples: sorted.length,
    cpuWaitP50: measured ? percentile([...waits.all].sort((a, b) => a - b), 50) : null,
    cpuWaitTailMean: measured ? mean(waits.tail) : null,
  };
}

/** traceTables groups joined samples and summarises each group's hops. */
export function traceTables(joined: readonly JoinedSample[]): TraceTable[] {
  const out: TraceTable[] = [];
  for (const group of TRACE_GROUPS) {
    const js = joined.filter((j) => j.group === group);
    const names: string[] = [];
    const values = new Map<string, number[]>();
    for (const j of js) {
      for (const h of j.hops) {
        let v = values.get(h.name);
        if (v === undefined) {
          values.set(h.name, (v = []));
          names.push(h.name);
        }
        v.push(h.ms);
      }
    }
    const tail = [...js].sort((a, b) => b.totalMs - a.totalMs).slice(0, Math.ceil(js.length / 100));
    const hopIn = (j: JoinedSample, name: string): number => j.hops.find((h) => h.name === name)?.ms ?? 0;
    const waitIn = (j: JoinedSample, name: string): number[] => {
      const w = j.hops.find((h) => h.name === name)?.cpuWaitMs;
      return w === undefined ? [] : [w];
    };
    // An optional per-request figure has a row when some request of the group has it.
    const rowOf = (name: string, pick: (j: JoinedSample) => number | null): StageRow | null => {
      const of = (j: JoinedSample): number[] => {
        const v = pick(j);
        return v === null ? [] : [v];
      };
      const vs = js.flatMap(of);
      return vs.length > 0 ? row(name, vs, tail.flatMap(of)) : null;
    };
    out.push({
      group,
      samples: js.length,
      stages: names.map((n) => row(n, values.get(n) ?? [], tail.map((j) => hopIn(j, n)), { all: js.flatMap((j) => waitIn(j, n)), tail: tail.flatMap((j) => waitIn(j, n)) })),
      rest: row("rest: the reply's way to the client, and anything unexplained", js.map((j) => j.restMs), tail.map((j) => j.restMs)),
      total: row('client-observed total', js.map((j) => j.totalMs), tail.map((j) => j.totalMs)),
      leaderSync: rowOf("(beside the path) leader's own WAL append + sync", (j) => j.leaderSyncMs),
      clientPaused: rowOf("(in stage 1 or the rest) the client's own GC pauses", (j) => j.clientPausedMs),
      pathPaused: rowOf('(within the stages) GC pauses of the members it waited for', (j) => j.memberPausedMs?.path ?? null),
      othersPaused: rowOf("(beside the path) the other members' GC pauses", (j) => j.memberPausedMs?.others ?? null),
      trailers: rowOf('(in response out and the rest) client: response message → trailers', (j) => j.trailersMs),
      clientCpuWait: rowOf('(in stage 1 or the rest) the client waiting for a CPU', (j) => j.clientCpuWaitMs),
      membersCpuWait: rowOf('(within the stages) the members on the path waiting for a CPU', (j) => j.membersCpuWaitMs),
      reordered: js.filter((j) => j.reordered).length,
    });
  }
  return out;
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(3) : v.toFixed(2);
}

/** formatTraceTables prints the tables as text, one per group. */
export function formatTraceTables(tables: readonly TraceTable[]): string {
  const lines: string[] = [];
  for (const t of tables) {
    lines.push(`${t.group === 'put, leader' ? 'put served by the leader' : t.group === 'put, follower' ? 'put served by a follower' : t.group === 'get, leader' ? 'linearizable get served by the leader' : 'linearizable get served by a follower'} — ${t.samples} sampled request${t.samples === 1 ? '' : 's'}${t.reordered > 0 ? `, ${t.reordered} with a point moved up` : ''}`);
    if (t.samples === 0) {
      lines.push('  (no complete samples)', '');
      continue;
    }
    const rows = [...t.stages, t.rest];
    const extra = [t.leaderSync, t.clientPaused, t.clientCpuWait, t.membersCpuWait, t.pathPaused, t.othersPaused, t.trailers];
    const width = Math.max(...[...rows, t.total, ...extra].map((r) => r?.name.length ?? 0));
    const sumP50 = t.stages.reduce((a, r) => a + r.p50, 0);
    const waits = t.stages.some((r) => r.cpuWaitP50 !== null);
    const waitCells = (r: StageRow): string => (waits && r.cpuWaitP50 !== null && r.cpuWaitTailMean !== null ? `  ${ms(r.cpuWaitP50).padStart(11)}  ${ms(r.cpuWaitTailMean).padStart(14)}` : '');
    const cells = (r: StageRow): string => `${ms(r.p50).padStart(8)}  ${ms(r.p99).padStart(8)}  ${ms(r.tailMean).padStart(11)}${waitCells(r)}`;
    lines.push(`  ${'stage'.padEnd(width)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'slowest 1%'.padStart(11)}${waits ? `  ${'CPU wait p50'.padStart(11)}  ${'CPU wait 1%'.padStart(14)}` : ''}`);
    for (const [i, r] of rows.entries()) lines.push(`  ${`${i < t.stages.length ? `${String(i + 1).padStart(2)}. ` : '    '}${r.name}`.padEnd(width + 4)}  ${cells(r)}`);
    lines.push(`  ${'    sum of the stage p50s'.padEnd(width + 4)}  ${ms(sumP50).padStart(8)}`);
    lines.push(`  ${`    ${t.total.name}`.padEnd(width + 4)}  ${cells(t.total)}`);
    for (const r of extra) if (r !== null) lines.push(`  ${`    ${r.name}`.padEnd(width + 4)}  ${cells(r)}`);
    lines.push(`  (slowest 1%: each stage's mean over the slowest 1 % of the requests by their total${waits ? "; CPU wait: how much of the stage the member it ends on spent ready to run, waiting for a CPU, p50 and mean over the same slowest 1 %" : ''})`);
    lines.push('');
  }
  return lines.join('\n');
}
