/**
 * peer-link: the raft link between two PeerTransports in one process, over loopback, through
 * the real peer listener (listenPeer, which also serves gRPC on the same port). Messages flow
 * both ways and snapshots still go over gRPC; a hello naming another cluster, another member,
 * or this member as sender is refused — logged on both sides — and so are an oversized frame,
 * garbage, and another frame version, while the member keeps serving; a broken connection is
 * re-dialled; a peer that stops reading makes the sender report it unreachable instead of
 * buffering without bound; and on https:// peer URLs the link and gRPC share the port by ALPN,
 * with a member whose certificate comes from another CA refused in the handshake.
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createCA, issueMemberCert, type Pem } from '../../src/control-plane/auth/pki.js';
import { listenPeer, type Listener, type ServerTls } from '../../src/kv/member/http.js';
import { serverTlsOptions, type TlsMaterial } from '../../src/kv/member/tls.js';
import { addService, loadProtoDefinitions } from '../../src/kv/proto/index.js';
import { encodeBatchFrame, encodeHello, FrameKind, FrameReader, isLinkError, LINK_ALPN, type Frame } from '../../src/kv/transport/frame-codec.js';
import { PeerTransport } from '../../src/kv/transport/peer-transport.js';
import { logIndex, nodeId, term, type Message, type NodeId } from '../../src/raft/types.js';
import { freePortBlock, waitFor } from '../integration/harness.js';

const CLUSTER = '42';
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Member {
  readonly transport: PeerTransport;
  readonly url: string;
  readonly got: Message[];
  readonly logs: string[];
  readonly unreachable: NodeId[];
  /** refused lists the TLS handshakes the listener refused. */
  readonly refused: string[];
  /** accepted counts the connections the peer listener handed to the transport; dials those this transport opened. */
  readonly counts: { accepted: number; dials: number };
  /** stop closes the transport and the listener (the URL's port is free again). */
  stop(): Promise<void>;
}

interface MemberOptions {
  readonly id: number;
  readonly port: number;
  readonly peers?: readonly [number, string][];
  readonly clusterId?: string;
  readonly maxQueuedBytes?: number;
  readonly maxFrameBytes?: number;
  /** tls serves and dials https:// with this certificate (refused handshakes go to `refused`). */
  readonly tls?: TlsMaterial;
}

/** member starts a transport and its peer listener (raft link + the gRPC Raft service). */
async function member(o: MemberOptions): Promise<Member> {
  const got: Message[] = [];
  const logs: string[] = [];
  const unreachable: NodeId[] = [];
  const refused: string[] = [];
  const counts = { accepted: 0, dials: 0 };
  const transport = new PeerTransport({
    dial: (url) => {
      counts.dials++;
      return url;
    },
    self: nodeId(o.id),
    clusterId: o.clusterId ?? CLUSTER,
    peers: new Map((o.peers ?? []).map(([id, url]) => [nodeId(id), url])),
    onMessage: (m) => got.push(m),
    onUnreachable: (id) => unreachable.push(id),
    onSnapshotStatus: () => undefined,
    snapshotData: () => Promise.resolve(new Uint8Array([1, 2, 3, 4])),
    log: (m) => logs.push(m),
    ...(o.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: o.maxQueuedBytes }),
    ...(o.maxFrameBytes === undefined ? {} : { maxFrameBytes: o.maxFrameBytes }),
    ...(o.tls === undefined ? {} : { tls: o.tls }),
  });
  const server = new grpc.Server();
  addService(server, loadProtoDefinitions().raft, transport.handlers());
  const url = `${o.tls === undefined ? 'http' : 'https'}://127.0.0.1:${o.port}`;
  const serverTls: ServerTls | null = o.tls === undefined ? null : { options: serverTlsOptions(o.tls, [LINK_ALPN, 'h2']), onRefused: (remote, reason) => refused.push(`${remote}: ${reason}`) };
  const listener: Listener = await listenPeer([url], server, (sock) => {
    counts.accepted++;
    transport.acceptLink(sock);
  }, serverTls);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    transport.close();
    server.forceShutdown();
    await listener.close();
  };
  cleanup.push(stop);
  return { transport, url, got, logs, unreachable, refused, counts, stop };
}

const hb = (from: number, to: number, commit = 0): Message => ({ type: 'heartbeat', from: nodeId(from), to: nodeId(to), term: term(3), commit: logIndex(commit), context: null });

/** until sends `m` every poll until `done` holds (a link may still be dialling). */
function until(what: string, t: PeerTransport, m: Message, done: () => boolean, timeoutMs = 20_000): Promise<true> {
  return waitFor(what, () => {
    if (done()) return true;
    t.send([m]);
    return false;
  }, { timeoutMs, intervalMs: 50 });
}

/** RawPeer is a hand-driven connection to a peer listener, reading back frames. */
interface RawPeer {
  readonly sock: net.Socket;
  readonly frames: Frame[];
  closed: boolean;
}

async function raw(port: number): Promise<RawPeer> {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const r: RawPeer = { sock, frames: [], closed: false };
  const reader = new FrameReader({ maxFrameBytes: 4096, hello: false });
  sock.on('data', (c: Buffer) => {
    reader.push(c);
    for (let f = reader.next(); f !== null && !isLinkError(f) && !('hello' in f); f = reader.next()) r.frames.push(f);
  });
  sock.on('error', () => undefined);
  sock.on('close', () => (r.closed = true));
  cleanup.push(() => void sock.destroy());
  return r;
}

const refusal = (r: RawPeer): string | undefined => {
  const f = r.frames.find((x) => x.kind === FrameKind.refuse);
  return f?.body.subarray(1).toString('utf8');
};

describe('the raft link', () => {
  it('carries messages both ways, and snapshots over gRPC on the same port', async () => {
    const base = await freePortBlock(2);
    const a = await member({ id: 1, port: base, peers: [[2, `http://127.0.0.1:${base + 1}`]] });
    const b = await member({ id: 2, port: base + 1, peers: [[1, a.url]] });
    await until('a heartbeat from 1 to reach 2', a.transport, hb(1, 2, 5), () => b.got.length > 0);
    await until('a heartbeat from 2 to reach 1', b.transport, hb(2, 1, 6), () => a.got.length > 0);
    expect(b.got[0]).toStrictEqual(hb(1, 2, 5));
    expect(a.got[0]).toStrictEqual(hb(2, 1, 6));
    // Many messages in one send arrive in order (one frame).
    const n = b.got.length;
    const app: Message = { type: 'app', from: nodeId(1), to: nodeId(2), term: term(3), index: logIndex(7), logTerm: term(3), commit: logIndex(7), entries: [{ term: term(3), index: logIndex(8), type: 'normal', data: new Uint8Array(3000).fill(9) }] };
    a.transport.send([app, hb(1, 2, 8), hb(1, 2, 9)]);
    await waitFor('three messages more at 2', () => b.got.length >= n + 3);
    expect(b.got.slice(n)).toStrictEqual([app, hb(1, 2, 8), hb(1, 2, 9)]);
    // A snapshot goes over the gRPC SendSnapshot rpc, served on the same peer URL.
    a.transport.send([{ type: 'snap', from: nodeId(1), to: nodeId(2), term: term(3), snapshot: { metadata: { index: logIndex(9), term: term(3), confState: { voters: [nodeId(1), nodeId(2)], learners: [] } }, data: new Uint8Array(0) } }]);
    const snap = await waitFor('the snapshot at 2', () => b.got.find((m) => m.type === 'snap'));
    expect(snap.type === 'snap' && [...snap.snapshot.data]).toStrictEqual([1, 2, 3, 4]);
    expect(a.logs).toEqual([]);
    expect(b.logs).toEqual([]);
  });

  it('refuses a link from another cluster, for another member, or claiming to be this member, and keeps serving', async () => {
    const base = await freePortBlock(3);
    const target = await member({ id: 2, port: base });
    const cases: [string, MemberOptions, RegExp][] = [
      ['another cluster', { id: 1, port: base + 1, clusterId: '43', peers: [[2, target.url]] }, /Member 1 belongs to cluster 43, this member to 42/],
      ['another member', { id: 1, port: base + 2, peers: [[3, target.url]] }, /A link for member 3 reached member 2; check the peer URLs/],
    ];
    for (const [what, o, reason] of cases) {
      const s = await member(o);
      const to = o.peers![0]![0];
      await waitFor(`the refusal of ${what} to be logged on both sides`, () => {
        s.transport.send([hb(o.id, to)]);
        return target.logs.some((l) => reason.test(l)) && s.logs.some((l) => l.includes('refused the raft link') && reason.test(l));
      }, { timeoutMs: 20_000, intervalMs: 100 });
      await s.stop();
    }
    const forged = await raw(base);
    forged.sock.write(encodeHello({ clusterId: CLUSTER, from: nodeId(2), to: nodeId(2) }));
    await waitFor('the forged hello to be refused', () => forged.closed && refusal(forged));
    expect(refusal(forged)).toBe('A link claims to come from this member (2)');
    expect(target.logs.filter((l) => l.includes('claims to come from this member'))).toHaveLength(1);
    expect(target.got).toEqual([]);
    // Still serving: a proper peer gets through.
    const good = await member({ id: 1, port: base + 1, peers: [[2, target.url]] });
    await until('a good peer to get through', good.transport, hb(1, 2), () => target.got.length > 0);
  });

  it('refuses an oversized frame, garbage, and another frame version, logging why, and keeps serving', async () => {
    const base = await freePortBlock(2);
    const target = await member({ id: 2, port: base, maxFrameBytes: 1024 });
    const hello = encodeHello({ clusterId: CLUSTER, from: nodeId(1), to: nodeId(2) });

    const big = await raw(base);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(1_000_000, 0);
    big.sock.write(Buffer.concat([hello, head]));
    await waitFor('the oversized frame to be refused', () => big.closed && refusal(big));
    expect(refusal(big)).toBe('A frame of 1000000 bytes is over the limit of 1024');

    const garbage = await raw(base);
    garbage.sock.write(Buffer.concat([hello, Buffer.from([6, 0, 0, 0, FrameKind.batch, 77, 1, 2, 3, 4])]));
    await waitFor('the garbage frame to be refused', () => garbage.closed && refusal(garbage));
    expect(refusal(garbage)).toMatch(/^Malformed batch frame: message 0 term needs 8 bytes|^Malformed batch frame: message 0 has unknown type 77/);

    const v2 = await raw(base);
    const h2 = Buffer.from(hello);
    h2.writeUInt16LE(2, 4);
    v2.sock.write(h2);
    await waitFor('the version-2 hello to be refused', () => v2.closed && refusal(v2));
    expect(refusal(v2)).toMatch(/speaks raft link frame version 2, this member version 1/);

    // Not our protocol at all: closed without a word.
    const http = await raw(base);
    http.sock.write('GET / HTTP/1.1\r\n\r\n');
    await waitFor('an HTTP/1 request on the peer port to be closed', () => http.closed);
    expect(http.frames).toEqual([]);

    expect(target.logs.map((l) => l.replace(/from \S+:\d+:/, 'from X:'))).toEqual([
      'refused a raft link from X: A frame of 1000000 bytes is over the limit of 1024',
      `refused a raft link from X: ${refusal(garbage)}`,
      `refused a raft link from X: ${refusal(v2)}`,
    ]);
    expect(target.got).toEqual([]);
    // Still serving, and a frame within the limit goes through.
    const ok = await raw(base);
    ok.sock.write(Buffer.concat([hello, encodeBatchFrame([hb(1, 2, 4)])]));
    await waitFor('a good frame to be taken', () => target.got.length === 1);
    expect(target.got).toStrictEqual([hb(1, 2, 4)]);
    expect(ok.frames.map((f) => f.kind)).toEqual([FrameKind.accept]);
  });

  it('re-dials a broken link', async () => {
    const base = await freePortBlock(2);
    const a = await member({ id: 1, port: base + 1, peers: [[2, `http://127.0.0.1:${base}`]] });
    let b = await member({ id: 2, port: base });
    await until('the first heartbeat', a.transport, hb(1, 2), () => b.got.length > 0);
    await b.stop();
    await waitFor('member 2 reported unreachable', () => {
      a.transport.send([hb(1, 2)]);
      return a.unreachable.includes(nodeId(2));
    });
    b = await member({ id: 2, port: base });
    await until('a heartbeat over the re-dialled link', a.transport, hb(1, 2, 11), () => b.got.some((m) => m.type === 'heartbeat' && m.commit === 11));
  });

  it('links to every peer at start (connectAll), and re-dials a peer that came back at once instead of after its backoff', async () => {
    const base = await freePortBlock(2);
    // Member 1 is down while member 2 keeps trying to reach it: 2's backoff grows (50, 100, 200, 400 ms, then 800).
    const b = await member({ id: 2, port: base + 1, peers: [[1, `http://127.0.0.1:${base}`]] });
    await waitFor('five failed dials to member 1', () => {
      b.transport.send([hb(2, 1)]);
      return b.counts.dials >= 5;
    }, { timeoutMs: 20_000, intervalMs: 20 });
    const a = await member({ id: 1, port: base, peers: [[2, b.url]] });
    a.transport.connectAll(); // nothing to send yet: it links anyway
    await waitFor('member 1 linked to member 2', () => b.counts.accepted >= 1);
    await until('a heartbeat from member 1', a.transport, hb(1, 2), () => b.got.length > 0);
    expect(b.counts.accepted).toBe(1); // the heartbeat went over the link connectAll opened
    // Member 2 heard from member 1 on 1's link: its own link to 1 dials now, not in 800 ms.
    const dials = b.counts.dials;
    b.transport.send([hb(2, 1, 7)]);
    expect(b.counts.dials).toBe(dials + 1);
    await waitFor('member 1 got the heartbeat', () => a.got.some((m) => m.type === 'heartbeat' && m.commit === 7));
  });

  it('reports a peer that stops reading unreachable instead of buffering without bound', async () => {
    const base = await freePortBlock(2);
    // A listener that accepts and never reads: the kernel buffers fill, then the sender's socket.
    const stuck = new Set<net.Socket>();
    const server = net.createServer((sock) => {
      sock.pause();
      stuck.add(sock);
    });
    await new Promise<void>((r) => server.listen(base, '127.0.0.1', r));
    cleanup.push(async () => {
      for (const s of stuck) s.destroy();
      await new Promise((r) => server.close(r));
    });
    const limit = 256 * 1024;
    const a = await member({ id: 1, port: base + 1, peers: [[2, `http://127.0.0.1:${base}`]], maxQueuedBytes: limit });
    const app = (i: number): Message => ({ type: 'app', from: nodeId(1), to: nodeId(2), term: term(1), index: logIndex(i), logTerm: term(1), commit: logIndex(0), entries: [{ term: term(1), index: logIndex(i + 1), type: 'normal', data: new Uint8Array(64 * 1024) }] });
    let i = 0;
    await waitFor('member 2 reported unreachable', () => {
      a.transport.send([app(i++)]);
      return a.unreachable.includes(nodeId(2));
    }, { timeoutMs: 60_000, intervalMs: 1 });
    // From then on every further message is dropped and reported, not queued (the peer still
    // reads nothing, so nothing drains).
    const before = a.unreachable.length;
    for (let k = 0; k < 200; k++) a.transport.send([app(i++)]);
    expect(a.unreachable.length - before).toBe(200);
    expect(a.unreachable.every((id) => id === nodeId(2))).toBe(true);
  });
});

describe('the raft link over TLS', () => {
  const material = (ca: Pem, leaf: Pem): TlsMaterial => ({ cert: Buffer.from(leaf.certPem), key: Buffer.from(leaf.keyPem), ca: Buffer.from(ca.certPem), clientCertAuth: true });
  const hosts = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

  it('carries messages and snapshots on one https:// port, and refuses a member with a certificate from another CA', async () => {
    const ca = createCA('peer-link-test-ca');
    const other = createCA('another-ca');
    const base = await freePortBlock(3);
    const a = await member({ id: 1, port: base, peers: [[2, `https://127.0.0.1:${base + 1}`]], tls: material(ca, issueMemberCert(ca, { commonName: 'm1', ...hosts })) });
    const b = await member({ id: 2, port: base + 1, peers: [[1, a.url]], tls: material(ca, issueMemberCert(ca, { commonName: 'm2', ...hosts })) });
    await until('a heartbeat from 1 to reach 2 over TLS', a.transport, hb(1, 2, 5), () => b.got.length > 0, 30_000);
    await until('a heartbeat from 2 to reach 1 over TLS', b.transport, hb(2, 1, 6), () => a.got.length > 0, 30_000);
    a.transport.send([{ type: 'snap', from: nodeId(1), to: nodeId(2), term: term(3), snapshot: { metadata: { index: logIndex(9), term: term(3), confState: { voters: [nodeId(1), nodeId(2)], learners: [] } }, data: new Uint8Array(0) } }]);
    const snap = await waitFor('the snapshot at 2 over gRPC on the same TLS port', () => b.got.find((m) => m.type === 'snap'), { timeoutMs: 30_000 });
    expect(snap.type === 'snap' && [...snap.snapshot.data]).toStrictEqual([1, 2, 3, 4]);
    // A member whose certificate another CA signed: refused in the handshake, nothing delivered.
    const n = b.got.length;
    const foreign = await member({ id: 3, port: base + 2, peers: [[2, b.url]], tls: material(ca, issueMemberCert(other, { commonName: 'm3', ...hosts })) });
    await waitFor('the foreign member to be refused', () => {
      foreign.transport.send([hb(3, 2)]);
      return b.refused.length > 0 && foreign.unreachable.includes(nodeId(2));
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(b.refused[0]).toMatch(/certificate is not signed by the trusted CA/);
    expect(b.got.slice(n).filter((m) => m.from === nodeId(3))).toEqual([]);
  }, 120_000);
});
