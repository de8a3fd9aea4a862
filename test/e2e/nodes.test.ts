/**
 * nodes: a 3-master cluster from `raftkube up` with two process-runtime node agents, driven with
 * the real kubectl — nodes register Ready, the scheduler binds pods, pods run as real processes
 * with their own loopback IPs, `kubectl logs` reads them, a crashing container is restarted,
 * deletion stops the process within its grace period, and the scheduler's Lease names a master.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networksOf } from '../../src/cli/control-plane-up.js';
import { describeResult, isAlive, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';
let cluster: TestCluster | undefined;
let kubeconfig = '';

function k(args: readonly string[]): Promise<CommandResult> {
  return runCommand(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 30_000 });
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await k(args);
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
});
