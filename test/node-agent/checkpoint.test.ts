/**
 * Container checkpoints: what the process runtime writes round-trips, a torn or foreign file is
 * ignored rather than trusted, and pid files of the older format are found for cleanup.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/node-agent/checkpoint.js';
import { checkpointPath, decodeCheckpoint, isRunning, processInfo, readCheckpoints, writeCheckpoint } from '../../src/node-agent/checkpoint.js';

let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftkube-checkpoint-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T = new Date(Date.UTC(2026, 0, 1, 12));

const ended: Checkpoint = {
  name: 'app',
  init: false,
  restartCount: 3,
  containerID: 'process://4242',
  pid: null,
  start: '123',
  startedAt: T,
  terminated: { exitCode: 137, signal: 'SIGKILL', reason: 'Error', startedAt: T, finishedAt: new Date(T.getTime() + 5000) },
  lastTermination: { exitCode: 0, reason: 'ContainerStatusUnknown', startedAt: T, finishedAt: T },
  logPath: '/logs/3.log',
  cwd: '/root',
  env: { A: '1', POD_IP: '127.65.0.3' },
  cgroup: { id: 'uid-app-3', resources: { limits: { memory: '64Mi' } } },
};

describe('checkpoints', () => {
  it('round-trip through the pod directory, private to the agent, with the uid read from its name', () => {
    const podDir = join(dir, 'pods', 'default_web_0c6f-uid');
    mkdirSync(podDir, { recursive: true });
    writeCheckpoint(podDir, ended);
    expect(statSync(checkpointPath(podDir, 'app')).mode & 0o777).toBe(0o600);
    writeFileSync(join(podDir, 'side.pid'), '4243 999\n');
    expect(readCheckpoints(join(dir, 'pods'))).toEqual([{ uid: '0c6f-uid', dir: podDir, containers: [ended], legacy: [{ path: join(podDir, 'side.pid'), pid: 4243, start: '999' }] }]);
    expect(readCheckpoints(join(dir, 'nowhere'))).toEqual([]);
  });

  it('ignores text that is not a whole checkpoint', () => {
    const good = readFileSync((() => {
      const d = join(dir, 'p');
      mkdirSync(d);
      writeCheckpoint(d, ended);
      return checkpointPath(d, 'app');
    })(), 'utf8');
    expect(decodeCheckpoint(good)).toEqual(ended);
    expect(decodeCheckpoint(good.slice(0, good.length / 2))).toBeNull();
    expect(decodeCheckpoint('[]')).toBeNull();
    const body = JSON.parse(good) as Record<string, unknown>;
    expect(decodeCheckpoint(JSON.stringify({ ...body, pid: 1 }))).toBeNull();
    expect(decodeCheckpoint(JSON.stringify({ ...body, restartCount: -1 }))).toBeNull();
    expect(decodeCheckpoint(JSON.stringify({ ...body, env: { A: 1 } }))).toBeNull();
    // Neither running (no pid) nor ended (no termination): not a state a container can be in.
    const { terminated: _t, ...noEnd } = body;
    expect(decodeCheckpoint(JSON.stringify(noEnd))).toBeNull();
    expect(decodeCheckpoint(JSON.stringify({ ...body, terminated: { ...(body['terminated'] as object), reason: 'Exploded' } }))).toBeNull();
  });

  it('tells this process apart from a pid with another start time', () => {
    const me = processInfo(process.pid);
    expect(me?.state).toMatch(/^[RS]$/);
    expect(isRunning(process.pid, me!.start)).toBe(true);
    expect(isRunning(process.pid, `${me!.start}0`)).toBe(false);
  });
});
