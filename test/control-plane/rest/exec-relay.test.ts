/**
 * The exec relay hands the node's messages to the client only after the client has answered a
 * ping: kubectl up to 1.32 drops messages that reach it before it has created its streams, so
 * a quick command's output and exit Status were sometimes lost. A client that never answers
 * still gets everything after the grace period.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { HeldSocket } from '../../../src/control-plane/apiserver/pod-exec.js';
import { ExecSockets } from '../../../src/control-plane/apiserver/rest/exec.js';

const PROTOCOL = 'v5.channel.k8s.io';
const OUTPUT = ['\x01hello\n', '\x03{"status":"Success"}'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function port(s: Server | WebSocketServer): number {
  return (s.address() as AddressInfo).port;
}

/** relay starts a node that runs a quick command (output, Status, close) and an apiserver face that relays to it. */
async function relay(readyPingMs: number): Promise<{ readonly url: string; readonly nodeClosed: Promise<void> }> {
  let nodeClosed!: Promise<void>;
  const node = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => PROTOCOL });
  await once(node, 'listening');
  node.on('connection', (ws) => {
    for (const m of OUTPUT) ws.send(Buffer.from(m));
    ws.close(1000);
  });
  const exec = new ExecSockets({ readyPingMs });
  const face = createServer();
  face.on('upgrade', (req, socket, head) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port(node)}/`, [PROTOCOL]);
    nodeClosed = once(ws, 'close').then(() => undefined);
    ws.once('open', () => exec.accept(req, socket, head, new HeldSocket(ws)));
  });
  face.listen(0, '127.0.0.1');
  await once(face, 'listening');
  cleanups.push(async () => {
    exec.closeAll();
    face.close();
    await new Promise<void>((resolve) => node.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${port(face)}/`, get nodeClosed() { return nodeClosed; } };
}

/** received collects the client's messages as text and resolves with them on close. */
function received(client: WebSocket): { readonly got: string[]; readonly closed: Promise<string[]> } {
  const got: string[] = [];
  client.on('message', (data: Buffer) => got.push(data.toString()));
  return { got, closed: once(client, 'close').then(() => got) };
}

describe('exec relay', () => {
  it('holds the node\'s messages until the client has answered a ping, then hands on all of them and the close', async () => {
    const r = await relay(60_000);
    const client = new WebSocket(r.url, [PROTOCOL], { autoPong: false });
    const { got, closed } = received(client);
    const first = await Promise.race([once(client, 'ping').then(() => 'ping'), closed.then(() => 'close')]);
    expect(first).toBe('ping');
    // The command is over and everything is at the apiserver face; a ping round trip of the
    // client's own proves that nothing the face had sent before it is still on its way.
    await r.nodeClosed;
    client.ping();
    await once(client, 'pong');
    expect(got).toEqual([]);
    client.pong();
    expect(await closed).toEqual(OUTPUT);
  });

  it('hands the messages on after the grace period to a client that never answers pings', async () => {
    const r = await relay(50);
    const client = new WebSocket(r.url, [PROTOCOL], { autoPong: false });
    const { closed } = received(client);
    expect(await closed).toEqual(OUTPUT);
  });

  it('relays at once to a client that answers, as kubectl does', async () => {
    const r = await relay(60_000);
    const client = new WebSocket(r.url, [PROTOCOL]);
    const { closed } = received(client);
    expect(await closed).toEqual(OUTPUT);
  });
});

describe('exec upgrade refusals', () => {
  it('answers a SPDY upgrade with a Status that says where to look, since kubectl shows it instead of the first reason', async () => {
    const { startRig, TOKEN } = await import('./harness.js');
    const { request } = await import('node:http');
    const rig = await startRig();
    cleanups.push(() => rig.close());
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(`${rig.url}/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true`, { headers: { authorization: `Bearer ${TOKEN}`, connection: 'Upgrade', upgrade: 'SPDY/3.1' } });
      req.on('response', resolve);
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const status = JSON.parse(Buffer.concat(chunks).toString()) as { kind: string; code: number; reason: string; message: string };
    expect(res.statusCode).toBe(400);
    expect(status).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(status.message).toContain('not SPDY/3.1');
    expect(status.message).toContain('kubectl get pod web -n default');
  });
});
