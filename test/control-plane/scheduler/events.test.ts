/**
 * EventRecorder against a fake client whose writes the test completes by hand: one create per
 * distinct event, repeats folded into a count (even while the create is still in flight), a
 * failed create forgotten so the next repeat creates afresh, and drops beyond maxPending.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject, Result } from '../../../src/control-plane/api/types.js';
import { err, ok } from '../../../src/control-plane/api/types.js';
import type { ApiError } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ObjectKey, PatchBody, ResourceDescriptor } from '../../../src/control-plane/client/api-client.js';
import { flushAsync } from '../../../src/control-plane/client/clock.js';
import type { EventClient } from '../../../src/control-plane/scheduler/events.js';
import { EventRecorder } from '../../../src/control-plane/scheduler/events.js';
import { makePod } from './fixtures.js';

interface Pending {
  readonly call: string;
  readonly answer: (r: Result<unknown, ApiError>) => void;
}

/** HeldClient records each write and holds it until the test answers it. */
class HeldClient {
  readonly pending: Pending[] = [];
  readonly log: string[] = [];

  readonly client: EventClient = {
    create: <T>(_res: ResourceDescriptor, obj: T & KubeObject): Promise<Result<T, ApiError>> => {
      const call = `create ${obj.metadata.name ?? ''} count=${String(obj['count'])} ${String(obj['reason'])}`;
      this.log.push(call);
      return new Promise((resolve) => this.pending.push({ call, answer: (r) => resolve(r as Result<T, ApiError>) }));
    },
    patch: <T>(_res: ResourceDescriptor, key: ObjectKey, p: PatchBody): Promise<Result<T, ApiError>> => {
      const call = `patch ${key.name} ${JSON.stringify(p.patch)}`;
      this.log.push(call);
      return new Promise((resolve) => this.pending.push({ call, answer: (r) => resolve(r as Result<T, ApiError>) }));
    },
  };

  async answerAll(r: Result<unknown, ApiError> = ok({})): Promise<void> {
    while (this.pending.length > 0) {
      for (const p of this.pending.splice(0)) p.answer(r);
      await flushAsync();
    }
  }
}

const WALL = new Date('2026-11-30T10:00:00.123Z');
const pod = makePod('web-1');

describe('EventRecorder', () => {
  it('creates an event once and folds repeats into its count, even while the create is in flight', async () => {
    const held = new HeldClient();
    const rec = new EventRecorder({ client: held.client, wallClock: () => WALL });
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    expect(held.log).toHaveLength(1);
    expect(held.log[0]).toMatch(/^create web-1\.[0-9a-f]+ count=1 FailedScheduling$/);
    const name = held.log[0]!.split(' ')[1]!;
    await held.answerAll();
    expect(held.log.slice(1)).toEqual([`patch ${name} {"count":3,"lastTimestamp":"2026-11-30T10:00:00Z"}`]);
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    await held.answerAll();
    expect(held.log.slice(2)).toEqual([`patch ${name} {"count":4,"lastTimestamp":"2026-11-30T10:00:00Z"}`]);
    await rec.flush();
  });

  it('keeps different messages apart and forgets an event whose create failed', async () => {
    const held = new HeldClient();
    const rec = new EventRecorder({ client: held.client, wallClock: () => WALL });
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', 'a');
    rec.record(pod, 'Normal', 'Scheduled', 'Binding', 'b');
    expect(held.log.map((l) => l.replace(/web-1\.[0-9a-f]+/, 'NAME'))).toEqual(['create NAME count=1 FailedScheduling', 'create NAME count=1 Scheduled']);
    await held.answerAll(err({ code: 500, reason: 'InternalError', message: 'boom' }));
    rec.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', 'a');
    expect(held.log[2]).toMatch(/^create web-1\.[0-9a-f]+ count=1 FailedScheduling$/);
    await held.answerAll();
  });

  it('drops new events beyond maxPending and counts them', async () => {
    const held = new HeldClient();
    const rec = new EventRecorder({ client: held.client, wallClock: () => WALL, workers: 1, maxPending: 2 });
    for (let i = 0; i < 6; i++) rec.record(makePod(`p${i}`), 'Normal', 'Scheduled', 'Binding', `to n${i}`);
    // One is being written, two wait, three are dropped.
    expect(rec.dropped).toBe(3);
    await held.answerAll();
    expect(held.log).toHaveLength(3);
    await rec.flush();
  });

  it('drops what still waits on close, lets the write in flight finish, and records nothing after', async () => {
    const held = new HeldClient();
    const rec = new EventRecorder({ client: held.client, wallClock: () => WALL, workers: 1 });
    for (let i = 0; i < 3; i++) rec.record(makePod(`p${i}`), 'Normal', 'Scheduled', 'Binding', `to n${i}`);
    rec.close();
    rec.record(makePod('late'), 'Normal', 'Scheduled', 'Binding', 'to n9');
    expect(rec.dropped).toBe(3);
    const flushed = rec.flush();
    await held.answerAll();
    await flushed;
    expect(held.log).toHaveLength(1);
  });
});
