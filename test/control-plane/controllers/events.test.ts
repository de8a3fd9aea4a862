/**
 * The event recorder writes core/v1 Events and aggregates repeats into one Event whose count and
 * lastTimestamp move.
 */
import { describe, expect, it } from 'vitest';
import type { EventObject } from '../../../src/control-plane/controllers/events.js';
import { EventRecorder } from '../../../src/control-plane/controllers/events.js';
import { EVENTS } from '../../../src/control-plane/controllers/objects.js';
import { newRegistry } from '../client/harness.js';
import { RegistryClient } from '../client/registry-client.js';

const RS = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', namespace: 'default', uid: 'u-1' } };

describe('EventRecorder', () => {
  it('writes an Event with reason, message, type, source and involvedObject', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const rec = new EventRecorder({ client, component: 'replicaset-controller', now: () => new Date('2026-01-02T03:04:05.678Z') });
    await rec.event(RS, 'Normal', 'SuccessfulCreate', 'Created pod: web-1-abcde');
    expect(client.writes()).toEqual([expect.stringMatching(/^create events default\//)]);
    const list = await client.list<EventObject>(EVENTS, { namespace: 'default' });
    expect(list.ok).toBe(true);
    if (!list.ok) return;
    expect(list.value.items).toHaveLength(1);
    const ev = list.value.items[0]!;
    expect(ev).toMatchObject({
      involvedObject: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', namespace: 'default', uid: 'u-1' },
      reason: 'SuccessfulCreate',
      message: 'Created pod: web-1-abcde',
      type: 'Normal',
      source: { component: 'replicaset-controller' },
      reportingComponent: 'replicaset-controller',
      firstTimestamp: '2026-01-02T03:04:05Z',
      lastTimestamp: '2026-01-02T03:04:05Z',
      count: 1,
    });
    expect(ev.metadata.name?.startsWith('web-1.')).toBe(true);
  });

  it('aggregates a repeat: one Event, count 2, lastTimestamp moved; a different message is a new Event', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    let t = Date.parse('2026-01-02T03:04:05Z');
    const rec = new EventRecorder({ client, component: 'deployment-controller', now: () => new Date(t) });
    await rec.event(RS, 'Warning', 'FailedCreate', 'quota');
    t += 7000;
    await rec.event(RS, 'Warning', 'FailedCreate', 'quota');
    await rec.event(RS, 'Warning', 'FailedCreate', 'other');
    expect(client.writes().map((w) => w.split(' ')[0])).toEqual(['create', 'patch', 'create']);
    const list = await client.list<EventObject>(EVENTS, { namespace: 'default' });
    if (!list.ok) throw new Error(list.error.message);
    const quota = list.value.items.find((e) => e.message === 'quota');
    expect(quota).toMatchObject({ count: 2, firstTimestamp: '2026-01-02T03:04:05Z', lastTimestamp: '2026-01-02T03:04:12Z' });
    expect(list.value.items.find((e) => e.message === 'other')?.count).toBe(1);
  });

  it('starts a new Event when the aggregated one was deleted', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const rec = new EventRecorder({ client, component: 'gc' });
    await rec.event(RS, 'Normal', 'X', 'y');
    const list = await client.list<EventObject>(EVENTS, { namespace: 'default' });
    if (!list.ok) throw new Error(list.error.message);
    await client.delete(EVENTS, { namespace: 'default', name: list.value.items[0]!.metadata.name ?? '' });
    await rec.event(RS, 'Normal', 'X', 'y');
    const after = await client.list<EventObject>(EVENTS, { namespace: 'default' });
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.items.map((e) => e.count)).toEqual([1]);
  });
});
