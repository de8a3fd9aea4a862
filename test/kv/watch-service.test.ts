/**
 * watch-service: the Watch service over a real gRPC connection, on both of its write paths —
 * the raw HTTP/2 stream under the call (the member's path, found by withRawStreams) and plain
 * grpc-js writes (the fallback). Many watchers on one stream each get every event of their range
 * in revision order, with prev_kv and filters; fragments, cancellation, duplicate IDs and
 * compaction answer as etcd does; a half-close ends the stream with OK after what was queued;
 * a response that cannot be encoded ends its stream with INTERNAL, never the member.
 * On the raw path, the responses one change produces for all the watchers of a stream leave in
 * one write, and the test fails if grpc-js stops handing the stream to the interceptor.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { addService, loadProtoDefinitions, responseDecoders, type WatchResponse } from '../../src/kv/proto/index.js';
import { earlyUnaryStatus } from '../../src/kv/server/services/early-status.js';
import { rawStreamOf, withRawStreams } from '../../src/kv/server/services/raw-stream.js';
import { watchService, type WatchMember } from '../../src/kv/server/services/watch-service.js';
import { WatchHub } from '../../src/kv/watch/index.js';
import { b, TempDirs, unwrap } from './mvcc-helpers.js';

const defs = loadProtoDefinitions();
const dirs = new TempDirs();

type Path = 'raw' | 'grpc-js';

interface Rig {
  readonly store: MvccStore;
  /** writes counts the raw stream's writes (raw path only). */
  readonly writes: { n: number };
  /** rawSeen records, per stream, whether the handler found the raw stream. */
  readonly rawSeen: boolean[];
  /** held are the completion callbacks of raw writes, when the rig holds them back. */
  readonly held: (() => void)[];
  /** progressRequests counts the hub's requestProgress calls (one per watcher per progress request). */
  readonly progressRequests: { n: number };
  open(): Stream;
  close(): Promise<void>;
}

/** Stream is one client Watch stream with every decoded response it received. */
interface Stream {
  readonly got: WatchResponse[];
  send(req: object): void;
  end(): void;
  /** status resolves with the stream's final status code. */
  readonly status: Promise<grpc.status>;
  /** until polls (bounded) for responses matching `pred`. */
  until(what: string, pred: (got: readonly WatchResponse[]) => boolean): Promise<void>;
}

async function rig(path: Path, maxRequestBytes = 1024 * 1024, holdWrites = false, term: () => number = () => 3): Promise<Rig> {
  const store = await dirs.open();
  const hub = new WatchHub(store);
  const progressRequests = { n: 0 };
  const requestProgress = hub.requestProgress.bind(hub);
  hub.requestProgress = (w) => {
    progressRequests.n++;
    requestProgress(w);
  };
  const member: WatchMember = {
    header: (revision?: number) => ({ cluster_id: '11', member_id: '22', revision: revision ?? store.currentRevision, raft_term: term() }),
    maxRequestBytes,
    driver: { status: () => ({ term: term() }) },
    sm: { store },
  };
  const writes = { n: 0 };
  const rawSeen: boolean[] = [];
  const held: (() => void)[] = [];
  const handlers = watchService(member, hub);
  // The raw path runs with the member's interceptor, as composed in member.ts.
  const server = new grpc.Server(path === 'raw' ? { interceptors: [withRawStreams(earlyUnaryStatus)] } : {});
  addService(server, defs.etcd.Watch, {
    Watch: (call) => {
      const raw = rawStreamOf(call.metadata);
      rawSeen.push(raw !== undefined);
      if (raw !== undefined) {
        type Write = (chunk: Buffer, done?: (err?: Error | null) => void) => boolean;
        const write = raw.write.bind(raw) as Write;
        (raw as { write: Write }).write = (chunk, done) => {
          writes.n++;
          if (!holdWrites || done === undefined) return write(chunk, done);
          // The bytes go out now; the stream says so only when the test releases it.
          return write(chunk, (err) => held.push(() => done(err)));
        };
      }
      handlers.Watch(call);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(defs.etcd.Watch, 'Watch');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as { Watch: () => grpc.ClientDuplexStream<object, unknown>; close: () => void };
  const streams: grpc.ClientDuplexStream<object, unknown>[] = [];
  return {
    store,
    writes,
    rawSeen,
    held,
    progressRequests,
    open(): Stream {
      const call = client.Watch();
      streams.push(call);
      const got: WatchResponse[] = [];
      call.on('data', (v: unknown) => {
        const d = responseDecoders.WatchResponse(v);
        if (!d.ok) throw new Error(`undecodable WatchResponse: ${d.error}`);
        got.push(d.value);
      });
      const status = new Promise<grpc.status>((resolve) => {
        call.on('status', (s: grpc.StatusObject) => resolve(s.code));
        call.on('error', () => undefined);
      });
      return {
        got,
        status,
        send: (req) => call.write(req),
        end: () => call.end(),
        until: async (what, pred) => {
          const deadline = Date.now() + 10_000;
          while (!pred(got)) {
            if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; got ${JSON.stringify(got.map(brief))}`);
            await new Promise((r) => setTimeout(r, 5));
          }
        },
      };
    },
    async close(): Promise<void> {
      for (const s of streams) s.cancel();
      client.close();
      hub.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}

/** brief renders a response compactly for failure messages and comparisons. */
function brief(r: WatchResponse): string {
  const flags = [r.created ? 'created' : '', r.canceled ? `canceled(${r.compact_revision}:${r.cancel_reason})` : '', r.fragment ? 'fragment' : ''].filter((f) => f !== '').join(',');
  const evs = r.events.map((e) => `${e.type} ${Buffer.from(e.kv?.key ?? []).toString()}=${Buffer.from(e.kv?.value ?? []).toString()}@${e.kv?.mod_revision ?? 0}${e.prev_kv === undefined ? '' : ` prev=${Buffer.from(e.prev_kv.value).toString()}`}`);
  return `#${r.watch_id}@${r.header.revision}${flags === '' ? '' : ` ${flags}`}${evs.length === 0 ? '' : ` ${evs.join(',')}`}`;
}

const create = (key: string, o: Record<string, unknown> = {}): object => ({ create_request: { key: b(key), ...o } });
const eventsOf = (got: readonly WatchResponse[], id: number): string[] => got.filter((r) => r.watch_id === id && r.events.length > 0).map(brief);

let r: Rig;
afterEach(async () => {
  await r.close();
  await dirs.cleanup();
});

describe.each(['raw', 'grpc-js'] as const)('Watch service, %s writes', (path) => {
  beforeEach(async () => {
    r = await rig(path);
  });

  it('delivers every event to each of 40 watchers on one stream, in order, with prev_kv and filters', async () => {
    const s = r.open();
    const n = 40;
    for (let i = 0; i < n; i++) s.send(create('w/', { range_end: b('w0') }));
    s.send(create('w/', { range_end: b('w0'), prev_kv: true }));
    s.send(create('w/', { range_end: b('w0'), filters: ['NOPUT'] }));
    await s.until('every watcher created', (got) => got.filter((x) => x.created).length === n + 2);
    expect(s.got.filter((x) => x.created).map((x) => x.watch_id)).toEqual([...Array(n + 2).keys()]);
    const put = (k: string, v: string): number => unwrap(r.store.put({ key: b(k), value: b(v) })).revision;
    const before = r.writes.n;
    const rev1 = put('w/a', '1');
    await s.until('the first event everywhere', (got) => got.filter((x) => x.events.length > 0).length === n + 1);
    if (path === 'raw') expect(r.writes.n - before, 'one write for the whole fan-out').toBe(1);
    // NB: one change at a time: what queues up while a watcher is behind travels merged.
    const rev2 = put('w/a', '2');
    await s.until('the second event everywhere', (got) => got.filter((x) => x.events.length > 0).length === 2 * n + 2);
    put('other', 'x');
    const rev3 = unwrap(r.store.deleteRange({ key: b('w/a') })).revision;
    await s.until('all events', (got) => eventsOf(got, n + 1).length === 1 && got.filter((x) => x.events.length > 0).length === 3 * n + 4);
    for (let id = 0; id < n; id++) expect(eventsOf(s.got, id)).toEqual([`#${id}@${rev1} PUT w/a=1@${rev1}`, `#${id}@${rev2} PUT w/a=2@${rev2}`, `#${id}@${rev3} DELETE w/a=@${rev3}`]);
    expect(eventsOf(s.got, n)).toEqual([`#${n}@${rev1} PUT w/a=1@${rev1}`, `#${n}@${rev2} PUT w/a=2@${rev2} prev=1`, `#${n}@${rev3} DELETE w/a=@${rev3} prev=2`]);
    expect(eventsOf(s.got, n + 1)).toEqual([`#${n + 1}@${rev3} DELETE w/a=@${rev3}`]);
    expect(s.got.every((x) => x.header.cluster_id === '11' && x.header.member_id === '22' && x.header.raft_term === 3)).toBe(true);
    expect(r.rawSeen).toEqual([path === 'raw']);
  });

  it('answers cancel, a duplicate watch ID and a compacted start revision as etcd does', async () => {
    const s = r.open();
    s.send(create('k', { watch_id: 7 }));
    await s.until('the watcher created', (got) => got.some((x) => x.created && x.watch_id === 7));
    s.send(create('k', { watch_id: 7 }));
    await s.until('the duplicate refused', (got) => got.some((x) => x.canceled && x.watch_id === 7));
    expect(brief(s.got[1] as WatchResponse)).toBe(`#7@1 created,canceled(0:mvcc: duplicate watch ID provided)`);
    for (let i = 0; i < 3; i++) unwrap(r.store.put({ key: b('k'), value: b(String(i)) }));
    unwrap(r.store.compact(3));
    s.send(create('k', { watch_id: 8, start_revision: 2 }));
    await s.until('the compacted watcher cancelled', (got) => got.some((x) => x.watch_id === 8 && x.canceled));
    expect(s.got.filter((x) => x.watch_id === 8).map(brief)).toEqual(['#8@4 created', '#8@4 canceled(3:mvcc: required revision has been compacted)']);
    s.send({ cancel_request: { watch_id: 7 } });
    await s.until('the cancel answered', (got) => got.filter((x) => x.watch_id === 7 && x.canceled).length === 2);
    const seen = s.got.length;
    unwrap(r.store.put({ key: b('k'), value: b('after') }));
    s.end();
    expect(await s.status).toBe(grpc.status.OK);
    expect(s.got.slice(seen)).toEqual([]);
  });

  it('ends a half-closed stream with OK after the responses already queued', async () => {
    const s = r.open();
    s.send(create('h'));
    await s.until('created', (got) => got.length === 1);
    unwrap(r.store.put({ key: b('h'), value: b('1') }));
    s.end();
    expect(await s.status).toBe(grpc.status.OK);
    expect(s.got.map(brief)).toEqual(['#0@1 created', '#0@2 PUT h=1@2']);
  });
});

describe.each(['raw', 'grpc-js'] as const)('Watch service, a response that cannot be encoded, %s writes', (path) => {
  let term = 3;
  beforeEach(async () => {
    term = 3;
    r = await rig(path, 1024 * 1024, false, () => term);
  });

  it('ends that stream with INTERNAL, naming the field, and the member goes on serving', async () => {
    const s = r.open();
    s.send(create('bad'));
    await s.until('created', (got) => got.length === 1);
    term = -1;
    unwrap(r.store.put({ key: b('bad'), value: b('1') }));
    expect(await s.status).toBe(grpc.status.INTERNAL);
    term = 3;
    const next = r.open();
    next.send(create('bad'));
    await next.until('a new stream served', (got) => got.length === 1 && got[0]?.created === true);
  });
});

describe.each(['raw', 'grpc-js'] as const)('Watch service fragments, %s writes', (path) => {
  beforeEach(async () => {
    r = await rig(path, 300);
  });

  it('splits a revision larger than the request limit for a watcher that asked, and only for it', async () => {
    const s = r.open();
    s.send(create('f/', { range_end: b('f0'), fragment: true }));
    s.send(create('f/', { range_end: b('f0') }));
    await s.until('created', (got) => got.length === 2);
    for (let i = 0; i < 6; i++) {
      unwrap(r.store.put({ key: b(`f/${i}`), value: b('x'.repeat(60)) }));
      await s.until(`put ${i}`, (got) => got.filter((x) => x.events.length > 0).length === 2 * (i + 1));
    }
    const del = unwrap(r.store.deleteRange({ key: b('f/'), range_end: b('f0') })).revision;
    await s.until('the deletion', (got) => got.filter((x) => x.header.revision === del).length >= 3);
    const frag = s.got.filter((x) => x.watch_id === 0 && x.header.revision === del);
    expect(frag.length).toBeGreaterThan(1);
    expect(frag.map((x) => x.fragment)).toEqual([...frag.slice(1).map(() => true), false]);
    expect(frag.flatMap((x) => x.events.map((e) => Buffer.from(e.kv?.key ?? []).toString()))).toEqual(['f/0', 'f/1', 'f/2', 'f/3', 'f/4', 'f/5']);
    const whole = s.got.filter((x) => x.watch_id === 1 && x.header.revision === del);
    expect(whole.map((x) => [x.fragment, x.events.length])).toEqual([[false, 6]]);
  });
});

describe('Watch service, raw writes still on their way', () => {
  beforeEach(async () => {
    r = await rig('raw', 1024 * 1024, true);
  });

  /** settle waits for a held write and releases every one held. */
  const settle = async (s: Stream, what: string): Promise<void> => {
    await s.until(what, () => r.held.length > 0);
    for (const done of r.held.splice(0)) done();
  };

  const put = (v: string): number => unwrap(r.store.put({ key: b('m'), value: b(v) })).revision;

  /** behindFirstChange opens three watchers of `m` and puts m=1, whose write the rig then holds. */
  const behindFirstChange = async (): Promise<{ s: Stream; first: number }> => {
    const s = r.open();
    for (let i = 0; i < 3; i++) s.send(create('m'));
    await s.until('created', (got) => got.length === 3);
    await settle(s, 'the creates written');
    const first = put('1');
    await s.until('the first change', (got) => got.filter((x) => x.events.length > 0).length === 3);
    expect(r.held.length, 'the first change\'s write is unfinished').toBe(1);
    return { s, first };
  };

  it('holds the watchers of a stream back while its write is unfinished, then sends what they missed merged', async () => {
    const { s, first } = await behindFirstChange();
    const writes = r.writes.n;
    // Two changes in two turns: written at once, each would travel in a response of its own.
    const second = put('2');
    await new Promise((res) => setImmediate(res));
    const third = put('3');
    await new Promise((res) => setImmediate(res));
    expect(r.writes.n, 'nothing written while the first write is unfinished').toBe(writes);
    await settle(s, 'the first write released');
    await s.until('the later changes', (got) => got.filter((x) => x.events.length > 0).length === 6);
    expect(r.writes.n - writes, 'one write for the merged changes').toBe(1);
    for (let id = 0; id < 3; id++) expect(eventsOf(s.got, id)).toEqual([`#${id}@${first} PUT m=1@${first}`, `#${id}@${third} PUT m=2@${second},PUT m=3@${third}`]);
  });

  it('sends the events a watcher holds before a progress response queued behind them', async () => {
    const { s, first } = await behindFirstChange();
    // The second change waits in each watcher's queue; the progress response joins it there.
    const second = put('2');
    s.send({ progress_request: {} });
    await s.until('the progress request served', () => r.progressRequests.n === 3);
    await settle(s, 'the first write released');
    await s.until('the held change and the progress', (got) => got.length === 12);
    for (let id = 0; id < 3; id++) {
      expect(s.got.filter((x) => x.watch_id === id).map(brief)).toEqual([`#${id}@1 created`, `#${id}@${first} PUT m=1@${first}`, `#${id}@${second} PUT m=2@${second}`, `#${id}@${second}`]);
    }
  });
});
