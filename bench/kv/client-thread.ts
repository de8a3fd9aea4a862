/**
 * client-thread: what the bench's client threads share — starting one and waiting until it says
 * it is ready, hearing it afterwards, and, inside the thread, knowing it was started as one and
 * opening its own client.
 *
 * A module that can run as a client thread starts itself (`new URL(import.meta.url)`) with
 * workerData carrying its mark; where no worker can run (the TypeScript sources under the test
 * runner) the thread never loads, startClientThread resolves null, and the caller does the work
 * on its own thread instead.
 */
import { Worker } from 'node:worker_threads';
import { EtcdClient, type EtcdTls } from '../../src/kv/client/etcd-client.js';

/** ThreadEvent is what a started thread's listener hears: a message, a failure, or its exit. */
export type ThreadEvent<From> = { readonly kind: 'message'; readonly m: From } | { readonly kind: 'failed'; readonly error: Error } | { readonly kind: 'exit' };

/** ClientThread is a started client thread that has said it is ready. */
export interface ClientThread<From> {
  readonly worker: Worker;
  /** on sets who hears the thread from now on; what it sent before that is handed over at once. */
  on(listener: (e: ThreadEvent<From>) => void): void;
}

function errorMessageOf(m: { readonly type: string }): string | null {
  const message = (m as { message?: unknown }).message;
  return m.type === 'error' && typeof message === 'string' ? message : null;
}

/**
 * startClientThread starts the module at `url` as a worker and resolves once it posts
 * `{ type: 'ready' }`. It rejects (and stops the thread) if the thread posts
 * `{ type: 'error', message }` first, and resolves null if the thread cannot run here (it fails to
 * load or exits before it is ready).
 */
export function startClientThread<From extends { readonly type: string }>(url: URL, workerData: object): Promise<ClientThread<From> | null> {
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData });
  } catch {
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    let ready = false;
    let listener: ((e: ThreadEvent<From>) => void) | null = null;
    const early: ThreadEvent<From>[] = [];
    const hear = (e: ThreadEvent<From>): void => {
      if (listener === null) early.push(e);
      else listener(e);
    };
    const thread: ClientThread<From> = {
      worker,
      on: (l) => {
        listener = l;
        for (const e of early.splice(0)) l(e);
      },
    };
    worker.on('message', (m: From) => {
      if (ready) return hear({ kind: 'message', m });
      if (m.type === 'ready') {
        ready = true;
        resolve(thread);
        return;
      }
      const message = errorMessageOf(m);
      if (message !== null) {
        void worker.terminate();
        reject(new Error(message));
      }
    });
    worker.on('error', (error: Error) => {
      if (ready) hear({ kind: 'failed', error });
      else resolve(null); // its module did not load (TypeScript sources): the caller does the work
    });
    worker.on('exit', () => {
      if (ready) hear({ kind: 'exit' });
      else resolve(null);
    });
  });
}

/**
 * reviveTls undoes what posting to a worker does to TLS bytes: a Buffer arrives as a plain
 * Uint8Array, which gRPC's credentials refuse; PEM text arrives unchanged.
 */
export function reviveTls(tls: EtcdTls | undefined): EtcdTls | undefined {
  if (tls === undefined) return undefined;
  const pem = (v: string | Uint8Array | undefined): string | Buffer | undefined => (v === undefined || typeof v === 'string' || Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  const ca = pem(tls.ca);
  const cert = pem(tls.cert);
  const key = pem(tls.key);
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

/** workerClient is a client thread's own client, with TLS bytes revived after crossing threads. */
export function workerClient(endpoints: readonly string[], tls: EtcdTls | undefined): EtcdClient {
  const revived = reviveTls(tls);
  return new EtcdClient(endpoints, revived === undefined ? {} : { tls: revived });
}

/** hasMark tells whether workerData carries `mark`: this module was started as that kind of worker. */
export function hasMark(d: unknown, mark: string): boolean {
  return typeof d === 'object' && d !== null && (d as { mark?: unknown }).mark === mark;
}
