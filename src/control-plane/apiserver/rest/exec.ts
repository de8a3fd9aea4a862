/**
 * exec: the REST face's half of `kubectl exec` — a WebSocket upgrade of
 * `GET /api/v1/namespaces/<ns>/pods/<name>/exec?command=...` (v5 or v4.channel.k8s.io), joined
 * to the node agent's socket that PodExec opens. Messages pass through unchanged in both
 * directions (they are already channel-framed); when either side closes, so does the other.
 * What the node sends waits for one ping round trip with the client first (see READY_PING_MS).
 * Failures before the upgrade are answered as plain HTTP with a Status body, which kubectl
 * prints. SPDY, which older clients ask for, is refused with a reason.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { chooseProtocol } from '../../api/remote-command.js';
import type { ApiError } from '../registry-api.js';
import type { HeldSocket } from '../pod-exec.js';
import { wireStatus } from './status.js';

/**
 * kubectl up to 1.32 (client-go's WebSocket executor) starts its reading goroutine beside the
 * one that creates its streams and drops a message for a stream that does not exist yet
 * ("Unknown stream id 1, discarding message"); a command that ends at once then loses its
 * output and its exit Status, and kubectl fails with "closed all streams". Later client-go
 * starts reading only once the streams exist. The relay therefore pings the client after the
 * upgrade and hands on the node's messages when the pong is back: the client's reader is
 * running by then and its stream creation, started in the same instant, has had a round trip
 * to finish. A client that does not answer pings gets the messages after this many ms.
 */
export const READY_PING_MS = 1_000;

const REASONS: Readonly<Record<number, string>> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** refuseUpgrade answers an upgrade request with an error Status and closes the socket. */
export function refuseUpgrade(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(wireStatus(e));
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${e.code} ${REASONS[e.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** ExecSockets accepts exec upgrades and keeps track of the open pairs. */
export class ExecSockets {
  readonly #wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => chooseProtocol(offered) ?? false });
  readonly #open = new Set<WebSocket>();
  readonly #readyPingMs: number;

  constructor(opts: { readonly readyPingMs?: number } = {}) {
    this.#readyPingMs = opts.readyPingMs ?? READY_PING_MS;
  }

  /** size is how many exec sessions are open. */
  get size(): number {
    return this.#open.size;
  }

  /** accept completes the client's upgrade and relays between it and the node's socket. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, node: HeldSocket): void {
    this.#wss.handleUpgrade(req, socket, head, (client) => this.#relay(client, node));
  }

  /** closeAll ends every open session (the server is stopping). */
  closeAll(): void {
    for (const ws of this.#open) ws.terminate();
    this.#open.clear();
  }

  #relay(client: WebSocket, held: HeldSocket): void {
    const node = held.ws;
    this.#open.add(client).add(node);
    const send = (to: WebSocket) => (data: RawData, isBinary: boolean): void => {
      if (to.readyState === to.OPEN) to.send(data, { binary: isBinary });
    };
    const closed = (from: WebSocket, to: WebSocket) => (): void => {
      this.#open.delete(from);
      if (to.readyState === to.OPEN || to.readyState === to.CONNECTING) to.close(1000);
    };
    client.on('message', send(node));
    client.on('close', closed(client, node));
    client.on('error', () => node.terminate());
    node.on('error', () => client.terminate());
    // What the node sent while the client's upgrade completed goes first, in order, once the
    // client has answered a ping (or did not in time).
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      client.off('pong', release);
      held.release(send(client), closed(node, client));
    };
    const timer = setTimeout(release, this.#readyPingMs);
    client.once('pong', release);
    client.once('close', release);
    client.ping();
  }
}
