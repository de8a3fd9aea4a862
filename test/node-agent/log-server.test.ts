/**
 * The node agent's log endpoint over loopback HTTP: the token, the current and previous run,
 * tailLines, limitBytes, and follow picking up what a running container writes.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLogServer, type LogServer } from '../../src/node-agent/log-server.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-logs-'));
const logDir = join(dir, 'pods', 'default_web_uid-1', 'app');
let server: LogServer;

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, '0.log'), 'first run\ncrashed\n');
  writeFileSync(join(logDir, '1.log'), 'a\nb\nc\nd\n');
  server = await startLogServer({ dataDir: dir, token: 'secret', followPollMs: 20 });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, token = 'secret'): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, text: await r.text() };
}

describe('log server', () => {
  it('refuses a request without the token', async () => {
    expect((await get('/containerLogs/default/web/app', 'wrong')).status).toBe(401);
  });

  it('serves the current run, the previous one, a tail and a byte limit', async () => {
    expect(await get('/containerLogs/default/web/app')).toEqual({ status: 200, text: 'a\nb\nc\nd\n' });
    expect(await get('/containerLogs/default/web/app?previous=true')).toEqual({ status: 200, text: 'first run\ncrashed\n' });
    expect(await get('/containerLogs/default/web/app?tailLines=2')).toEqual({ status: 200, text: 'c\nd\n' });
    expect(await get('/containerLogs/default/web/app?tailLines=0')).toEqual({ status: 200, text: '' });
    expect(await get('/containerLogs/default/web/app?limitBytes=3')).toEqual({ status: 200, text: 'a\nb' });
    expect((await get('/containerLogs/default/web/other')).status).toBe(400);
    expect((await get('/containerLogs/default/nope/app')).status).toBe(404);
  });

  it('follows a growing log until the client leaves', async () => {
    let text = '';
    const req = request({ host: '127.0.0.1', port: server.port, path: '/containerLogs/default/web/app?follow=true&tailLines=1', headers: { authorization: 'Bearer secret' } });
    const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
    req.on('error', () => undefined);
    req.on('response', (res) => res.on('data', (c: Buffer) => (text += c.toString('utf8'))));
    req.end();
    const until = async (want: string): Promise<void> => {
      for (let i = 0; i < 250 && !text.includes(want); i++) await new Promise((r) => setTimeout(r, 20));
      expect(text).toContain(want);
    };
    await until('d\n');
    appendFileSync(join(logDir, '1.log'), 'e\n');
    await until('e\n');
    expect(text).toBe('d\ne\n');
    req.destroy();
    await closed;
  });
});
