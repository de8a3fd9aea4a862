/**
 * node-failure: node agents that die, on a 3-master cluster from `raftkube up` with two
 * process-runtime nodes, driven with the real kubectl.
 *
 * An agent killed with kill -9 leaves its pods' processes running, as containers outlive a dead
 * kubelet. Restarted on the same data directory (`raftkube up` heals what is missing), it takes
 * its Node back rather than registering a second one and adopts the processes: same pid, same
 * restartCount, `kubectl logs` and `exec` still reach them. Left dead, its node turns Unknown
 * and is tainted unreachable within the grace period `up` sets (10 s); its pods are evicted 30 s
 * later and recreated on the other node, while the Service in front of them keeps answering
 * through its ClusterIP (the other agent's proxy takes the address over). When the agent comes
 * back it stops what it still ran of the evicted pods, and the Terminating pods go away. If it
 * never comes back, `raftkube down` kills what it left.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, isAlive, RAFTKUBE_MAIN, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';
let cluster: TestCluster | undefined;
let kubeconfig = '';

function k(args: readonly string[], input?: string): Promise<CommandResult> {
  return runCommand(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 30_000, ...(input === undefined ? {} : { input }) });
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}: ${describeResult(r)}`).toBe(0);
  return r.stdout;
}

/** apply creates objects from their JSON, one `kubectl create -f -` each. */
async function apply(...objects: unknown[]): Promise<void> {
  for (const o of objects) await ok(['create', '-f', '-'], JSON.stringify(o));
}

/** httpGet fetches a URL's body over plain HTTP, failing after 2 s. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 2000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode ?? '?'}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** controlPlanePids are the masters' scheduler and controller-manager processes as cluster.json records them. */
function controlPlanePids(): number[] {
  const f = JSON.parse(readFileSync(join(cluster!.dataDir, 'cluster.json'), 'utf8')) as { masters: { components?: Record<string, number> }[] };
  return f.masters.flatMap((m) => [m.components?.['scheduler'], m.components?.['controller-manager']]).filter((p): p is number => p !== undefined);
}

function agentPid(node: string): number {
  const f = JSON.parse(readFileSync(join(cluster!.dataDir, 'cluster.json'), 'utf8')) as { nodes: { name: string; pids: number[] }[] };
  const pid = f.nodes.find((n) => n.name === node)?.pids[0];
  if (pid === undefined) throw new Error(`cluster.json names no process for node ${node}`);
  return pid;
}

/** heal runs `raftkube up` again on the cluster's directory: it starts what is missing. */
async function heal(): Promise<void> {
  const c = cluster!;
  const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'up', '--masters', '3', '--data-dir', c.dataDir, '--base-port', String(c.basePort), '--detach', '--timeout', '60', '--nodes', '2', '--runtime', 'process'], { timeoutMs: 90_000 });
  expect(r.code, describeResult(r)).toBe(0);
}

async function nodeReady(node: string): Promise<string> {
  return (await k(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout;
}

/** podState is a pod's node, its first container's pid and restartCount. */
async function podState(pod: string): Promise<{ node: string; pid: number; restarts: number } | null> {
  const r = await k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].state.running.startedAt}']);
  const m = /^(\S+) (\d+) process:\/\/(\d+) \S+$/.exec(r.stdout);
  return m === null ? null : { node: m[1]!, restarts: Number(m[2]), pid: Number(m[3]) };
}

/** keeper is a pod pinned to a node that tolerates the node being unreachable for ever (never evicted). */
function keeper(name: string, node: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }],
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', `echo keeping ${name}; exec sleep 3600`] }],
    },
  };
}

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, controlPlane: true, nodes: 2 });
  kubeconfig = join(cluster.dataDir, 'kubeconfig');
}, 200_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('node agents that die', () => {
  it('re-adopts its Node and its running pods when restarted after kill -9: same pid, same restartCount', async () => {
    await apply(keeper('keeper2', 'n2'));
    const before = await waitFor('keeper2 running on n2', () => podState('keeper2'), { timeoutMs: 40_000, intervalMs: 250 });
    expect(before).toMatchObject({ node: 'n2', restarts: 0 });
    const nodeUid = (await ok(['get', 'node', 'n2', '-o', 'jsonpath={.metadata.uid}'])).trim();

    const components = controlPlanePids();
    expect(components.length).toBe(6);
    const agent = agentPid('n2');
    process.kill(agent, 'SIGKILL');
    await waitFor('the n2 agent gone', () => !isAlive(agent));
    // The agent's death does not take its pods' processes with it.
    expect(isAlive(before.pid)).toBe(true);

    await heal();
    expect(agentPid('n2')).not.toBe(agent);
    // Only what was missing was started: the schedulers and controller managers are the same processes.
    expect(controlPlanePids()).toEqual(components);
    expect(components.every(isAlive)).toBe(true);
    await waitFor('n2 Ready again', async () => (await nodeReady('n2')) === 'True', { timeoutMs: 30_000 });
    // The same Node object, taken back; the same process, adopted.
    expect((await ok(['get', 'node', 'n2', '-o', 'jsonpath={.metadata.uid}'])).trim()).toBe(nodeUid);
    expect(await ok(['get', 'nodes', '-o', 'name'])).toBe('node/n1\nnode/n2\n');
    const logPath = join(cluster!.dataDir, 'node-n2.log');
    await waitFor('the agent to report it took its node back', () => /"adopted":1.*nodes registered/.test(readFileSync(logPath, 'utf8')));
    expect(readFileSync(logPath, 'utf8')).toMatch(/"pods":1,"adopted":1,"ended":0,"killed":0.*took back the containers/);
    await waitFor('keeper2 reported Ready by the new agent', async () => (await ok(['get', 'pod', 'keeper2', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', { timeoutMs: 30_000 });
    expect(await podState('keeper2')).toEqual(before);
    expect(isAlive(before.pid)).toBe(true);
    expect(await ok(['logs', 'keeper2'])).toBe('keeping keeper2\n');
    // kubectl exec reaches the adopted container, with the environment it was started with.
    expect(await ok(['exec', 'keeper2', '--', 'sh', '-c', 'echo "$HOSTNAME"'])).toBe('keeper2\n');
  }, 180_000);

  it('evicts the pods of a node whose agent died to the other node while the Service keeps answering, and the agent stops them when it returns', async () => {
    // Each pod serves a file holding its own name, so the answers say which pod served them.
    await apply(
      keeper('keeper1', 'n1'),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 5,
              topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }],
              containers: [{ name: 'web', image: 'python', command: ['sh', '-c', 'echo $HOSTNAME > name.txt; exec python3 -m http.server 8080 --bind $POD_IP'], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
            },
          },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    );
    const placed = await waitFor('4 ready web pods on both nodes', async () => {
      const r = await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.containerStatuses[0].containerID} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      const rows = r.stdout.trim().split('\n').map((l) => l.split(' '));
      if (rows.length !== 4 || !rows.every((x) => x[3] === 'True')) return null;
      return rows.map(([name = '', node = '', id = '']) => ({ name, node, pid: Number(id.replace('process://', '')) }));
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const onN1 = placed.filter((p) => p.node === 'n1');
    expect(onN1.length, JSON.stringify(placed)).toBeGreaterThan(0);
    expect(onN1.length, JSON.stringify(placed)).toBeLessThan(4);
    const kept = await waitFor('keeper1 running on n1', () => podState('keeper1'), { timeoutMs: 40_000, intervalMs: 250 });
    const ip = (await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    await waitFor('the Service answering', async () => (await httpGet(`http://${ip}/name.txt`)) !== '', { timeoutMs: 30_000 });

    // Ask the ClusterIP four times a second from before the failure until after the recovery.
    const probes: { at: number; answer: string | null }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = Date.now();
        const answer = await httpGet(`http://${ip}/name.txt`).then((b) => b.trim(), () => null);
        probes.push({ at, answer });
        await new Promise((r) => setTimeout(r, Math.max(0, 250 - (Date.now() - at))));
      }
    })();
    try {
      const agent = agentPid('n1');
      const killedAt = Date.now();
      process.kill(agent, 'SIGKILL');
      await waitFor('n1 Unknown', async () => (await nodeReady('n1')) === 'Unknown', { timeoutMs: 40_000, intervalMs: 500 });
      // The controller marks the node Unknown, then taints it.
      await waitFor('n1 tainted unreachable', async () => (await ok(['get', 'node', 'n1', '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}'])).includes('node.kubernetes.io/unreachable:NoExecute'), { timeoutMs: 20_000, intervalMs: 500 });
      const unknownAfter = Date.now() - killedAt;

      // Evicted (Terminating: no agent is there to finish the delete) and replaced on n2.
      await waitFor('the n1 web pods evicted', async () => {
        const r = await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[?(@.spec.nodeName=="n1")]}{.metadata.name}={.metadata.deletionTimestamp} {end}']);
        const rows = r.stdout.trim().split(' ').filter((x) => x !== '');
        return rows.length === onN1.length && rows.every((x) => !x.endsWith('='));
      }, { timeoutMs: 90_000, intervalMs: 1000 });
      const replaced = await waitFor('4 ready web pods on n2', async () => {
        const r = await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[?(@.spec.nodeName=="n2")]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
        const rows = r.stdout.trim().split('\n').map((l) => l.split(' '));
        return rows.length === 4 && rows.every((x) => x[1] === 'True') ? rows.map((x) => x[0] ?? '') : null;
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      const fresh = replaced.filter((n) => !placed.some((p) => p.name === n));
      expect(fresh.length).toBe(onN1.length);
      await waitFor('a replacement answering through the ClusterIP', () => probes.some((p) => p.answer !== null && fresh.includes(p.answer)), { timeoutMs: 30_000 });
      // The keeper tolerates the taint: it stays, marked not ready, its process running.
      expect((await podState('keeper1'))?.node).toBe('n1');
      expect(isAlive(kept.pid)).toBe(true);

      // The agent comes back: it adopts the keeper and stops what it ran of the evicted pods.
      await heal();
      await waitFor('n1 Ready', async () => (await nodeReady('n1')) === 'True', { timeoutMs: 30_000 });
      await waitFor('the evicted pods gone', async () => {
        const r = await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}']);
        return r.code === 0 && r.stdout === 'n2 n2 n2 n2';
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      await waitFor('the evicted pods\' processes stopped', () => onN1.every((p) => !isAlive(p.pid)), { timeoutMs: 20_000 });
      await waitFor('keeper1 reported Ready again', async () => (await ok(['get', 'pod', 'keeper1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', { timeoutMs: 30_000 });
      expect(await podState('keeper1')).toEqual(kept);
      await waitFor('the unreachable taint removed', async () => !(await ok(['get', 'node', 'n1', '-o', 'jsonpath={.spec.taints}'])).includes('unreachable'), { timeoutMs: 20_000, intervalMs: 500 });

      const lastFailure = Math.max(0, ...probes.filter((p) => p.answer === null).map((p) => p.at));
      await waitFor('20 answers in a row since the recovery', () => probes.filter((p) => p.at > lastFailure).length >= 20, { timeoutMs: 30_000 });
      const failed = probes.filter((p) => p.answer === null);
      // The only gap allowed: the other agent's proxy taking the ClusterIP over (it retries every 2 s).
      const span = failed.length === 0 ? 0 : failed[failed.length - 1]!.at - failed[0]!.at;
      const why = `${failed.length} of ${probes.length} requests failed over ${span} ms; n1 was Unknown ${unknownAfter} ms after the kill`;
      process.stderr.write(`node-failure: ${why}\n`);
      expect(span, why).toBeLessThanOrEqual(5000);
      expect(failed.length, why).toBeLessThanOrEqual(20);
      expect(probes.length).toBeGreaterThan(100);
    } finally {
      probing = false;
      await prober;
    }
  }, 360_000);

  it('raftkube down kills the pod processes an agent that died left running', async () => {
    const kept = await podState('keeper1');
    expect(kept?.node).toBe('n1');
    const agent = agentPid('n1');
    process.kill(agent, 'SIGKILL');
    await waitFor('the n1 agent gone', () => !isAlive(agent));
    expect(isAlive(kept!.pid)).toBe(true);
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'down', '--data-dir', cluster!.dataDir], { timeoutMs: 60_000 });
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Killed \\d+ pod process(es)? that dead node agents had left running \\(pid ([\\d, ]*, )?${kept!.pid}[,)]`));
    await waitFor('keeper1\'s process gone', () => !isAlive(kept!.pid));
  });
});
