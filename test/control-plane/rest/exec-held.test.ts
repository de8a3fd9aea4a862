/**
 * The node side of an exec is held from the moment it opens: a command that finishes at once
 * sends its output, its exit Status and the close before the relay listens, and none of it may
 * be lost (kubectl would print nothing and exit 0). `release` replays it in order, then passes
 * on what comes later.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { HeldSocket } from '../../../src/control-plane/apiserver/pod-exec.js';

const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function url(): string {
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** open connects and holds the socket from its 'open' event on, as podExecProxy does. */
function open(): Promise<{ readonly ws: WebSocket; readonly held: HeldSocket }> {
  const ws = new WebSocket(url());
  return new Promise((resolve) => ws.once('open', () => resolve({ ws, held: new HeldSocket(ws) })));
}

describe('HeldSocket', () => {
  it('keeps what a node sends before the relay listens, and its close, and replays them in order', async () => {
    server.once('connection', (ws) => {
      ws.send(Buffer.from('\x01hello\n'));
      ws.send(Buffer.from('\x03{"status":"Success"}'));
      ws.close(1000);
    });
    const { ws, held } = await open();
    // Everything, close included, has arrived before anyone asks for it.
    if (ws.readyState !== ws.CLOSED) await once(ws, 'close');
    const got: string[] = [];
    let closedAfter = -1;
    held.release((data) => got.push(Buffer.from(data as Buffer).toString()), () => (closedAfter = got.length));
    expect(got).toEqual(['\x01hello\n', '\x03{"status":"Success"}']);
    expect(closedAfter).toBe(2);
  });

  it('passes on messages that come after the release, then the close', async () => {
    const connected = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const { held } = await open();
    const peer = await connected;
    const got: string[] = [];
    const closed = new Promise<void>((resolve) => held.release((data) => got.push(Buffer.from(data as Buffer).toString()), resolve));
    peer.send('late');
    peer.close(1000);
    await closed;
    expect(got).toEqual(['late']);
  });
});
