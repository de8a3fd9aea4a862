/**
 * The process runtime under a real node agent (over the in-process registry): a real
 * `sh -c 'echo hi; sleep 30'` pod runs, logs, and dies within its grace period on deletion; a
 * crashing container restarts with restartCount going up; env comes from a ConfigMap and the
 * downward API; a container without a command gets a clear error. Every wait is a bounded poll.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentHandle } from '../../src/node-agent/agent.js';
import { runNodeAgent } from '../../src/node-agent/agent.js';
import { Cgroups } from '../../src/node-agent/cgroups.js';
import { writeCheckpoint, processInfo } from '../../src/node-agent/checkpoint.js';
import type { Checkpoint } from '../../src/node-agent/checkpoint.js';
import { containerLogPath, podDirName, ProcessRuntime } from '../../src/node-agent/process-runtime.js';
import type { PodObject } from '../../src/node-agent/types.js';
import { CONFIG_MAPS, PODS, SECRETS } from '../../src/node-agent/types.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dir = '';
let agent: AgentHandle | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftkube-node-'));
});

afterEach(async () => {
  await agent?.stop();
  agent = null;
  rmSync(dir, { recursive: true, force: true });
});

async function start() {
  const { registry } = await newRegistry();
  const client = new RegistryClient(registry);
  agent = runNodeAgent({ client, name: 'n1', runtime: new ProcessRuntime({ dataDir: dir, closeGraceMs: 500 }), backoff: { initialMs: 200, maxMs: 1000 }, resources: { cpu: '2', memory: '4Gi', pods: 110 } });
  await agent.registered;
  const get = async (name: string): Promise<PodObject | undefined> => {
    const r = await client.get<PodObject>(PODS, { namespace: 'default', name });
    return r.ok ? r.value : undefined;
  };
  const create = async (name: string, spec: Record<string, unknown>): Promise<PodObject> => {
    const r = await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'n1', containers: [], ...spec } });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return { client, get, create };
}

describe('ProcessRuntime', () => {
  it("runs sh -c 'echo hi; sleep 30': Running, its log written, killed well within the grace period when deleted", async () => {
    const s = await start();
    const created = await s.create('hi', { containers: [{ name: 'sh', image: 'busybox', command: ['sh', '-c', 'echo hi; sleep 30'] }] });
    const running = await until('Running', async () => {
      const p = await s.get('hi');
      return p?.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready === true ? p : undefined;
    });
    expect(running.status?.podIP).toMatch(/^127\.65\.0\.\d+$/);
    expect(running.status?.hostIP).toBe('127.0.0.1');
    expect(running.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(running.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, started: true, state: { running: {} } });
    const pid = Number((running.status?.containerStatuses?.[0]?.containerID ?? '').replace('process://', ''));
    expect(alive(pid)).toBe(true);
    const log = containerLogPath(dir, created, 'sh', 0);
    await until('the log line', () => (readFileSync(log, 'utf8') === 'hi\n' ? true : undefined));

    // The default grace period is 30 s; SIGTERM ends sh and its sleep at once, long before.
    expect((await s.client.delete(PODS, { namespace: 'default', name: 'hi' })).ok).toBe(true);
    await until('the pod object gone', async () => ((await s.get('hi')) === undefined ? true : undefined), 15_000);
    expect(alive(pid)).toBe(false);
    expect(agent?.runtime.pods()).toEqual([]);
  });

  it('runs a preStop exec hook before stopping, and gives a hostNetwork pod the host IP', async () => {
    const s = await start();
    const out = join(dir, 'host');
    mkdirSync(out);
    await s.create('hook', {
      hostNetwork: true,
      volumes: [{ name: 'out', hostPath: { path: out } }],
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '30'], volumeMounts: [{ name: 'out', mountPath: '/out' }], lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > out/prestop'] } } } }],
    });
    const running = await until('Running', async () => {
      const p = await s.get('hook');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    expect(running.status?.podIP).toBe('127.0.0.1');
    expect((await s.client.delete(PODS, { namespace: 'default', name: 'hook' })).ok).toBe(true);
    await until('the pod gone', async () => ((await s.get('hook')) === undefined ? true : undefined));
    expect(readFileSync(join(out, 'prestop'), 'utf8')).toBe('bye\n');
  });

  it('kills a container that ignores SIGTERM with SIGKILL once its grace period is over', async () => {
    const s = await start();
    await s.create('stubborn', { terminationGracePeriodSeconds: 1, containers: [{ name: 'sh', image: 'busybox', command: ['sh', '-c'], args: ["trap '' TERM; echo up; while true; do sleep 0.1; done"] }] });
    const running = await until('Running', async () => {
      const p = await s.get('stubborn');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    const pid = Number((running.status?.containerStatuses?.[0]?.containerID ?? '').replace('process://', ''));
    expect((await s.client.delete(PODS, { namespace: 'default', name: 'stubborn' })).ok).toBe(true);
    await until('the pod object gone', async () => ((await s.get('stubborn')) === undefined ? true : undefined));
    expect(alive(pid)).toBe(false);
  });

  it('restarts a crashing container with restartCount going up and CrashLoopBackOff between', async () => {
    const s = await start();
    await s.create('crash', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 3'] }] });
    const p = await until('three restarts', async () => {
      const x = await s.get('crash');
      return (x?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3 ? x : undefined;
    });
    expect(p.status?.phase).toBe('Running');
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    await until('CrashLoopBackOff', async () => ((await s.get('crash'))?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? true : undefined));
  });

  it('gives env from a ConfigMap, the downward API and POD_IP; Never + exit 0 is Succeeded', async () => {
    const s = await start();
    expect((await s.client.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { greeting: 'hello' } })).ok).toBe(true);
    const work = join(dir, 'work');
    mkdirSync(work);
    const created = await s.create('env', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: 'busybox',
          workingDir: work,
          command: ['sh', '-c', 'echo "$GREETING $ME $NS $POD_IP $(pwd) $(WHO)" > out.txt'],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
            { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'WHO', value: 'x-$(ME)' },
          ],
        },
      ],
    });
    const done = await until('Succeeded', async () => {
      const x = await s.get('env');
      return x?.status?.phase === 'Succeeded' ? x : undefined;
    });
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(readFileSync(join(work, 'out.txt'), 'utf8')).toBe(`hello env default ${done.status?.podIP ?? ''} ${work} x-env\n`);
    expect(created.metadata.name).toBe('env');
  });

  it('reports a container without a command, or with a missing ConfigMap, as CreateContainerConfigError', async () => {
    const s = await start();
    await s.create('nocmd', { containers: [{ name: 'c', image: 'nginx' }] });
    await s.create('nocfg', { containers: [{ name: 'c', image: 'busybox', command: ['true'], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }] }] });
    const a = await until('the error', async () => (await s.get('nocmd'))?.status?.containerStatuses?.[0]?.state?.waiting);
    expect(a.reason).toBe('CreateContainerConfigError');
    expect(a.message).toContain('container c has no command');
    const b = await until('the error', async () => (await s.get('nocfg'))?.status?.containerStatuses?.[0]?.state?.waiting);
    expect(b).toEqual({ reason: 'CreateContainerConfigError', message: 'configmap "missing" not found; create it or mark the reference optional' });
    expect((await s.get('nocmd'))?.status?.phase).toBe('Pending');
  });

  it('materialises emptyDir, configMap and secret volumes as directories linked at their mount paths', async () => {
    const s = await start();
    expect((await s.client.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { greeting: 'hello' } })).ok).toBe(true);
    expect((await s.client.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'default' }, data: { pw: Buffer.from('s3cret').toString('base64') } })).ok).toBe(true);
    const created = await s.create('vols', {
      restartPolicy: 'Never',
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'sec', secret: { secretName: 'sec', items: [{ key: 'pw', path: 'nested/password' }] } }],
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'cat etc/cfg/greeting etc/sec/nested/password > data/out'],
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'cfg', mountPath: '/etc/cfg', readOnly: true },
            { name: 'sec', mountPath: '/etc/sec', readOnly: true },
          ],
        },
      ],
    });
    const done = await until('Succeeded', async () => {
      const x = await s.get('vols');
      return x?.status?.phase === 'Succeeded' || x?.status?.phase === 'Failed' ? x : undefined;
    });
    expect(done.status?.phase).toBe('Succeeded');
    expect(readFileSync(join(dir, 'pods', podDirName(created), 'volumes', 'data', 'out'), 'utf8')).toBe('hellos3cret');
  });

  it('rotates a log past its size limit to <restart>.log.1 while the process keeps writing', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const runtime = new ProcessRuntime({ dataDir: dir, closeGraceMs: 200, maxLogBytes: 1000, rotateEveryMs: 3_600_000 });
    agent = runNodeAgent({ client, name: 'n1', runtime });
    await agent.registered;
    const r = await client.create<PodObject>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'chatty', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.01; done'] }] },
    });
    if (!r.ok) throw new Error(r.error.message);
    const log = containerLogPath(dir, r.value, 'c', 0);
    await until('a big log', () => (existsSync(log) && statSync(log).size > 1000 ? true : undefined));
    expect(runtime.rotateLogs()).toBe(1);
    expect(statSync(`${log}.1`).size).toBeGreaterThan(1000);
    // The emptied file fills again from where the process is, not from line 1.
    await until('new lines after the rotation', () => {
      const m = /^line (\d+)\n/.exec(readFileSync(log, 'utf8'));
      return m !== null && Number(m[1]) > 1 ? true : undefined;
    });
  });

  it.runIf(new Cgroups().available !== 'none')('enforces a memory limit through cgroups and reports OOMKilled', async () => {
    const s = await start();
    const hog = 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));';
    await s.create('hog', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'node', command: [process.execPath, '-e', hog], resources: { limits: { memory: '64Mi' } } }] });
    const failed = await until('Failed', async () => {
      const x = await s.get('hog');
      return x?.status?.phase === 'Failed' ? x : undefined;
    });
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
  });
});

describe('ProcessRuntime after the agent died', () => {
  const strays: number[] = [];

  afterEach(() => {
    for (const pid of strays.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  /** leftBehind starts a process as a dead agent would have left it: detached, in its own group. */
  async function leftBehind(script: string): Promise<{ pid: number; start: string; exited: Promise<unknown> }> {
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pid = await until('a pid', () => child.pid);
    strays.push(pid);
    const start = await until('its start time', () => processInfo(pid)?.start);
    return { pid, start, exited };
  }

  async function setup() {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const create = async (name: string, spec: Record<string, unknown>): Promise<PodObject> => {
      const r = await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'n1', containers: [], ...spec } });
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    const get = async (name: string): Promise<PodObject | undefined> => {
      const r = await client.get<PodObject>(PODS, { namespace: 'default', name });
      return r.ok ? r.value : undefined;
    };
    const podDir = (pod: PodObject): string => {
      const d = join(dir, 'pods', podDirName(pod));
      mkdirSync(d, { recursive: true });
      return d;
    };
    const startAgent = () => {
      const runtime = new ProcessRuntime({ dataDir: dir, closeGraceMs: 500, watchMs: 50 });
      const report = runtime.recover();
      agent = runNodeAgent({ client, name: 'n1', runtime, backoff: { initialMs: 200, maxMs: 1000 }, resources: { cpu: '2', memory: '4Gi', pods: 110 } });
      return report;
    };
    return { client, create, get, podDir, startAgent };
  }

  const STARTED = new Date(Date.UTC(2026, 0, 1));
  const running = (name: string, d: string, p: { pid: number; start: string }, restartCount: number): Checkpoint => ({ name, init: false, restartCount, containerID: `process://${p.pid}`, pid: p.pid, start: p.start, startedAt: STARTED, logPath: join(d, name, `${restartCount}.log`), cwd: d, env: { GREETING: 'hi' } });

  it('adopts a container whose process outlived the agent — same pid and restartCount, still ready, not restarted — and restarts it once it dies', async () => {
    const s = await setup();
    const pod = await s.create('web', { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '30'], readinessProbe: { exec: { command: ['false'] }, periodSeconds: 30 } }] });
    const d = s.podDir(pod);
    const p = await leftBehind('sleep 30');
    writeCheckpoint(d, running('app', d, p, 2));
    const containerID = `process://${p.pid}`;
    // What the dead agent last reported: running, ready, restarted twice.
    const status = { phase: 'Running', podIP: '127.65.0.7', containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: true, started: true, restartCount: 2, containerID, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] };
    expect((await s.client.patch(PODS, { namespace: 'default', name: 'web' }, { type: 'merge', patch: { status } }, { subresource: 'status' })).ok).toBe(true);

    expect(s.startAgent()).toEqual({ pods: 1, adopted: 1, ended: 0, killed: 0 });
    await agent!.registered;
    await until('the agent to take the pod over', () => (agent!.worker.podIPOf('default/web') === undefined ? undefined : true));
    const adopted = await until('the pod reported by the new agent', async () => {
      const x = await s.get('web');
      return x?.status?.conditions?.some((c) => c.type === 'Ready') === true ? x : undefined;
    });
    expect(adopted.status?.podIP).toBe('127.65.0.7');
    expect(adopted.status?.containerStatuses?.[0]).toMatchObject({ containerID, restartCount: 2, ready: true, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } });
    expect(adopted.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(alive(p.pid)).toBe(true);
    expect(existsSync(join(d, 'app', '3.log'))).toBe(false);

    // Its death is noticed through /proc and the restart policy restarts it: restartCount 3.
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    const restarted = await until('a restart', async () => {
      const x = await s.get('web');
      return x?.status?.containerStatuses?.[0]?.restartCount === 3 && x.status.containerStatuses[0].state?.running !== undefined ? x : undefined;
    });
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'ContainerStatusUnknown' });
    expect(restarted.status?.containerStatuses?.[0]?.containerID).not.toBe(containerID);
    expect(existsSync(join(d, 'app', '3.log'))).toBe(true);
  });

  it('restarts a container whose process died while the agent was down, and does not run a finished init container again', async () => {
    const s = await setup();
    const marker = join(dir, 'init-ran');
    const pod = await s.create('job', { initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', `echo ran >> ${marker}`] }], containers: [{ name: 'app', image: 'busybox', command: ['sleep', '30'] }] });
    const d = s.podDir(pod);
    const dead = await leftBehind('exit 0');
    await dead.exited;
    const init = await leftBehind('exit 0');
    await init.exited;
    writeCheckpoint(d, { ...running('init', d, init, 0), init: true, pid: null, terminated: { exitCode: 0, reason: 'Completed', startedAt: STARTED, finishedAt: STARTED } });
    writeCheckpoint(d, running('app', d, dead, 0));

    expect(s.startAgent()).toEqual({ pods: 1, adopted: 0, ended: 1, killed: 0 });
    const x = await until('app restarted', async () => {
      const v = await s.get('job');
      return v?.status?.containerStatuses?.[0]?.state?.running !== undefined ? v : undefined;
    });
    expect(x.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, lastState: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown' } } });
    expect(x.status?.initContainerStatuses?.[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect(existsSync(marker)).toBe(false);
  });

  it('stops what a previous run left of a pod that is gone or bound elsewhere', async () => {
    const s = await setup();
    const other = await s.create('elsewhere', { nodeName: 'n2', containers: [{ name: 'app', image: 'busybox', command: ['sleep', '30'] }] });
    const ghost: PodObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ghost', namespace: 'default', uid: 'ghost-uid' }, spec: { containers: [] } };
    const procs = [];
    for (const pod of [other, ghost]) {
      const d = s.podDir(pod);
      const p = await leftBehind('sleep 30');
      writeCheckpoint(d, running('app', d, p, 0));
      procs.push({ d, p });
    }
    expect(s.startAgent()).toMatchObject({ pods: 2, adopted: 2 });
    for (const { d, p } of procs) {
      await p.exited;
      await until(`${d} removed`, () => (existsSync(d) ? undefined : true));
    }
    expect(agent!.runtime.pods()).toEqual([]);
  });
});
