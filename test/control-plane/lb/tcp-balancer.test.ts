/**
 * The apiservers' TCP load balancer on loopback: connections spread over the backends, a dead
 * backend is skipped, and it is used again once it listens anew.
 */
import { createServer, connect, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBackend, TcpBalancer } from '../../../src/control-plane/lb/tcp-balancer.js';

function echoServer(tag: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.on('data', (d) => s.write(`${tag}:${d.toString()}`)));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function ask(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('error', reject);
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('close', () => resolve(''));
    s.write(msg);
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

describe('TcpBalancer', () => {
  it('parses backends and refuses bad ones', () => {
    expect(parseBackend('https://127.0.0.1:6443')).toEqual({ host: '127.0.0.1', port: 6443 });
    expect(() => parseBackend('nohost')).toThrow(/host:port/);
  });

  it('spreads connections, skips a dead backend and returns to it when it is back', async () => {
    const a = await echoServer('a');
    const b = await echoServer('b');
    cleanups.push(() => closeServer(a.server));
    const events: string[] = [];
    const lb = new TcpBalancer({ backends: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }], probeIntervalMs: 50, onEvent: (e) => events.push(`${e.kind}:${e.backend.port}`) });
    const port = await lb.listen(0, '127.0.0.1');
    cleanups.push(() => lb.close());
    const first = [await ask(port, 'x'), await ask(port, 'x')].sort();
    expect(first).toEqual(['a:x', 'b:x']);
    await closeServer(b.server);
    const after = [await ask(port, 'y'), await ask(port, 'y'), await ask(port, 'y')];
    expect(after).toEqual(['a:y', 'a:y', 'a:y']);
    expect(events).toContain(`down:${b.port}`);
    const b2 = await echoServer('b', b.port);
    cleanups.push(() => closeServer(b2.server));
    // The probe finds it again; bounded poll for the condition.
    for (let i = 0; i < 100 && lb.healthy.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(lb.healthy.length).toBe(2);
    const back = [await ask(port, 'z'), await ask(port, 'z')].sort();
    expect(back).toEqual(['a:z', 'b:z']);
  });

  it('closes the client when no backend answers', async () => {
    const dead = await echoServer('d');
    await closeServer(dead.server);
    const lb = new TcpBalancer({ backends: [{ host: '127.0.0.1', port: dead.port }] });
    const port = await lb.listen(0, '127.0.0.1');
    cleanups.push(() => lb.close());
    expect(await ask(port, 'q')).toBe('');
  });
});
