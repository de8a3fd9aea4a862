/**
 * nodes: one run of `raftkube bench nodes` — the scale check of the simulated runtime. Against a
 * cluster started with `raftkube up --runtime simulated --nodes N` it waits for the N nodes to be
 * Ready, puts the pods on them (through the scheduler) and waits for every one to run, then holds
 * for the given time, checking every few seconds that every node is Ready, every node's Lease was
 * renewed within its duration and every pod is Running and Ready. It watches the Leases all along
 * to measure the gap between two renewals of each, and reads the simulated-nodes process's memory
 * and CPU time from /proc. Every broken check is a failure in the report (the command then exits
 * 1). The pods and the namespace are deleted at the end.
 */
import type { ApiClient, LeaseObject } from '../../src/control-plane/client/index.js';
import { LEASES } from '../../src/control-plane/client/index.js';
import { NODE_LEASE_NAMESPACE } from '../../src/node-agent/index.js';
import type { NodeObject } from '../../src/node-agent/index.js';
import { NODES } from '../../src/node-agent/index.js';
import { LatencyRecorder } from '../kv/histogram.js';
import type { Progress } from '../kv/progress.js';
import { dataDirOf } from '../control-plane/target.js';
import { finishMeta, formatCensus, makeNamespace, nodeAgentPids, nodeReady, openCluster, processUse, removeNamespace, runtimeOf, startMeta, takeCensus } from './cluster.js';
import { interruptible } from './runner.js';
import { PodTracker } from './tracker.js';
import type { BenchNodesOptions, BenchNodesReport, HoldCheck, NodeCensus, ProcessUse } from './types.js';
import { createPods } from './workload.js';

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/** renewMs reads a Lease's renewTime as ms since the epoch (NaN when absent). */
function renewMs(l: LeaseObject): number {
  return Date.parse(l.spec?.renewTime ?? '');
}

/**
 * LeaseGaps watches the node Leases and, while recording, notes for each renewal the time since
 * that Lease's previous renewal (both renewTimes, as the agent wrote them).
 */
class LeaseGaps {
  readonly #client: ApiClient;
  readonly #last = new Map<string, number>();
  readonly gaps = new LatencyRecorder();
  recording = false;
  #rv = '';
  #watch: { dispose(): void } | null = null;
  #stopped = false;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  async start(): Promise<void> {
    const r = await this.#client.list<LeaseObject>(LEASES, { namespace: NODE_LEASE_NAMESPACE });
    if (!r.ok) throw new Error(`Listing the node Leases failed: ${r.error.message}`);
    for (const l of r.value.items) this.#last.set(l.metadata.name ?? '', renewMs(l));
    this.#rv = r.value.metadata.resourceVersion;
    this.#open();
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.dispose();
  }

  #open(): void {
    if (this.#stopped) return;
    this.#watch = this.#client.watch<LeaseObject>(LEASES, { namespace: NODE_LEASE_NAMESPACE, resourceVersion: this.#rv }, {
      event: (ev) => {
        const rv = ev.object.metadata.resourceVersion;
        if (rv !== undefined && rv !== '') this.#rv = rv;
        if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
        const name = ev.object.metadata.name ?? '';
        const at = renewMs(ev.object);
        const prev = this.#last.get(name);
        if (this.recording && prev !== undefined && Number.isFinite(prev) && at > prev) this.gaps.recordMs(at - prev);
        this.#last.set(name, at);
      },
      end: (why) => {
        if (this.#stopped) return;
        // Gone from the watch cache (410): start over from now; gaps across the hole are lost, not invented.
        if (why?.code === 410) this.#rv = '';
        setTimeout(() => this.#open(), why === null ? 0 : 500);
      },
    });
  }
}

interface CheckInput {
  readonly client: ApiClient;
  readonly expected: ReadonlySet<string>;
  readonly staleMs: number | null;
  readonly tracker: PodTracker | null;
}

async function check(c: CheckInput, atMs: number, cpu: { prev: ProcessUse | null; at: number }, agentPid: number | null): Promise<{ readonly check: HoldCheck; readonly staleMs: number; readonly problems: string[] }> {
  const problems: string[] = [];
  const [nodes, leases] = await Promise.all([c.client.list<NodeObject>(NODES), c.client.list<LeaseObject>(LEASES, { namespace: NODE_LEASE_NAMESPACE })]);
  const now = Date.now();
  let nodesReady = 0;
  if (!nodes.ok) problems.push(`listing the nodes failed: ${nodes.error.message}`);
  else {
    const notReady: string[] = [];
    const byName = new Map(nodes.value.items.map((n) => [n.metadata.name ?? '', n]));
    for (const name of c.expected) {
      const n = byName.get(name);
      if (n !== undefined && nodeReady(n)) nodesReady++;
      else notReady.push(name);
    }
    if (notReady.length > 0) problems.push(`${notReady.length} node${notReady.length === 1 ? ' is' : 's are'} not Ready (${notReady.slice(0, 5).join(', ')}${notReady.length > 5 ? ', …' : ''})`);
  }
  let leasesFresh = 0;
  let maxLag = 0;
  let staleMs = c.staleMs ?? 40_000;
  if (!leases.ok) problems.push(`listing the node Leases failed: ${leases.error.message}`);
  else {
    const stale: string[] = [];
    const byName = new Map(leases.value.items.map((l) => [l.metadata.name ?? '', l]));
    for (const name of c.expected) {
      const l = byName.get(name);
      const limit = c.staleMs ?? 1000 * (l?.spec?.leaseDurationSeconds ?? 40);
      staleMs = limit;
      const age = l === undefined ? Infinity : now - renewMs(l);
      if (Number.isFinite(age)) maxLag = Math.max(maxLag, age);
      if (age <= limit) leasesFresh++;
      else stale.push(name);
    }
    if (stale.length > 0) problems.push(`${stale.length} Lease${stale.length === 1 ? ' is' : 's are'} stale or missing (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''})`);
  }
  const t = c.tracker;
  const podsRunning = t === null ? 0 : t.count((p) => !p.deleted && p.running);
  const podsReady = t === null ? 0 : t.count((p) => !p.deleted && p.ready);
  const use = agentPid === null ? null : processUse(agentPid);
  const wall = performance.now();
  const pct = use !== null && cpu.prev !== null ? (100 * (use.cpuSeconds - cpu.prev.cpuSeconds)) / ((wall - cpu.at) / 1000) : null;
  if (agentPid !== null && use === null) problems.push(`the simulated-nodes process (pid ${agentPid}) is gone`);
  cpu.prev = use;
  cpu.at = wall;
  return { check: { atMs, nodesReady, leasesFresh, maxLeaseLagMs: maxLag, podsRunning, podsReady, agentCpuPct: pct === null ? null : Math.round(pct * 10) / 10, agentRssMiB: use?.rssMiB ?? null }, staleMs, problems };
}

async function waitForNodes(client: ApiClient, o: BenchNodesOptions, progress: Progress, signal: AbortSignal): Promise<{ census: NodeCensus; names: Set<string> }> {
  progress.phase(`waiting for ${o.nodes.toLocaleString('en-US')} simulated nodes to be Ready`, o.nodes, o.readyTimeoutMs);
  const deadline = performance.now() + o.readyTimeoutMs;
  for (;;) {
    const { census, nodes } = await takeCensus(client);
    const sim = nodes.filter((n) => runtimeOf(n) === 'simulated');
    const ready = sim.filter(nodeReady);
    progress.update(ready.length);
    if (ready.length >= o.nodes) {
      // A node has registered once its Lease exists too (simulated nodes stagger their first beat).
      const leases = await client.list<LeaseObject>(LEASES, { namespace: NODE_LEASE_NAMESPACE });
      const leased = new Set(leases.ok ? leases.value.items.map((l) => l.metadata.name ?? '') : []);
      if (sim.every((n) => leased.has(n.metadata.name ?? ''))) {
        progress.done(formatCensus(census));
        return { census, names: new Set(sim.map((n) => n.metadata.name ?? '')) };
      }
    }
    if (signal.aborted || performance.now() > deadline) {
      progress.done('not all Ready');
      throw new Error(`Only ${ready.length} of ${o.nodes} simulated nodes are Ready after ${o.readyTimeoutMs / 1000} s (${formatCensus(census)}); start the cluster with raftkube up --runtime simulated --nodes ${o.nodes}`);
    }
    // NB: a bounded poll for a condition, as `raftkube up` waits for its nodes.
    await sleep(2000, signal);
  }
}

/** runBenchNodes runs the scale check against the cluster in `o.dataDir`; see the module doc. */
export async function runBenchNodes(o: BenchNodesOptions, io: { readonly progress: Progress; readonly command: string; readonly onReport?: (r: BenchNodesReport) => void }): Promise<BenchNodesReport> {
  const { progress } = io;
  const cluster = openCluster(o.dataDir);
  const meta = startMeta(io.command, cluster.target.masters.length, o.quick);
  const notes: string[] = [];
  const failures: string[] = [];
  let namespace: string | null = null;
  let tracker: PodTracker | null = null;
  const leases = new LeaseGaps(cluster.admin);
  let sent = 0;
  try {
    const report = await interruptible(progress, 'deleting the benchmark pods and namespace', async (signal) => {
      const { census, names } = await waitForNodes(cluster.admin, o, progress, signal);
      if (names.size > o.nodes) notes.push(`the cluster has ${names.size} simulated nodes, more than the ${o.nodes} asked for: all of them are checked`);
      const agentPid = nodeAgentPids(o.dataDir).get('sim')?.[0] ?? null;
      if (agentPid === null) notes.push(`${dataDirOf(o.dataDir)}/cluster.json names no simulated-nodes process ("sim"): its memory and CPU are not measured`);
      const agentBefore = agentPid === null ? null : processUse(agentPid);
      await leases.start();

      let createSeconds = 0;
      let allRunningSeconds: number | null = 0;
      let created = 0;
      if (o.pods > 0) {
        namespace = await makeNamespace(cluster.admin, 'raftkube-bench-nodes');
        const t = (tracker = new PodTracker({ client: cluster.admin, namespace }));
        await t.start();
        progress.phase(`creating ${o.pods.toLocaleString('en-US')} pods`, o.pods, 0);
        const t0 = performance.now();
        const creates = await createPods({ clients: cluster.clients, namespace, count: o.pods, rate: o.rate, inFlight: o.inFlight, workload: 'sleep', signal, onDone: (_c, done) => progress.update(done) });
        sent = creates.length;
        created = creates.filter((c) => c.error === null).length;
        createSeconds = (performance.now() - t0) / 1000;
        progress.done(`${created.toLocaleString('en-US')} created in ${createSeconds.toFixed(1)} s`);
        const firstError = creates.find((c) => c.error !== null)?.error;
        if (created < o.pods) failures.push(`${o.pods - created} of ${o.pods} pods could not be created (${firstError ?? ''})`);
        progress.phase(`waiting for ${created.toLocaleString('en-US')} pods to run`, created, o.readyTimeoutMs);
        const ticker = setInterval(() => progress.update(t.everReady), 500);
        const ok = await t.until(() => signal.aborted || (t.everRunning >= created && t.everReady >= created), performance.now() + o.readyTimeoutMs).finally(() => clearInterval(ticker));
        const took = (performance.now() - t0) / 1000;
        allRunningSeconds = ok ? took : null;
        progress.done(ok ? `all Running and Ready ${took.toFixed(1)} s after the first create` : `${t.everReady} of ${created} Ready`);
        if (!ok && !signal.aborted) failures.push(`only ${t.everRunning} of ${created} pods Running and ${t.everReady} Ready ${o.readyTimeoutMs / 1000} s after the first create`);
      }

      progress.phase(`holding ${names.size.toLocaleString('en-US')} nodes${created > 0 ? ` and ${created.toLocaleString('en-US')} pods` : ''} for ${o.holdMs / 1000} s`, 0, o.holdMs);
      leases.recording = true;
      const checks: HoldCheck[] = [];
      const holdStart = performance.now();
      const agentHoldStart = agentPid === null ? null : processUse(agentPid);
      const cpu = { prev: agentHoldStart, at: holdStart };
      let staleMs = o.leaseStaleMs ?? 40_000;
      for (let k = 1; !signal.aborted; k++) {
        const due = holdStart + Math.min(o.holdMs, k * o.checkEveryMs);
        // NB: the checks' cadence is what this benchmark is asked for, not a wait for some event.
        await sleep(Math.max(0, due - performance.now()), signal);
        if (signal.aborted) break;
        const r = await check({ client: cluster.admin, expected: names, staleMs: o.leaseStaleMs, tracker }, performance.now() - holdStart, cpu, agentPid);
        checks.push(r.check);
        staleMs = r.staleMs;
        const pods = tracker === null ? [] : [r.check.podsRunning < created ? `${created - r.check.podsRunning} pods not Running` : '', r.check.podsReady < created ? `${created - r.check.podsReady} pods not Ready` : ''].filter((x) => x !== '');
        for (const p of [...r.problems, ...pods]) failures.push(`at ${(r.check.atMs / 1000).toFixed(1)} s: ${p}`);
        progress.update(0);
        if (due >= holdStart + o.holdMs) break;
      }
      leases.recording = false;
      const holdSeconds = (performance.now() - holdStart) / 1000;
      const last = checks[checks.length - 1];
      progress.done(failures.length === 0 ? `${checks.length} checks passed; last: ${last?.nodesReady ?? 0} nodes Ready, ${last?.leasesFresh ?? 0} Leases fresh, ${last?.podsRunning ?? 0} pods Running` : `${failures.length} failed checks`);
      const agentAfter = agentPid === null ? null : processUse(agentPid);
      const agentCpuPctHold = agentAfter !== null && agentHoldStart !== null ? Math.round((1000 * (agentAfter.cpuSeconds - agentHoldStart.cpuSeconds)) / holdSeconds) / 10 : null;
      const gaps = leases.gaps.summary();
      if (gaps.count === 0) failures.push('no Lease renewal was seen during the hold');
      return {
        meta: { ...finishMeta(meta), nodes: o.nodes, pods: o.pods, holdSeconds: Math.round(holdSeconds * 10) / 10 },
        census,
        agentPid,
        createSeconds: Math.round(createSeconds * 10) / 10,
        allRunningSeconds: allRunningSeconds === null ? null : Math.round(allRunningSeconds * 10) / 10,
        checks,
        leaseRenewGapMs: gaps,
        leaseStaleMs: staleMs,
        agentBefore,
        agentAfter,
        agentCpuPctHold,
        failures,
        notes,
      };
    });
    io.onReport?.(report);
    return report;
  } finally {
    leases.stop();
    (tracker as PodTracker | null)?.stop();
    if (namespace !== null) await removeNamespace(cluster, namespace, sent, progress);
    cluster.close();
  }
}
