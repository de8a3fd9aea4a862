/**
 * nodes: a 3-master cluster from `raftkube up` with two process-runtime node agents, driven with
 * the real kubectl — nodes register Ready, the scheduler binds pods, pods run as real processes
 * with their own loopback IPs, `kubectl logs` (and `-f`) reads them, a crashing or killed
 * container is restarted, a failing liveness probe restarts its container, a failing readiness
 * probe takes its pod out of the Service (Endpoints, EndpointSlice and the proxy) until it passes
 * again, deletion stops the process within its grace period, scaling to 0 leaves no process, and
 * the scheduler's Lease names a master.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networksOf } from '../../src/cli/control-plane-up.js';
import { BackgroundCommand, describeResult, isAlive, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';
let cluster: TestCluster | undefined;
let kubeconfig = '';
const work = mkdtempSync(join(tmpdir(), 'raftkube-nodes-'));

function k(args: readonly string[], input?: string): Promise<CommandResult> {
  return runCommand(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 30_000, ...(input === undefined ? {} : { input }) });
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}: ${describeResult(r)}`).toBe(0);
  return r.stdout;
}

/** inBlock tells whether an IPv4 address lies in a CIDR block. */
function inBlock(ip: string, cidr: string): boolean {
  const num = (a: string): number => a.split('.').map(Number).reduce((acc, o) => acc * 256 + o, 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && Math.floor(num(ip) / size) === Math.floor(num(base!) / size);
}

/** apply creates objects from their JSON, one `kubectl create -f -` each. */
async function apply(...objects: unknown[]): Promise<void> {
  for (const o of objects) await ok(['create', '-f', '-'], JSON.stringify(o));
}

/** pidsOf are the processes of a pod's containers, from their containerIDs (process://<pid>). */
async function pidsOf(pod: string): Promise<number[]> {
  const ids = await ok(['get', 'pod', pod, '-o', 'jsonpath={.status.containerStatuses[*].containerID}']);
  return ids.split(' ').filter((x) => x.startsWith('process://')).map((x) => Number(x.slice('process://'.length)));
}

/** runningPod waits until a pod runs and returns its first container's pid and restartCount. */
async function runningPod(pod: string, o: { restarts?: number; timeoutMs?: number } = {}): Promise<{ pid: number; restarts: number }> {
  return waitFor(`${pod} running${o.restarts === undefined ? '' : ` after ${o.restarts} restarts`}`, async () => {
    const r = await k(['get', 'pod', pod, '-o', 'jsonpath={.status.containerStatuses[0].state.running.startedAt} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].containerID}']);
    const m = /^\S+ (\d+) process:\/\/(\d+)$/.exec(r.stdout);
    if (m === null) return null;
    const restarts = Number(m[1]);
    return o.restarts === undefined || restarts >= o.restarts ? { pid: Number(m[2]), restarts } : null;
  }, { timeoutMs: o.timeoutMs ?? 40_000, intervalMs: 250 });
}

/** httpGet fetches a URL's body over plain HTTP (what `curl` would show), failing after 3 s. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, controlPlane: true, nodes: 2 });
  kubeconfig = join(cluster.dataDir, 'kubeconfig');
}, 200_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('pods on process-runtime nodes', () => {
  it('registers two Ready nodes, each with its Lease, and a scheduler leader named after a master', async () => {
    expect(await ok(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}'])).toBe('n1=True n2=True ');
    expect(await ok(['get', 'leases', '-n', 'kube-node-lease', '-o', 'name'])).toBe('lease.coordination.k8s.io/n1\nlease.coordination.k8s.io/n2\n');
    const holder = await waitFor('a scheduler to take the lease', async () => {
      const r = await k(['get', 'lease', 'kube-scheduler', '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}']);
      return r.code === 0 && r.stdout !== '' ? r.stdout : null;
    });
    expect(holder).toMatch(/^m[123]_/);
  });

  it('runs a pod as a process with its own IP, and serves its logs', async () => {
    await ok(['run', 'echoer', '--image=busybox', '--command', '--', 'sh', '-c', 'echo hello from echoer; echo second line; sleep 300']);
    const [ip, node] = await waitFor('echoer to run', async () => {
      const r = await k(['get', 'pod', 'echoer', '-o', 'jsonpath={.status.phase} {.status.podIP} {.spec.nodeName}']);
      const m = /^Running (127\.\d+\.\d+\.\d+) n([12])$/.exec(r.stdout);
      return m === null ? null : [m[1]!, Number(m[2])] as const;
    }, { timeoutMs: 30_000 });
    expect(inBlock(ip, networksOf(cluster!.basePort).podCIDR(node)), `${ip} is in n${node}'s pod block`).toBe(true);
    expect(await ok(['get', 'pods'])).toMatch(/^echoer\s+1\/1\s+Running\s+0\s+/m);
    await waitFor('the log', async () => (await k(['logs', 'echoer'])).stdout === 'hello from echoer\nsecond line\n');
    expect(await ok(['logs', 'echoer', '--tail=1'])).toBe('second line\n');
    expect(await ok(['logs', 'echoer', '--since=1h'])).toBe('hello from echoer\nsecond line\n');
    expect(await ok(['logs', 'echoer', '--since-time', new Date(Date.now() + 3_600_000).toISOString()])).toBe('');
    expect(await ok(['logs', 'echoer', '--timestamps', '--tail=1'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z second line\n$/);
    // kubectl exec: the container's environment, the exit code carried back, stdin piped in.
    expect(await ok(['exec', 'echoer', '--', 'sh', '-c', 'echo "$POD_IP"'])).toBe(`${ip}\n`);
    const failed = await k(['exec', 'echoer', '--', 'sh', '-c', 'echo to stderr >&2; exit 3']);
    expect(failed.code, describeResult(failed)).toBe(3);
    expect(failed.stderr).toContain('to stderr');
    const piped = await runCommand(KUBECTL, ['--kubeconfig', kubeconfig, 'exec', '-i', 'echoer', '--', 'tr', 'a-z', 'A-Z'], { input: 'shout this\n', timeoutMs: 30_000 });
    expect(piped.stdout, describeResult(piped)).toBe('SHOUT THIS\n');
  });

  it('restarts a crashing container with restartCount going up', async () => {
    await ok(['run', 'crasher', '--image=busybox', '--command', '--', 'sh', '-c', 'echo boom; exit 3']);
    await waitFor('crasher to restart', async () => {
      const r = await k(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      return r.code === 0 && Number(r.stdout) >= 1;
    }, { timeoutMs: 40_000 });
    const last = await ok(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}']);
    expect(last).toBe('3');
  });

  it('follows a log with kubectl logs -f as new lines are written', async () => {
    await ok(['run', 'ticker', '--image=busybox', '--command', '--', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done']);
    await runningPod('ticker');
    const follow = new BackgroundCommand(KUBECTL, ['--kubeconfig', kubeconfig, 'logs', '-f', 'ticker']);
    try {
      // Lines written after kubectl started reading arrive while it keeps the stream open.
      const first = await waitFor('a first line', () => /tick (\d+)\n/.exec(follow.stdout)?.[1], { timeoutMs: 30_000 });
      const later = Number(first) + 4;
      await waitFor(`tick ${later} through the open stream`, () => follow.stdout.includes(`tick ${later}\n`), { timeoutMs: 30_000 });
      expect(follow.exited).toBe(false);
      const lines = follow.stdout.trimEnd().split('\n');
      expect(lines).toEqual(lines.map((_, i) => `tick ${Number(/\d+/.exec(lines[0] ?? '')?.[0]) + i}`));
    } finally {
      await follow.stop();
    }
    await ok(['delete', 'pod', 'ticker', '--grace-period=1']);
  });

  it('restarts a container whose process is killed, with restartCount going up', async () => {
    await ok(['run', 'victim', '--image=busybox', '--command', '--', 'sleep', '3600']);
    const before = await runningPod('victim');
    expect(before.restarts).toBe(0);
    process.kill(before.pid, 'SIGKILL');
    const after = await runningPod('victim', { restarts: 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(isAlive(before.pid)).toBe(false);
    expect(await ok(['get', 'pod', 'victim', '-o', 'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].lastState.terminated.signal}'])).toBe('137 9');
    await ok(['delete', 'pod', 'victim', '--grace-period=1']);
  });

  it('restarts a container whose liveness probe fails', async () => {
    // Healthy for its first seconds (the file exists), then the exec probe fails and the container is restarted.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sickly' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'touch healthy; sleep 4; rm healthy; exec sleep 3600'], livenessProbe: { exec: { command: ['cat', 'healthy'] }, periodSeconds: 1, failureThreshold: 2 } }],
      },
    });
    const first = await runningPod('sickly');
    const again = await runningPod('sickly', { restarts: 1, timeoutMs: 60_000 });
    expect(again.pid).not.toBe(first.pid);
    await waitFor('the Unhealthy event', async () => (await ok(['get', 'events', '--field-selector', 'involvedObject.name=sickly', '-o', 'jsonpath={range .items[*]}{.reason}={.message}{"\\n"}{end}'])).includes('Unhealthy=Liveness probe failed'), { timeoutMs: 20_000 });
    await ok(['delete', 'pod', 'sickly', '--grace-period=1']);
  });

  it('takes a pod whose readiness probe fails out of its Service, and puts it back once it passes', async () => {
    // Ready unless <work>/<pod name>.down exists; each pod serves a file with its own name.
    await apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'gate' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'gate' } },
          template: {
            metadata: { labels: { app: 'gate' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'web', image: 'python', command: ['sh', '-c', 'echo $HOSTNAME > name.txt; exec python3 -m http.server 8080 --bind $POD_IP'], readinessProbe: { exec: { command: ['sh', '-c', `test ! -e ${work}/$HOSTNAME.down`] }, periodSeconds: 1, failureThreshold: 1 } }],
            },
          },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gate' }, spec: { selector: { app: 'gate' }, ports: [{ port: 80, targetPort: 8080 }] } },
    );
    const pods = await waitFor('2 ready gate pods', async () => {
      const r = await k(['get', 'pods', '-l', 'app=gate', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      const rows = r.stdout.trim().split('\n').map((l) => l.split(' '));
      return rows.length === 2 && rows.every((x) => x[2] === 'True') ? rows.map(([name = '', ip = '']) => ({ name, ip })) : null;
    }, { timeoutMs: 60_000 });
    const [a, b] = pods as [{ name: string; ip: string }, { name: string; ip: string }];
    const ip = (await ok(['get', 'svc', 'gate', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const addresses = async (): Promise<string> => (await k(['get', 'endpoints', 'gate', '-o', 'jsonpath={.subsets[*].addresses[*].ip}|{.subsets[*].notReadyAddresses[*].ip}'])).stdout;
    const slice = async (): Promise<string> => (await k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=gate', '-o', 'jsonpath={range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready} {end}'])).stdout.trim().split(' ').sort().join(' ');
    const both = [a.ip, b.ip].sort();
    await waitFor('both pods in the Endpoints', async () => (await addresses()).split('|')[0]?.split(' ').sort().join(' ') === both.join(' '), { timeoutMs: 30_000 });
    /** answers asks the ClusterIP n times which pod answers. */
    const answers = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await httpGet(`http://${ip}:80/name.txt`).catch(() => 'failed\n')).trim());
      return out;
    };
    const bothAnswer = async (): Promise<boolean> => {
      const got = new Set(await answers(4));
      return got.has(a.name) && got.has(b.name);
    };
    await waitFor('both pods answering through the ClusterIP', bothAnswer, { timeoutMs: 30_000 });

    writeFileSync(join(work, `${a.name}.down`), '');
    await waitFor(`${a.name} not ready in the Endpoints`, async () => (await addresses()) === `${b.ip}|${a.ip}`, { timeoutMs: 30_000 });
    await waitFor(`${a.name} not ready in the EndpointSlice`, async () => (await slice()) === [`${a.ip}=false`, `${b.ip}=true`].sort().join(' '), { timeoutMs: 30_000 });
    expect(await ok(['get', 'pod', a.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}'])).toBe('False 0');
    // The proxy reads the Endpoints at connect time: once it has the change, only b answers.
    await waitFor(`only ${b.name} answering`, async () => (await answers(4)).every((x) => x === b.name), { timeoutMs: 20_000 });
    expect(await answers(6)).toEqual(Array.from({ length: 6 }, () => b.name));

    unlinkSync(join(work, `${a.name}.down`));
    await waitFor(`${a.name} back in the Endpoints`, async () => (await addresses()).split('|')[0]?.split(' ').sort().join(' ') === both.join(' '), { timeoutMs: 30_000 });
    await waitFor(`${a.name} ready in the EndpointSlice again`, async () => (await slice()) === both.map((x) => `${x}=true`).join(' '), { timeoutMs: 30_000 });
    await waitFor('both pods answering again', bothAnswer, { timeoutMs: 30_000 });
    await ok(['delete', 'deployment', 'gate']);
    await ok(['delete', 'service', 'gate']);
  });

  it('stops the process when the pod is deleted, and the delete completes', async () => {
    const f = JSON.parse(readFileSync(join(cluster!.dataDir, 'cluster.json'), 'utf8')) as { nodes: { name: string; pids: number[] }[] };
    expect(f.nodes.map((n) => n.name)).toEqual(['n1', 'n2']);
    expect(f.nodes.every((n) => n.pids.every(isAlive))).toBe(true);
    await ok(['run', 'sleeper', '--image=busybox', '--command', '--', 'sleep', '12345']);
    await waitFor('sleeper to run', async () => (await k(['get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running', { timeoutMs: 30_000 });
    const before = await runCommand('pgrep', ['-f', 'sleep 12345']);
    expect(before.stdout.trim()).not.toBe('');
    expect(await ok(['delete', 'pod', 'sleeper', '--grace-period=5'])).toBe('pod "sleeper" deleted\n');
    expect((await k(['get', 'pod', 'sleeper'])).stderr).toContain('NotFound');
    const after = await runCommand('pgrep', ['-f', 'sleep 12345']);
    expect(after.stdout.trim()).toBe('');
  });

  it('serves a Deployment behind a Service through its ClusterIP', async () => {
    await ok(['create', 'deployment', 'hello', '--image=python', '--replicas=2', '--', 'sh', '-c', 'exec python3 -m http.server 8080 --bind $POD_IP']);
    await ok(['expose', 'deployment', 'hello', '--port', '80', '--target-port', '8080']);
    await waitFor('2 available replicas', async () => (await k(['get', 'deploy', 'hello', '-o', 'jsonpath={.status.availableReplicas}'])).stdout === '2', { timeoutMs: 40_000 });
    const ip = (await ok(['get', 'svc', 'hello', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(inBlock(ip, networksOf(cluster!.basePort).serviceCIDR), `${ip} is in the cluster's ClusterIP block`).toBe(true);
    const body = await waitFor('an answer through the ClusterIP', async () => {
      const text = await httpGet(`http://${ip}:80/`);
      return text.includes('Directory listing') ? text : null;
    }, { timeoutMs: 30_000 });
    expect(body).toContain('<title>Directory listing for /</title>');
    const curl = await runCommand('curl', ['-sS', '--max-time', '5', `http://${ip}/`]);
    expect(curl.code, describeResult(curl)).toBe(0);
    expect(curl.stdout).toContain('<title>Directory listing for /</title>');
    expect(await ok(['get', 'endpoints', 'hello', '-o', 'jsonpath={.subsets[0].ports[0].port}'])).toBe('8080');
  });

  it('keeps converging a Deployment after kill -9 of the master holding the controller-manager lease', async () => {
    const c = cluster!;
    await ok(['create', 'deployment', 'scaled', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']);
    await waitFor('2 available', async () => (await k(['get', 'deploy', 'scaled', '-o', 'jsonpath={.status.availableReplicas}'])).stdout === '2', { timeoutMs: 40_000 });
    const holder = (await ok(['get', 'lease', 'kube-controller-manager', '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
    const leaderMaster = holder.split('_')[0];
    const f = JSON.parse(readFileSync(join(c.dataDir, 'cluster.json'), 'utf8')) as { masters: { name: string; pids: number[] }[] };
    const victim = f.masters.find((m) => m.name === leaderMaster);
    expect(victim, `lease holder ${holder}`).toBeDefined();
    for (const pid of victim!.pids) process.kill(pid, 'SIGKILL');
    await waitFor('kubectl to answer', async () => (await k(['scale', 'deploy', 'scaled', '--replicas=5'])).code === 0, { timeoutMs: 20_000 });
    await waitFor('5 available after failover', async () => (await k(['get', 'deploy', 'scaled', '-o', 'jsonpath={.status.availableReplicas}'])).stdout === '5', { timeoutMs: 60_000 });
    const next = (await ok(['get', 'lease', 'kube-controller-manager', '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
    expect(next.split('_')[0]).not.toBe(leaderMaster);
    // No pod created twice beyond the replica count: the ReplicaSet owns exactly 5 live pods.
    const pods = (await ok(['get', 'pods', '-l', 'app=scaled', '-o', 'name'])).split('\n').filter((l) => l !== '');
    expect(pods.length).toBe(5);
  });

  it('leaves no process behind when a Deployment is scaled to 0', async () => {
    const names = (await ok(['get', 'pods', '-l', 'app=scaled', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter((x) => x !== '');
    expect(names.length).toBe(5);
    const pids = (await Promise.all(names.map((n) => pidsOf(n)))).flat();
    expect(pids.length).toBe(5);
    expect(pids.every(isAlive)).toBe(true);
    await ok(['scale', 'deploy', 'scaled', '--replicas=0']);
    await waitFor('no scaled pod left', async () => {
      const r = await k(['get', 'pods', '-l', 'app=scaled', '-o', 'name']);
      return r.code === 0 && r.stdout === '';
    }, { timeoutMs: 60_000 });
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
