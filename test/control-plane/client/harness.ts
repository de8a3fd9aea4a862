/**
 * harness: real in-process apiservers for the client tests — one registry over the in-memory
 * storage, served by one or more gRPC faces on 127.0.0.1 (port 0), so a test can kill one
 * "apiserver" and watch the client move to another. The watch cache is wrapped so a test can
 * expire every open watch (410, as after a compaction) and refuse resumes from before it.
 */
import type * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';
import type { ResourceInfo } from '../../../src/control-plane/api/types.js';
import { ok } from '../../../src/control-plane/api/types.js';
import { GrpcFace, serveGrpc } from '../../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../../src/control-plane/apiserver/registry/bootstrap.js';
import type { Authorizer, SchemaFunctions } from '../../../src/control-plane/apiserver/registry/ports.js';
import { ApiRegistry } from '../../../src/control-plane/apiserver/registry/registry.js';
import type { CacheEvent, PortError, StoragePort, WatchCachePort } from '../../../src/control-plane/apiserver/registry/storage-port.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';
import { productionSchema } from '../../../src/control-plane/apiserver/schema-functions.js';
import { memoryStorage } from '../registry/memory-storage.js';

/** TOKEN is the bearer token the test apiservers accept. */
export const TOKEN = 'client-test-token';

const ADMIN: UserInfo = { username: 'admin', uid: 'admin', groups: ['system:masters'] };

const schema: SchemaFunctions = { ...productionSchema(), validate: () => [] };

const allowAll: Authorizer = {
  authorize: () => ({ allowed: true }),
  review: () => ({ ok: false, error: 'not in these tests' }),
};

interface OpenWatch {
  readonly closed: (e: PortError | null) => void;
  dispose(): void;
}

/** Expiring wraps a storage port so tests can end every watch with 410 and refuse old resumes. */
class Expiring {
  readonly open = new Set<OpenWatch>();
  /** compacted: watches from a revision at or below this get 410. */
  compacted = 0;
  /** muted: events are swallowed (the watch cache "fell behind"). */
  muted = false;
  /** watchStarts counts watches the caches opened. */
  watchStarts = 0;

  wrap(inner: StoragePort): StoragePort {
    const caches = new Map<string, WatchCachePort>();
    return {
      store: inner.store,
      cacheFor: (res: ResourceInfo): WatchCachePort => {
        const k = `${res.group}/${res.plural}`;
        let c = caches.get(k);
        if (c === undefined) {
          c = this.#cache(inner.cacheFor(res));
          caches.set(k, c);
        }
        return c;
      },
    };
  }

  #cache(inner: WatchCachePort): WatchCachePort {
    return {
      list: (o) => inner.list(o),
      watch: (o, sink) => {
        this.watchStarts++;
        if (o.fromRevision !== 0 && o.fromRevision <= this.compacted) return { ok: false, error: { kind: 'gone', message: `too old resource version: ${o.fromRevision} (${this.compacted + 1})` } };
        let done = false;
        const w = inner.watch(o, {
          event: (ev: CacheEvent) => {
            if (!done && !this.muted) sink.event(ev);
          },
          closed: (e) => sink.closed(e),
        });
        if (!w.ok) return w;
        const entry: OpenWatch = {
          closed: (e) => {
            if (done) return;
            done = true;
            w.value.dispose();
            this.open.delete(entry);
            sink.closed(e);
          },
          dispose: () => {
            done = true;
            w.value.dispose();
            this.open.delete(entry);
          },
        };
        this.open.add(entry);
        return ok({ dispose: () => entry.dispose() });
      },
    };
  }

  /** expireAll compacts up to `revision` and ends every open watch with 410. */
  expireAll(revision: number): void {
    this.compacted = revision;
    for (const w of [...this.open]) w.closed({ kind: 'gone', message: 'The watch history was compacted; list again' });
  }
}

/** Cluster is a registry with gRPC servers in front of it. */
export interface Cluster {
  readonly registry: ApiRegistry;
  readonly storage: ReturnType<typeof memoryStorage>;
  readonly expiring: Expiring;
  readonly servers: { readonly server: grpc.Server; readonly endpoint: string }[];
  /** kill force-shuts one server (its open streams break). */
  kill(i: number): void;
  /** close force-shuts every server. */
  close(): void;
}

/** DEAD_ENDPOINT is an address nothing listens on (connections are refused). */
export const DEAD_ENDPOINT = '127.0.0.1:1';

/** newRegistry bootstraps a registry over the in-memory storage, with an expirable watch cache. */
export async function newRegistry(): Promise<{ registry: ApiRegistry; storage: ReturnType<typeof memoryStorage>; expiring: Expiring }> {
  const storage = memoryStorage();
  const expiring = new Expiring();
  const registry = new ApiRegistry({ storage: expiring.wrap(storage), schema, authorizer: allowAll, resources: RESOURCES, clock: { now: () => new Date() } });
  const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  expect(b).toEqual({ ok: true, value: undefined });
  return { registry, storage, expiring };
}

/** startCluster bootstraps a registry and serves it from `n` gRPC servers on 127.0.0.1 (over TLS with `tls`). */
export async function startCluster(n = 1, o: { readonly tls?: { readonly certPem: string; readonly keyPem: string } } = {}): Promise<Cluster> {
  const { registry, storage, expiring } = await newRegistry();
  const face = new GrpcFace({
    registry,
    authenticate: (h) => (h === undefined ? 'anonymous' : h === `Bearer ${TOKEN}` ? ADMIN : 'invalid'),
  });
  const servers: { server: grpc.Server; endpoint: string }[] = [];
  for (let i = 0; i < n; i++) {
    const s = await serveGrpc(face, { host: '127.0.0.1', port: 0, ...(o.tls === undefined ? {} : { tls: o.tls }) });
    servers.push({ server: s.server, endpoint: `127.0.0.1:${s.port}` });
  }
  const killed = new Set<number>();
  const kill = (i: number): void => {
    if (killed.has(i)) return;
    killed.add(i);
    servers[i]?.server.forceShutdown();
  };
  return {
    registry,
    storage,
    expiring,
    servers,
    kill,
    close: () => {
      for (let i = 0; i < servers.length; i++) kill(i);
    },
  };
}
