/**
 * failover: the rolling-update and failover guarantees on real 3-master clusters from
 * `raftkube up` with simulated nodes, driven and observed with the real kubectl.
 *
 * A `kubectl get pods -w --output-watch-events -o json` runs through each test; its events come
 * in revision order, so replaying them gives every state the pod set passed through. Counted the
 * way the Deployment and ReplicaSet controllers count (objects.ts):
 *   - total: the Deployment's *active* pods — not being deleted (no deletionTimestamp) and not
 *     finished (phase Succeeded or Failed); a ReplicaSet's status.replicas counts these;
 *   - available: active pods whose Ready condition is True (minReadySeconds is 0 here, so a
 *     Ready pod is available at once); a ReplicaSet's status.availableReplicas counts these.
 *
 * 1. A rolling update of 12 replicas (maxSurge 3, maxUnavailable 2) to a new template never has
 *    fewer than 12 − 2 available pods nor more than 12 + 3 in total, and completes.
 * 2. kill -9 of every process of the master holding the controller-manager Lease during a
 *    scale-up from 5 to 30: another master holds the Lease within the lease duration plus a few
 *    seconds, the Deployment reaches 30 available, and no more pods were ever created than 30
 *    plus the surge.
 * 3. kill -9 of the master holding the scheduler Lease while 40 pods are pending: another
 *    master takes the Lease, every pod gets bound, and no pod was ever bound to two nodes.
 *
 * A killed master leaves two of three etcd members, so the two failover tests each get their
 * own cluster; the watches go to a surviving master's apiserver so they outlive the kill.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundCommand, describeResult, isAlive, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** LEASE_DURATION_S is the control plane's default lease duration (6 s); takeover may take this plus a few retry periods. */
const LEASE_DURATION_S = 6;
/**
 * TAKEOVER_SLACK_S is the "few seconds" on top. A standby polls the lease every 1–2.2 s (retry
 * period plus jitter), so it may see the last renewal up to 2.2 s late and, 6 s after that, try
 * again up to 2.2 s late: about 4.5 s past the lease duration on an idle machine; the rest is for
 * a loaded 2-core machine (takeovers of 7–16 s were measured there at load averages of 25–34).
 */
const TAKEOVER_SLACK_S = 14;

interface MasterInfo {
  readonly name: string;
  readonly pids: readonly number[];
  readonly apiserverURL: string;
}

interface PodView {
  readonly metadata: { readonly name?: string; readonly deletionTimestamp?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly nodeName?: string };
  readonly status?: { readonly phase?: string; readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}

interface PodEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: PodView;
}

/** Kubectl runs kubectl against one cluster (through its load balancer, or one apiserver with `server`). */
class Kubectl {
  constructor(readonly kubeconfig: string) {}

  run(args: readonly string[], server?: string): Promise<CommandResult> {
    return runCommand(KUBECTL, ['--kubeconfig', this.kubeconfig, ...(server === undefined ? [] : ['--server', server]), ...args], { timeoutMs: 30_000 });
  }

  async ok(args: readonly string[]): Promise<string> {
    const r = await this.run(args);
    expect(r.code, `kubectl ${args.join(' ')}: ${describeResult(r)}`).toBe(0);
    return r.stdout;
  }

  /** holder is a lease's holderIdentity ('' when free or unreadable). */
  async holder(lease: string): Promise<string> {
    const r = await this.run(['get', 'lease', lease, '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}']);
    return r.code === 0 ? r.stdout.trim() : '';
  }
}

/** splitJsonStream takes the complete JSON values off the front of a stream of concatenated values. */
function splitJsonStream(text: string): { readonly values: unknown[]; readonly rest: string } {
  const values: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0 && start >= 0) {
        values.push(JSON.parse(text.slice(start, i + 1)) as unknown);
        consumed = i + 1;
        start = -1;
      }
    }
  }
  return { values, rest: text.slice(consumed) };
}

function isPodEvent(v: unknown): v is PodEvent {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['type'] === 'string' && typeof o['object'] === 'object' && o['object'] !== null;
}

/** isActive is the ReplicaSet controller's isActivePod: not being deleted and not finished. */
function isActive(p: PodView): boolean {
  const phase = p.status?.phase;
  return p.metadata.deletionTimestamp === undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

/** isAvailable is an active pod whose Ready condition is True (minReadySeconds 0). */
function isAvailable(p: PodView): boolean {
  return isActive(p) && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** PodWatch replays a kubectl pod watch: the pods as of the last event, and what happened on the way. */
class PodWatch {
  readonly #cmd: BackgroundCommand;
  #offset = 0;
  #pending = '';
  readonly pods = new Map<string, PodView>();
  /** added is every pod name ever seen (the initial list comes as ADDED too). */
  readonly added = new Set<string>();
  /** nodes maps each pod to every node it was ever seen bound to. */
  readonly nodes = new Map<string, Set<string>>();
  events = 0;
  readonly errors: string[] = [];
  /** onState is called after every event with the pod set as of that event. */
  onState: (pods: ReadonlyMap<string, PodView>, ev: PodEvent) => void = () => undefined;

  constructor(kubectl: Kubectl, selector: string, server: string) {
    this.#cmd = new BackgroundCommand(KUBECTL, ['--kubeconfig', kubectl.kubeconfig, '--server', server, 'get', 'pods', '-l', selector, '-w', '--output-watch-events', '-o', 'json']);
  }

  /** poll consumes what kubectl printed since the last poll. */
  poll(): void {
    const out = this.#cmd.stdout;
    this.#pending += out.slice(this.#offset);
    this.#offset = out.length;
    const { values, rest } = splitJsonStream(this.#pending);
    this.#pending = rest;
    for (const v of values) {
      if (!isPodEvent(v)) {
        this.errors.push(`not a watch event: ${JSON.stringify(v).slice(0, 200)}`);
        continue;
      }
      this.#apply(v);
    }
  }

  #apply(ev: PodEvent): void {
    if (ev.type === 'BOOKMARK') return;
    if (ev.type === 'ERROR') {
      this.errors.push(`watch error: ${JSON.stringify(ev.object).slice(0, 300)}`);
      return;
    }
    const name = ev.object.metadata.name ?? '';
    this.events++;
    if (ev.type === 'ADDED') this.added.add(name);
    if (ev.type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, ev.object);
    const node = ev.object.spec?.nodeName ?? '';
    if (node !== '') {
      const seen = this.nodes.get(name) ?? new Set<string>();
      seen.add(node);
      this.nodes.set(name, seen);
    }
    this.onState(this.pods, ev);
  }

  /** running says the kubectl watch is still going (it must outlive the test's actions). */
  get running(): boolean {
    return !this.#cmd.exited;
  }

  get stderr(): string {
    return this.#cmd.stderr;
  }

  async stop(): Promise<void> {
    await this.#cmd.stop();
  }
}

function readMasters(c: TestCluster): MasterInfo[] {
  const f = JSON.parse(readFileSync(join(c.dataDir, 'cluster.json'), 'utf8')) as { masters: MasterInfo[] };
  return f.masters;
}

function deployment(name: string, replicas: number, o: { readonly maxSurge: number; readonly maxUnavailable: number }): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge, maxUnavailable: o.maxUnavailable } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'VERSION', value: '1' }] }] } },
    },
  });
}

async function apply(c: TestCluster, kubectl: Kubectl, file: string, manifest: string): Promise<void> {
  const path = join(c.dataDir, file);
  writeFileSync(path, manifest);
  await kubectl.ok(['apply', '-f', path]);
}

async function availableReplicas(kubectl: Kubectl, name: string): Promise<number> {
  const r = await kubectl.run(['get', 'deploy', name, '-o', 'jsonpath={.status.availableReplicas}']);
  return r.code === 0 && r.stdout !== '' ? Number(r.stdout) : -1;
}

/** killMaster sends SIGKILL to every process of a master and waits until they are gone. */
async function killMaster(m: MasterInfo): Promise<void> {
  for (const pid of m.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await waitFor(`every process of ${m.name} to be gone`, () => m.pids.every((p) => !isAlive(p)), { timeoutMs: 10_000 });
}

/** takeover waits until a master other than `victim` holds `lease`, and says how long that took. */
async function takeover(kubectl: Kubectl, lease: string, victim: string, since: number): Promise<{ readonly holder: string; readonly seconds: number }> {
  const holder = await waitFor(`another master to hold ${lease}`, async () => {
    const h = await kubectl.holder(lease);
    return h !== '' && h.split('_')[0] !== victim ? h : null;
  }, { timeoutMs: 60_000, intervalMs: 200 });
  return { holder, seconds: (Date.now() - since) / 1000 };
}

describe('rolling update and controller-manager failover (one cluster)', () => {
  let cluster: TestCluster | undefined;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, controlPlane: true, nodes: 3, runtime: 'simulated' });
    kubectl = new Kubectl(join(cluster.dataDir, 'kubeconfig'));
    await waitFor('3 Ready nodes', async () => (await kubectl.run(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True True True', { timeoutMs: 60_000 });
  }, 200_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('rolls 12 replicas to a new template within maxSurge 3 and maxUnavailable 2, watched event by event', async () => {
    const c = cluster!;
    const replicas = 12;
    const bounds = { maxSurge: 3, maxUnavailable: 2 };
    await apply(c, kubectl, 'roll.json', deployment('roll', replicas, bounds));
    await waitFor('12 available', async () => (await availableReplicas(kubectl, 'roll')) === replicas, { timeoutMs: 90_000 });

    const server = readMasters(c)[0]!.apiserverURL;
    const watch = new PodWatch(kubectl, 'app=roll', server);
    let minAvailable = Number.POSITIVE_INFINITY;
    let maxTotal = 0;
    const violations: string[] = [];
    let rolling = false;
    watch.onState = (pods, ev) => {
      if (!rolling) return;
      const all = [...pods.values()];
      const total = all.filter(isActive).length;
      const available = all.filter(isAvailable).length;
      minAvailable = Math.min(minAvailable, available);
      maxTotal = Math.max(maxTotal, total);
      if (available < replicas - bounds.maxUnavailable || total > replicas + bounds.maxSurge) {
        violations.push(`after ${ev.type} ${ev.object.metadata.name ?? ''}: total ${total}, available ${available}`);
      }
    };
    try {
      // The initial list arrives as 12 ADDED events, all available, before the rollout starts.
      await waitFor('the watch to list the 12 pods', () => {
        watch.poll();
        return [...watch.pods.values()].filter(isAvailable).length === replicas;
      }, { timeoutMs: 30_000 });
      rolling = true;
      const oldHashes = new Set([...watch.pods.values()].map((p) => p.metadata.labels?.['pod-template-hash'] ?? ''));
      await kubectl.ok(['set', 'env', 'deployment/roll', 'VERSION=2']);
      const status = await kubectl.run(['rollout', 'status', 'deployment/roll', '--timeout=180s']);
      expect(status.code, describeResult(status)).toBe(0);
      // Settle: the watch shows exactly the 12 new pods, all available, and no old one active.
      await waitFor('the watch to show 12 new available pods and nothing else active', () => {
        watch.poll();
        const active = [...watch.pods.values()].filter(isActive);
        return active.length === replicas && active.every((p) => isAvailable(p) && !oldHashes.has(p.metadata.labels?.['pod-template-hash'] ?? ''));
      }, { timeoutMs: 90_000 });
      expect(watch.running, `the kubectl watch ended early: ${watch.stderr}`).toBe(true);
      expect(watch.errors).toEqual([]);
      expect(violations).toEqual([]);
      // The rollout really went through intermediate states: more pods than replicas at some point, or fewer available.
      expect(maxTotal > replicas || minAvailable < replicas).toBe(true);
      expect(minAvailable).toBeGreaterThanOrEqual(replicas - bounds.maxUnavailable);
      expect(maxTotal).toBeLessThanOrEqual(replicas + bounds.maxSurge);
      console.log(`rolling update: ${watch.events} pod events, min available ${minAvailable} (floor ${replicas - bounds.maxUnavailable}), max total ${maxTotal} (ceiling ${replicas + bounds.maxSurge})`);
    } finally {
      await watch.stop();
    }
  }, 400_000);

  it('scales 5 → 30 across kill -9 of the master holding the controller-manager lease', async () => {
    const c = cluster!;
    const bounds = { maxSurge: 3, maxUnavailable: 2 };
    await apply(c, kubectl, 'grow.json', deployment('grow', 5, bounds));
    await waitFor('5 available', async () => (await availableReplicas(kubectl, 'grow')) === 5, { timeoutMs: 90_000 });

    const holder = await waitFor('a controller-manager leader', async () => {
      const h = await kubectl.holder('kube-controller-manager');
      return h === '' ? null : h;
    });
    const masters = readMasters(c);
    const victim = masters.find((m) => m.name === holder.split('_')[0]);
    expect(victim, `lease holder ${holder}`).toBeDefined();
    const survivor = masters.find((m) => m !== victim)!;
    const watch = new PodWatch(kubectl, 'app=grow', survivor.apiserverURL);
    try {
      await waitFor('the watch to list the 5 pods', () => {
        watch.poll();
        return watch.pods.size === 5;
      }, { timeoutMs: 30_000 });

      await kubectl.ok(['scale', 'deployment/grow', '--replicas=30']);
      const killedAt = Date.now();
      await killMaster(victim!);
      const next = await takeover(kubectl, 'kube-controller-manager', victim!.name, killedAt);
      console.log(`controller-manager lease: ${holder} → ${next.holder} in ${next.seconds.toFixed(1)} s after kill -9 of ${victim!.name}`);
      expect(next.seconds).toBeLessThanOrEqual(LEASE_DURATION_S + TAKEOVER_SLACK_S);

      await waitFor('30 available after failover', async () => (await availableReplicas(kubectl, 'grow')) === 30, { timeoutMs: 120_000 });
      await waitFor('the watch to show 30 active pods', () => {
        watch.poll();
        return [...watch.pods.values()].filter(isAvailable).length === 30;
      }, { timeoutMs: 60_000 });
      const live = (await kubectl.ok(['get', 'pods', '-l', 'app=grow', '-o', 'name'])).split('\n').filter((l) => l !== '');
      expect(live.length).toBe(30);
      expect(watch.running, `the kubectl watch ended early: ${watch.stderr}`).toBe(true);
      expect(watch.errors).toEqual([]);
      console.log(`scale-up across failover: ${watch.added.size} pods ever created for a target of 30 (bound ${30 + bounds.maxSurge})`);
      expect(watch.added.size).toBeGreaterThanOrEqual(30);
      expect(watch.added.size).toBeLessThanOrEqual(30 + bounds.maxSurge);
    } finally {
      await watch.stop();
    }
  }, 400_000);
});

describe('scheduler failover with pending pods (its own cluster)', () => {
  let cluster: TestCluster | undefined;
  let kubectl: Kubectl;
  const NODES = ['sim-0', 'sim-1', 'sim-2'];

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, controlPlane: true, nodes: 3, runtime: 'simulated' });
    kubectl = new Kubectl(join(cluster.dataDir, 'kubeconfig'));
    await waitFor('3 Ready nodes', async () => (await kubectl.run(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True True True', { timeoutMs: 60_000 });
  }, 200_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('binds 40 pending pods after kill -9 of the master holding the scheduler lease, none to two nodes', async () => {
    const c = cluster!;
    const pods = 40;
    expect((await kubectl.ok(['get', 'nodes', '-o', 'name'])).split('\n').filter((l) => l !== '').sort()).toEqual(NODES.map((n) => `node/${n}`));
    await kubectl.ok(['cordon', ...NODES]);
    await apply(c, kubectl, 'pending.json', deployment('pending', pods, { maxSurge: 3, maxUnavailable: 2 }));
    await waitFor('40 pods, all pending and unschedulable', async () => {
      const r = await kubectl.run(['get', 'pods', '-l', 'app=pending', '-o', 'jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName}/{.status.conditions[?(@.type=="PodScheduled")].reason}{"\\n"}{end}']);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      return r.code === 0 && lines.length === pods && lines.every((l) => l === 'Pending//Unschedulable');
    }, { timeoutMs: 90_000 });

    const holder = await waitFor('a scheduler leader', async () => {
      const h = await kubectl.holder('kube-scheduler');
      return h === '' ? null : h;
    });
    const masters = readMasters(c);
    const victim = masters.find((m) => m.name === holder.split('_')[0]);
    expect(victim, `lease holder ${holder}`).toBeDefined();
    const survivor = masters.find((m) => m !== victim)!;
    const watch = new PodWatch(kubectl, 'app=pending', survivor.apiserverURL);
    try {
      await waitFor('the watch to list the 40 pods', () => {
        watch.poll();
        return watch.pods.size === pods;
      }, { timeoutMs: 30_000 });
      expect(watch.nodes.size).toBe(0);

      const killedAt = Date.now();
      await killMaster(victim!);
      // The pods become schedulable while no scheduler leads: the new leader must bind them all.
      await waitFor('the nodes to be uncordoned', async () => (await kubectl.run(['uncordon', ...NODES])).code === 0, { timeoutMs: 30_000 });
      const next = await takeover(kubectl, 'kube-scheduler', victim!.name, killedAt);
      console.log(`scheduler lease: ${holder} → ${next.holder} in ${next.seconds.toFixed(1)} s after kill -9 of ${victim!.name}`);
      expect(next.seconds).toBeLessThanOrEqual(LEASE_DURATION_S + TAKEOVER_SLACK_S);

      await waitFor('every pod bound and running', () => {
        watch.poll();
        const all = [...watch.pods.values()];
        return all.length === pods && all.every((p) => (p.spec?.nodeName ?? '') !== '' && p.status?.phase === 'Running');
      }, { timeoutMs: 120_000 });
      expect(watch.running, `the kubectl watch ended early: ${watch.stderr}`).toBe(true);
      expect(watch.errors).toEqual([]);
      const twice = [...watch.nodes.entries()].filter(([, nodes]) => nodes.size > 1).map(([pod, nodes]) => `${pod}: ${[...nodes].join(', ')}`);
      expect(twice).toEqual([]);
      expect(watch.nodes.size).toBe(pods);
      // The same, as the apiserver has it now.
      const bound = (await kubectl.ok(['get', 'pods', '-l', 'app=pending', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}'])).split('\n').filter((l) => l !== '');
      expect(bound.length).toBe(pods);
      expect(bound.every((n) => NODES.includes(n))).toBe(true);
      // No pod was recreated: the 40 names seen are the 40 there are.
      expect(watch.added.size).toBe(pods);
    } finally {
      await watch.stop();
    }
  }, 400_000);
});
