/**
 * fixture: the setup every controller test shares — a registry over the in-memory storage, a
 * recording client over it, shared informers on a virtual clock, and a recording event sink.
 * `settle()` lets the informers catch up with writes; `clear()` forgets the recorded calls so a
 * test asserts only what its reconcile wrote.
 */
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import { SharedInformers } from '../../../src/control-plane/client/shared-informers.js';
import type { ControllerContext } from '../../../src/control-plane/controllers/controller.js';
import { RecordingSink } from '../../../src/control-plane/controllers/events.js';
import { PODS } from '../../../src/control-plane/controllers/objects.js';
import type { ResourceDescriptor } from '../../../src/control-plane/client/api-client.js';
import { newRegistry } from '../client/harness.js';
import { RegistryClient } from '../client/registry-client.js';

/** Fixture is a controller test's world. */
export interface Fixture {
  readonly client: RegistryClient;
  readonly informers: SharedInformers;
  readonly clock: VirtualClock;
  readonly events: RecordingSink;
  readonly ctx: ControllerContext;
  /** now is the wall clock the controllers see; tests move it. */
  wall: number;
  /** stale stops watch events from reaching the informers (true), or relists them (false). */
  stale(on: boolean): Promise<void>;
  /** settle lets informers deliver what was written. */
  settle(): Promise<void>;
  /** clear forgets the recorded calls and events. */
  clear(): void;
  /** create writes an object and fails the test if it cannot. */
  create<T extends KubeObject>(res: ResourceDescriptor, obj: T): Promise<T>;
  /** get reads an object, or null when it is gone. */
  get<T extends KubeObject>(res: ResourceDescriptor, namespace: string | undefined, name: string): Promise<T | null>;
  /** list reads a namespace's objects of a resource. */
  list<T extends KubeObject>(res: ResourceDescriptor, namespace?: string): Promise<T[]>;
  close(): void;
}

/** newFixture starts the world; call `start()` on the result's informers after building controllers. */
export async function newFixture(): Promise<Fixture> {
  const { registry, expiring } = await newRegistry();
  const client = new RegistryClient(registry);
  const clock = new VirtualClock();
  const informers = new SharedInformers({ client, clock });
  const events = new RecordingSink();
  const f: Fixture = {
    client,
    informers,
    clock,
    events,
    wall: Date.parse('2026-03-01T10:00:00Z'),
    ctx: {
      client,
      informers,
      events: () => events,
      clock,
      now: () => new Date(f.wall),
    },
    stale: async (on) => {
      expiring.muted = on;
      if (!on) {
        // The muted events are lost: expire the watches so the informers list afresh.
        const list = await client.list(PODS, {});
        if (list.ok) expiring.expireAll(Number(list.value.metadata.resourceVersion) - 1);
        await f.settle();
        await clock.advance(1000);
        await f.settle();
      }
    },
    settle: async () => {
      await clock.advance(0);
      for (let i = 0; i < 5; i++) await flushAsync();
    },
    clear: () => {
      client.calls.length = 0;
      events.events.length = 0;
    },
    create: async <T extends KubeObject>(res: ResourceDescriptor, obj: T): Promise<T> => {
      const r = await client.create<T>(res, obj);
      if (!r.ok) throw new Error(`create ${obj.metadata.name ?? ''}: ${r.error.message}`);
      return r.value;
    },
    get: async <T extends KubeObject>(res: ResourceDescriptor, namespace: string | undefined, name: string): Promise<T | null> => {
      const r = await client.get<T>(res, { ...(namespace === undefined ? {} : { namespace }), name });
      if (r.ok) return r.value;
      if (r.error.code === 404) return null;
      throw new Error(r.error.message);
    },
    list: async <T extends KubeObject>(res: ResourceDescriptor, namespace?: string): Promise<T[]> => {
      const r = await client.list<T>(res, namespace === undefined ? {} : { namespace });
      if (!r.ok) throw new Error(r.error.message);
      return [...r.value.items];
    },
    close: () => informers.stop(),
  };
  return f;
}
