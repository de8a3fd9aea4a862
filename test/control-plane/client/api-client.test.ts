/**
 * ApiClient against real in-process gRPC apiservers: every verb, the subresource helpers,
 * errors rebuilt from the Status trailer, bearer tokens, failover past a dead endpoint, 503
 * when every endpoint is down, and watch (events, 410 at start and mid-stream, failover).
 */
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findResource } from '../../../src/control-plane/api/resources.js';
import { createCA, issueServingCert } from '../../../src/control-plane/auth/pki.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import type { ApiError } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ClientWatchEvent } from '../../../src/control-plane/client/api-client.js';
import * as grpc from '@grpc/grpc-js';
import { apiServerService } from '../../../src/control-plane/apiserver/grpc/proto.js';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import type { Cluster } from './harness.js';
import { DEAD_ENDPOINT, startCluster, TOKEN } from './harness.js';

function res(group: string, plural: string): ResourceInfo {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`no ${plural}`);
  return r;
}

const PODS = res('', 'pods');
const CONFIGMAPS = res('', 'configmaps');
const NODES = res('', 'nodes');
const DEPLOYMENTS = res('apps', 'deployments');

function configMap(name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: ApiError }): T {
  if (!r.ok) throw new Error(`unexpected failure: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** Recorder collects watch events and resolves `until` waiters as events arrive. */
class Recorder {
  readonly events: string[] = [];
  ended: ApiError | null | undefined = undefined;
  readonly #waiters: Array<{ check: () => boolean; resolve: () => void }> = [];

  readonly handlers = {
    event: (ev: ClientWatchEvent<KubeObject>) => {
      this.events.push(`${ev.type} ${ev.object.metadata.name ?? ''}`);
      this.#poke();
    },
    end: (why: ApiError | null) => {
      this.ended = why;
      this.#poke();
    },
  };

  #poke(): void {
    for (const w of [...this.#waiters]) {
      if (w.check()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ check, resolve }));
  }
}

let cluster: Cluster | undefined;
const clients: ApiClient[] = [];

function client(endpoints: readonly string[], token: string | null = TOKEN): ApiClient {
  const c = new ApiClient({ endpoints, deadlineMs: 5000, ...(token === null ? {} : { token }) });
  clients.push(c);
  return c;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  cluster?.close();
  cluster = undefined;
});

describe('ApiClient', () => {
  it('creates, gets, lists, updates, patches and deletes through a dead endpoint first', async () => {
    cluster = await startCluster();
    const ep = cluster.servers[0]!.endpoint;
    const c = client([DEAD_ENDPOINT, ep]);
    const a = must(await c.create(CONFIGMAPS, configMap('a', { k: '1' })));
    expect(c.endpoint).toBe(ep);
    expect(a.metadata.uid).toBeTruthy();
    const got = must(await c.get(CONFIGMAPS, { namespace: 'default', name: 'a' }));
    expect(got['data']).toEqual({ k: '1' });
    must(await c.create(CONFIGMAPS, configMap('b')));
    const list = must(await c.list(CONFIGMAPS, { namespace: 'default' }));
    expect(list.items.map((i) => i.metadata.name).filter((n) => n === 'a' || n === 'b')).toEqual(['a', 'b']);
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
    const page = must(await c.list(CONFIGMAPS, { namespace: 'default', limit: 1 }));
    expect(page.items).toHaveLength(1);
    expect(page.metadata.continue).toBeTruthy();
    const updated = must(await c.update(CONFIGMAPS, { ...got, data: { k: '2' } }));
    expect(updated['data']).toEqual({ k: '2' });
    const patched = must(await c.patch(CONFIGMAPS, { namespace: 'default', name: 'a' }, { type: 'merge', patch: { data: { j: '3' } } }));
    expect(patched['data']).toEqual({ k: '2', j: '3' });
    const del = must(await c.delete(CONFIGMAPS, { namespace: 'default', name: 'a' }));
    expect(del.gone).toBe(true);
    expect(del.object.metadata.name).toBe('a');
    const gone = await c.get(CONFIGMAPS, { namespace: 'default', name: 'a' });
    expect(gone.ok ? null : { code: gone.error.code, reason: gone.error.reason }).toEqual({ code: 404, reason: 'NotFound' });
    const removed = must(await c.deleteCollection(CONFIGMAPS, { namespace: 'default' }));
    expect(removed.items.map((i) => i.metadata.name)).toContain('b');
  });

  it('returns conflicts, duplicates and bad tokens as ApiError values rebuilt from the Status trailer', async () => {
    cluster = await startCluster();
    const ep = cluster.servers[0]!.endpoint;
    const c = client([ep]);
    const a = must(await c.create(CONFIGMAPS, configMap('a')));
    const dup = await c.create(CONFIGMAPS, configMap('a'));
    expect(dup.ok ? null : { code: dup.error.code, reason: dup.error.reason }).toEqual({ code: 409, reason: 'AlreadyExists' });
    must(await c.update(CONFIGMAPS, { ...a, data: { x: 'y' } }));
    const stale = await c.update(CONFIGMAPS, { ...a, data: { x: 'z' } });
    expect(stale.ok ? null : { code: stale.error.code, reason: stale.error.reason }).toEqual({ code: 409, reason: 'Conflict' });
    const bad = await client([ep], 'wrong').get(CONFIGMAPS, { namespace: 'default', name: 'a' });
    expect(bad.ok ? null : { code: bad.error.code, reason: bad.error.reason }).toEqual({ code: 401, reason: 'Unauthorized' });
    const none = await client([ep], null).get(CONFIGMAPS, { namespace: 'default', name: 'a' });
    expect(none.ok ? null : none.error.code).toBe(401);
  });

  it('answers 503 ServiceUnavailable, naming the endpoints, when no apiserver is reachable', async () => {
    const c = client([DEAD_ENDPOINT, '127.0.0.1:2']);
    const r = await c.get(CONFIGMAPS, { namespace: 'default', name: 'a' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(503);
    expect(r.error.reason).toBe('ServiceUnavailable');
    expect(r.error.message).toMatch(/^No apiserver answered \(127\.0\.0\.1:1: .*127\.0\.0\.1:2: /);
    const rec = new Recorder();
    c.watch(CONFIGMAPS, { namespace: 'default' }, rec.handlers);
    await rec.until(() => rec.ended !== undefined);
    expect(rec.ended?.code).toBe(503);
  });

  it('binds pods, updates status and reads and writes the scale subresource', async () => {
    cluster = await startCluster();
    const c = client([cluster.servers[0]!.endpoint]);
    must(await c.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
    const p = must(await c.create(PODS, pod('p')));
    must(await c.bind({ namespace: 'default', name: 'p' }, 'n1'));
    const bound = must(await c.get(PODS, { namespace: 'default', name: 'p' }));
    expect((bound['spec'] as { nodeName?: string }).nodeName).toBe('n1');
    const again = await c.bind({ namespace: 'default', name: 'p' }, 'n2');
    expect(again.ok ? null : again.error.code).toBe(409);
    const withStatus = must(await c.updateStatus(PODS, { ...bound, status: { phase: 'Running' } }));
    expect((withStatus['status'] as { phase?: string }).phase).toBe('Running');
    expect(p.metadata.uid).toBe(withStatus.metadata.uid);
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    must(await c.create(DEPLOYMENTS, d));
    const scale = must(await c.getScale(DEPLOYMENTS, { namespace: 'default', name: 'web' }));
    expect(scale.kind).toBe('Scale');
    expect(scale.spec?.replicas).toBe(2);
    const scaled = must(await c.updateScale(DEPLOYMENTS, { ...scale, spec: { replicas: 5 } }));
    expect(scaled.spec?.replicas).toBe(5);
    const dep = must(await c.get(DEPLOYMENTS, { namespace: 'default', name: 'web' }));
    expect((dep['spec'] as { replicas?: number }).replicas).toBe(5);
  });

  it('watches from a resourceVersion, ends with 410 when that history is gone, and mid-stream on expiry', async () => {
    cluster = await startCluster();
    const c = client([DEAD_ENDPOINT, cluster.servers[0]!.endpoint]);
    const a = must(await c.create(CONFIGMAPS, configMap('a')));
    const rec = new Recorder();
    const w = c.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: a.metadata.resourceVersion! }, rec.handlers);
    must(await c.create(CONFIGMAPS, configMap('b')));
    must(await c.delete(CONFIGMAPS, { namespace: 'default', name: 'a' }));
    await rec.until(() => rec.events.length >= 2);
    expect(rec.events).toEqual(['ADDED b', 'DELETED a']);
    cluster.expiring.expireAll(cluster.storage.store.revision);
    await rec.until(() => rec.ended !== undefined);
    expect(rec.ended?.code).toBe(410);
    w.dispose();
    const old = new Recorder();
    c.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: a.metadata.resourceVersion! }, old.handlers);
    await old.until(() => old.ended !== undefined);
    expect(old.ended?.code).toBe(410);
    expect(old.events).toEqual([]);
  });

  it('a watch whose apiserver dies ends with an error; the next watch goes to another apiserver', async () => {
    cluster = await startCluster(2);
    const [s0, s1] = [cluster.servers[0]!.endpoint, cluster.servers[1]!.endpoint];
    const c = client([s0, s1]);
    const a = must(await c.create(CONFIGMAPS, configMap('a')));
    const rec = new Recorder();
    c.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: a.metadata.resourceVersion! }, rec.handlers);
    must(await c.create(CONFIGMAPS, configMap('b')));
    await rec.until(() => rec.events.length >= 1);
    cluster.kill(0);
    await rec.until(() => rec.ended !== undefined);
    expect(rec.ended).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    const next = new Recorder();
    const w = c.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: a.metadata.resourceVersion! }, next.handlers);
    await next.until(() => next.events.length >= 1);
    expect(next.events).toEqual(['ADDED b']);
    expect(c.endpoint).toBe(s1);
    w.dispose();
  });

  it('speaks TLS when given the CA, and refuses a server its CA did not sign', async () => {
    const ca = createCA('raftkube-test-ca');
    cluster = await startCluster(1, { tls: issueServingCert(ca, { commonName: 'apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
    const ep = cluster.servers[0]!.endpoint;
    const c = new ApiClient({ endpoints: [ep], token: TOKEN, caPem: ca.certPem });
    clients.push(c);
    must(await c.create(CONFIGMAPS, configMap('tls')));
    expect(must(await c.get(CONFIGMAPS, { namespace: 'default', name: 'tls' })).metadata.name).toBe('tls');
    const other = new ApiClient({ endpoints: [ep], token: TOKEN, caPem: createCA('another-ca').certPem });
    clients.push(other);
    const r = await other.get(CONFIGMAPS, { namespace: 'default', name: 'tls' });
    expect(r.ok ? null : r.error.code).toBe(503);
  });

  it('moves a read past an endpoint that accepts connections but never answers; a write there times out and the next call goes elsewhere', async () => {
    cluster = await startCluster();
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const addr = silent.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    try {
      const good = cluster.servers[0]!.endpoint;
      const c = new ApiClient({ endpoints: [`127.0.0.1:${addr.port}`, good], token: TOKEN, deadlineMs: 300 });
      clients.push(c);
      const r = await c.list(CONFIGMAPS, { namespace: 'default' });
      expect(r.ok).toBe(true);
      expect(c.endpoint).toBe(good);
      const w = new ApiClient({ endpoints: [`127.0.0.1:${addr.port}`, good], token: TOKEN, deadlineMs: 300 });
      clients.push(w);
      const created = await w.create(CONFIGMAPS, configMap('slow'));
      expect(created.ok ? null : { code: created.error.code, reason: created.error.reason }).toEqual({ code: 504, reason: 'Timeout' });
      expect(w.endpoint).toBe(good);
      must(await w.create(CONFIGMAPS, configMap('slow')));
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('does not repeat a write elsewhere when its apiserver died with the call in flight', async () => {
    const creates = [0, 0];
    const servers: grpc.Server[] = [];
    const endpoints: string[] = [];
    for (let i = 0; i < 2; i++) {
      const server = new grpc.Server();
      const obj = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } }));
      server.addService(apiServerService(), {
        Get: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { object: obj, warnings: [], created: false }),
        Create: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
          creates[i]!++;
          if (i === 0) server.forceShutdown(); // dies after receiving the write, before answering
          else cb(null, { object: obj, warnings: [], created: true });
        },
      });
      const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))));
      servers.push(server);
      endpoints.push(`127.0.0.1:${port}`);
    }
    try {
      const c = client(endpoints);
      must(await c.get(CONFIGMAPS, { namespace: 'default', name: 'x' }));
      const r = await c.create(CONFIGMAPS, { ...configMap(''), metadata: { generateName: 'x-', namespace: 'default' } });
      expect(r.ok ? null : { code: r.error.code, reason: r.error.reason }).toEqual({ code: 503, reason: 'ServiceUnavailable' });
      expect(r.ok ? '' : r.error.message).toMatch(/did not finish the call .*read the object again before retrying/);
      expect(creates).toEqual([1, 0]);
      // The next call goes to the other apiserver.
      must(await c.create(CONFIGMAPS, configMap('y')));
      expect(creates).toEqual([1, 1]);
    } finally {
      for (const s of servers) s.forceShutdown();
    }
  });
});
