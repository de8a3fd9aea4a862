/**
 * store-history: every change under a key prefix from a given revision up to another, read
 * back with one etcd watch (resumed on the next member if a stream breaks). The k8s checks use
 * it after the run to see the whole life of every pod and every leader-election term record,
 * which nothing in raftkube compacts during a run.
 */
import type { EtcdClient } from '../../kv/client/etcd-client.js';
import { prefixEnd, WatchStream } from '../../kv/client/watch-stream.js';
import type { StoreEvent } from '../checker/k8s.js';

/** readHistory returns the changes under `prefix` with fromRevision ≤ mod revision ≤ toRevision, or why it could not. */
export async function readHistory(client: EtcdClient, prefix: string, o: { readonly fromRevision: number; readonly toRevision: number; readonly timeoutMs: number }): Promise<StoreEvent[] | string> {
  const events: StoreEvent[] = [];
  let next = o.fromRevision;
  const deadline = Date.now() + o.timeoutMs;
  let lastError = 'no member answered';
  for (let attempt = 0; next <= o.toRevision; attempt++) {
    if (Date.now() > deadline) return `the history under ${prefix} could not be read up to revision ${o.toRevision} within ${o.timeoutMs / 1000} s (reached ${next - 1}; ${lastError})`;
    const endpoint = attempt % client.endpoints.length;
    const r = await new Promise<'done' | 'compacted' | 'broken'>((resolve) => {
      let ticker: NodeJS.Timeout | null = null;
      let settled = false;
      const finish = (why: 'done' | 'compacted' | 'broken'): void => {
        if (settled) return;
        settled = true;
        if (ticker !== null) clearInterval(ticker);
        clearTimeout(watchDeadline);
        stream.close();
        resolve(why);
      };
      const watchDeadline = setTimeout(() => finish('broken'), Math.max(1000, deadline - Date.now()));
      const stream = new WatchStream(client, endpoint, {
        onEvents: (_id, evs) => {
          for (const e of evs) {
            const kv = e.kv;
            if (kv === undefined || kv.mod_revision < next) continue;
            if (kv.mod_revision <= o.toRevision) {
              events.push({ type: e.type === 'PUT' ? 'put' : 'delete', key: Buffer.from(kv.key).toString(), value: Buffer.from(kv.value).toString(), modRevision: kv.mod_revision });
            }
            next = Math.max(next, kv.mod_revision + 1);
          }
          if (next > o.toRevision) finish('done');
        },
        onProgress: (_id, header) => {
          if (header.revision >= o.toRevision) {
            next = o.toRevision + 1;
            finish('done');
          }
        },
        onCanceled: (_id, why) => finish(why.compactRevision > 0 ? 'compacted' : 'broken'),
        onError: (err) => {
          lastError = err.message;
          finish('broken');
        },
      });
      stream.create(prefix, { rangeEnd: prefixEnd(prefix), startRevision: next, progressNotify: true })
        .then(() => {
          // Ask for progress now and then: an idle range gets no events to say we are done.
          if (settled) return;
          ticker = setInterval(() => stream.requestProgress(), 500);
          stream.requestProgress();
        })
        .catch((err: unknown) => {
          lastError = err instanceof Error ? err.message : String(err);
          finish('broken');
        });
    });
    if (r === 'compacted') return `the history under ${prefix} was compacted past revision ${next}`;
  }
  return events;
}
