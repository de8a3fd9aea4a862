/**
 * exec-server: the node agent's side of kubectl exec over a WebSocket — output on channels 1
 * and 2, the exit Status on channel 3, stdin until the v5 close message, and refusals with a
 * reason before any upgrade.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { err, ok } from '../../src/control-plane/api/types.js';
import { startLogServer, type LogServer } from '../../src/node-agent/log-server.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-exec-'));
let server: LogServer;

beforeAll(async () => {
  server = await startLogServer({
    dataDir: dir,
    token: 'secret',
    indexEveryMs: 0,
    exec: (ns, pod, container) => (ns === 'default' && pod === 'web' && container === 'app' ? ok({ env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', GREETING: 'hello from the pod' }, cwd: dir }) : err(`pod ${ns}/${pod} is not running on this node`)),
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Session {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: Record<string, unknown>;
}

/** session runs one exec to its end, sending `input` on stdin (then closing it) when given. */
function session(command: readonly string[], input?: string, token = 'secret'): Promise<Session> {
  const q = new URLSearchParams();
  for (const c of command) q.append('command', c);
  q.set('stdout', 'true');
  q.set('stderr', 'true');
  if (input !== undefined) q.set('stdin', 'true');
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/exec/default/web/app?${q.toString()}`, ['v5.channel.k8s.io'], { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let status: Record<string, unknown> = {};
    ws.on('open', () => {
      expect(ws.protocol).toBe('v5.channel.k8s.io');
      if (input === undefined) return;
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(input)]));
      ws.send(Buffer.from([255, 0]));
    });
    ws.on('message', (data: Buffer) => {
      const body = data.subarray(1).toString('utf8');
      if (data[0] === 1) stdout += body;
      else if (data[0] === 2) stderr += body;
      else if (data[0] === 3) status = JSON.parse(body) as Record<string, unknown>;
    });
    ws.on('close', () => resolve({ stdout, stderr, status }));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => reject(new Error(`${res.statusCode}: ${text.trim()}`)));
    });
    ws.on('error', reject);
  });
}

describe('exec server', () => {
  it('runs the command with the container\'s environment and sends its output and success', async () => {
    const s = await session(['sh', '-c', 'echo "$GREETING"; pwd; echo oops >&2']);
    expect(s).toEqual({ stdout: `hello from the pod\n${dir}\n`, stderr: 'oops\n', status: { metadata: {}, status: 'Success' } });
  });

  it('reports a non-zero exit code the way kubectl reads it', async () => {
    const s = await session(['sh', '-c', 'exit 3']);
    expect(s.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('feeds stdin until the close message, then the command sees end of file', async () => {
    const s = await session(['sh', '-c', 'tr a-z A-Z; echo done'], 'piped in\n');
    expect(s.stdout).toBe('PIPED IN\ndone\n');
    expect(s.status['status']).toBe('Success');
  });

  it('says so when the command cannot be started', async () => {
    const s = await session(['no-such-command-here']);
    expect(s.status).toMatchObject({ status: 'Failure' });
    expect(String(s.status['message'])).toContain('no-such-command-here');
  });

  it('refuses a bad token, a missing command and an unknown pod before upgrading', async () => {
    await expect(session(['true'], undefined, 'wrong')).rejects.toThrow(/^401: Unauthorized/);
    await expect(session([])).rejects.toThrow('400: you must specify at least 1 command');
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/exec/default/other/app?command=true&stdout=1`, ['v5.channel.k8s.io'], { headers: { authorization: 'Bearer secret' } });
    const code = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(code).toBe(404);
  });
});
