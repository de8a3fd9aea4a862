/**
 * The user-space service proxy over the in-process registry: a ClusterIP Service answers on its
 * ClusterIP, round-robin over its ready endpoints; an endpoint that turns not-ready gets no more
 * connections; a deleted Service stops listening. Every wait is a bounded poll.
 */
import { request } from 'node:http';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/control-plane/api/types.js';
import { ENDPOINTS, SERVICES, ServiceProxy } from '../../src/node-agent/service-proxy.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function get(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function serve(host: string, port: number, answer: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((_q, res) => res.end(answer));
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

const servers: Server[] = [];
let proxy: ServiceProxy | null = null;

afterEach(async () => {
  proxy?.stop();
  proxy = null;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('ServiceProxy', () => {
  it('forwards a ClusterIP round-robin to ready endpoints, drops a not-ready one, and stops with the Service', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const a = await serve('127.200.0.10', 0, 'a');
    const port = (a.address() as { port: number }).port;
    servers.push(a, await serve('127.200.0.11', port, 'b'));

    const svc = await client.create<KubeObject>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 18080, targetPort: port }] } });
    if (!svc.ok) throw new Error(svc.error.message);
    const ip = (svc.value['spec'] as { clusterIP: string }).clusterIP;
    expect(ip).toMatch(/^127\./);
    const subsets = (ready: string[], notReady: string[]): unknown => [{ addresses: ready.map((x) => ({ ip: x })), notReadyAddresses: notReady.map((x) => ({ ip: x })), ports: [{ name: 'http', port, protocol: 'TCP' }] }];
    const ep = await client.create<KubeObject>(ENDPOINTS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: subsets(['127.200.0.10', '127.200.0.11'], []) });
    if (!ep.ok) throw new Error(ep.error.message);

    proxy = new ServiceProxy({ client });
    proxy.start();
    await until('the listener', async () => (proxy?.serving().includes(`${ip}:18080`) === true ? true : undefined));
    const answers = [await get(ip, 18080), await get(ip, 18080), await get(ip, 18080), await get(ip, 18080)];
    expect(answers.sort()).toEqual(['a', 'a', 'b', 'b']);

    expect((await client.update<KubeObject>(ENDPOINTS, { ...ep.value, subsets: subsets(['127.200.0.10'], ['127.200.0.11']) })).ok).toBe(true);
    await until('only a', async () => {
      const got = [await get(ip, 18080), await get(ip, 18080)];
      return got.every((x) => x === 'a') ? true : undefined;
    });

    expect((await client.delete(SERVICES, { namespace: 'default', name: 'web' })).ok).toBe(true);
    await until('the listener closed', async () => ((await get(ip, 18080)) === null && proxy?.serving().includes(`${ip}:18080`) === false ? true : undefined));
  });

  it('passes over an endpoint that refuses connections, and a standby proxy takes the address over when the serving one stops', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const a = await serve('127.200.0.20', 0, 'a');
    servers.push(a);
    const port = (a.address() as { port: number }).port;
    const svc = await client.create<KubeObject>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 18081, targetPort: port }] } });
    if (!svc.ok) throw new Error(svc.error.message);
    const ip = (svc.value['spec'] as { clusterIP: string }).clusterIP;
    // 127.200.0.21 is listed ready but nothing listens there (its process died, the Endpoints do not know yet).
    const ep = await client.create<KubeObject>(ENDPOINTS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '127.200.0.20' }, { ip: '127.200.0.21' }], ports: [{ port, protocol: 'TCP' }] }] });
    if (!ep.ok) throw new Error(ep.error.message);

    proxy = new ServiceProxy({ client });
    proxy.start();
    const standby = new ServiceProxy({ client, retryMs: 50 });
    standby.start();
    try {
      await until('the listener', async () => (proxy?.serving().includes(`${ip}:18081`) === true ? true : undefined));
      expect(standby.serving()).toEqual([]);
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await get(ip, 18081));
      expect(answers).toEqual(['a', 'a', 'a', 'a', 'a', 'a']);

      proxy.stop();
      proxy = null;
      await until('the standby to serve', async () => (standby.serving().includes(`${ip}:18081`) ? true : undefined));
      expect(await get(ip, 18081)).toBe('a');
    } finally {
      standby.stop();
    }
  });
});
