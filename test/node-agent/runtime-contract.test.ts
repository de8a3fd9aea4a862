/**
 * The ContainerRuntime contract, run against every implementation (process, simulated, and the
 * tests' fake): a started container runs, a stop ends it, a start after that is a restart with
 * its restartCount one up and the finished run as lastTermination, onChange reports changes the
 * worker did not make, and removePod forgets the pod.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ok } from '../../src/control-plane/api/types.js';
import { ProcessRuntime } from '../../src/node-agent/process-runtime.js';
import type { ContainerRecord, ContainerRuntime, StartContainerRequest } from '../../src/node-agent/runtime.js';
import { SimulatedRuntime } from '../../src/node-agent/simulated-runtime.js';
import type { PodObject } from '../../src/node-agent/types.js';
import { FakeRuntime } from './fake-runtime.js';

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pod: PodObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'uid-1' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', command: ['sleep', '30'] }] } };

function request(): StartContainerRequest {
  return {
    pod,
    container: pod.spec?.containers[0] ?? { name: 'c' },
    init: false,
    podIP: '127.65.0.9',
    hostIP: '127.0.0.1',
    env: () => Promise.resolve(ok({})),
    objects: { data: () => Promise.resolve(ok(null)) },
    firstRestartCount: 0,
  };
}

const dirs: string[] = [];
const open: ContainerRuntime[] = [];

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const implementations: readonly (readonly [string, () => ContainerRuntime])[] = [
  [
    'process',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'raftkube-contract-'));
      dirs.push(dir);
      return new ProcessRuntime({ dataDir: dir, closeGraceMs: 200 });
    },
  ],
  ['simulated', () => new SimulatedRuntime({ startDelayMs: 50 })],
  ['fake', () => new FakeRuntime(() => new Date())],
];

describe.each(implementations)('ContainerRuntime contract: %s', (_name, make) => {
  const running = (rt: ContainerRuntime): ContainerRecord | undefined => rt.containers('uid-1').find((r) => r.name === 'c' && r.state.kind === 'running');

  it('starts, stops, restarts with restartCount and lastTermination, and forgets a removed pod', async () => {
    const rt = make();
    open.push(rt);
    const changes: string[] = [];
    const sub = rt.onChange((uid) => changes.push(uid));
    expect(rt.containers('uid-1')).toEqual([]);
    expect(await rt.startContainer(request())).toEqual({ ok: true, value: undefined });
    const first = await until('running', () => running(rt));
    expect(first.restartCount).toBe(0);
    expect(rt.pods()).toEqual(['uid-1']);

    await rt.stopContainer('uid-1', 'c', 5000);
    const stopped = rt.containers('uid-1').find((r) => r.name === 'c');
    expect(stopped?.state.kind).toBe('terminated');

    expect((await rt.startContainer(request())).ok).toBe(true);
    const second = await until('running again', () => running(rt));
    expect(second.restartCount).toBe(1);
    expect(second.lastTermination?.finishedAt).toBeInstanceOf(Date);

    await rt.removePod('uid-1');
    expect(rt.containers('uid-1')).toEqual([]);
    expect(rt.pods()).toEqual([]);
    sub.dispose();
    expect(changes.every((u) => u === 'uid-1')).toBe(true);
  });
});
