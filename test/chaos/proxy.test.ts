/**
 * The fault-injecting TCP proxy (chaos run --net proxy) with real sockets on loopback: three
 * stand-in members (plain TCP servers for their peer and client listeners) and clients that
 * dial them through the proxy's links. Forwarding goes both ways and passes a half-close on; a
 * cut holds both directions of both links of a pair (new connections too) while other links
 * carry on, and the heal delivers what was held, in order; delay holds every chunk at least its
 * time in each direction, in order; loss holds chunks back by a retransmission timeout, in order
 * and intact; a heal sends what waits at once; destroy closes everything.
 *
 * NB: "nothing arrived over a cut link" is checked after traffic sent later over an uncut link
 * of the same proxy has made a round trip: both are served by this process's event loop, so by
 * then the cut link's bytes would have been forwarded had the cut not held them.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lossDelay, ProxyNetwork, RTO_MS, type ProxyMember } from '../../src/chaos/nemesis/proxy.js';
import { parseTestPeerDial, TEST_PEER_DIAL_ENV } from '../../src/kv/transport/test-peer-dial.js';
import { seededRng } from '../../src/raft/rng.js';
import { waitFor } from '../integration/harness.js';

/** Received is one connection a stand-in listener accepted, with what arrived and when. */
interface Received {
  readonly socket: Socket;
  readonly chunks: { at: number; buf: Buffer }[];
  ended: boolean;
  text(): string;
}

/** Listener stands in for one member's peer or client listener. */
interface Listener {
  readonly server: Server;
  readonly url: string;
  readonly conns: Received[];
}

async function listener(o: { echo?: boolean } = {}): Promise<Listener> {
  const conns: Received[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const r: Received = { socket, chunks: [], ended: false, text: () => Buffer.concat(r.chunks.map((c) => c.buf)).toString() };
    conns.push(r);
    socket.on('data', (buf: Buffer) => {
      r.chunks.push({ at: performance.now(), buf });
      if (o.echo === true) socket.write(buf);
    });
    socket.on('end', () => {
      r.ended = true;
      socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${a.port}`, conns };
}

/** Client is a socket that dialled a proxy link, with what came back. */
interface Client {
  readonly socket: Socket;
  readonly chunks: { at: number; buf: Buffer }[];
  closed: boolean;
  text(): string;
}

function dial(url: string): Promise<Client> {
  const port = Number(url.split(':').at(-1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const c: Client = { socket, chunks: [], closed: false, text: () => Buffer.concat(c.chunks.map((x) => x.buf)).toString() };
    socket.on('data', (buf: Buffer) => c.chunks.push({ at: performance.now(), buf }));
    socket.on('close', () => (c.closed = true));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(c);
    });
  });
}

const open: { close(): unknown }[] = [];
let net: ProxyNetwork | null = null;

afterEach(async () => {
  await net?.destroy();
  net = null;
  for (const c of open.splice(0)) c.close();
});

/** rig starts three stand-in members (peer listeners echo) and the proxy between them. */
async function rig(seed = 1): Promise<{ net: ProxyNetwork; peers: Listener[]; clients: Listener[]; members: ProxyMember[] }> {
  const peers = await Promise.all([0, 1, 2].map(() => listener({ echo: true })));
  const clients = await Promise.all([0, 1, 2].map(() => listener()));
  for (const l of [...peers, ...clients]) open.push(l.server);
  const members = peers.map((p, i) => ({ name: `m${i + 1}`, peerURL: p.url, clientURL: clients[i]!.url }));
  net = await ProxyNetwork.create(members, { seed });
  return { net, peers, clients, members };
}

async function link(n: ProxyNetwork, from: number, to: number, kind: 'peer' | 'client' = 'peer'): Promise<Client> {
  const c = await dial(n.dialURL(from, to, kind));
  open.push({ close: () => c.socket.destroy() });
  return c;
}

/** roundTrip sends a marker over an uncut echoing link and waits until it is back. */
async function roundTrip(c: Client, marker: string): Promise<void> {
  c.socket.write(marker);
  await waitFor(`${marker} to come back`, () => c.text().includes(marker), { timeoutMs: 10_000, intervalMs: 5 });
}

describe('the proxy', () => {
  it('forwards both ways, counts what it accepted and passes a half-close on', async () => {
    const r = await rig();
    const c = await link(r.net, 0, 1);
    c.socket.write('hello');
    await waitFor('the echo', () => c.text() === 'hello', { timeoutMs: 10_000, intervalMs: 5 });
    expect(r.peers[1]!.conns.map((x) => x.text())).toEqual(['hello']);
    expect(r.net.acceptedBytes(0, 1)).toBe(5);
    expect(r.net.acceptedBytes(1, 0)).toBe(0);
    c.socket.end();
    await waitFor('the member to see the end', () => r.peers[1]!.conns[0]!.ended, { timeoutMs: 10_000, intervalMs: 5 });
    await waitFor('the client side to close', () => c.closed, { timeoutMs: 10_000, intervalMs: 5 });
  });

  it('gives each member a dial map to every other member\'s peer and client URL, through its own links', async () => {
    const r = await rig();
    const map = r.net.dialMap(0);
    expect(Object.keys(map).sort()).toEqual([r.members[1]!.peerURL, r.members[1]!.clientURL, r.members[2]!.peerURL, r.members[2]!.clientURL].sort());
    const memberPorts = r.members.flatMap((m) => [m.peerURL, m.clientURL]);
    const all = [0, 1, 2].flatMap((i) => Object.values(r.net.dialMap(i)));
    expect(new Set(all).size).toBe(12);
    for (const u of all) expect(memberPorts).not.toContain(u);
    const parsed = parseTestPeerDial(r.net.memberEnv(0)[TEST_PEER_DIAL_ENV]);
    expect(parsed.ok && parsed.value?.get(r.members[1]!.peerURL.replace('http://', ''))).toBe(map[r.members[1]!.peerURL]!.replace('http://', ''));
    // The client link reaches the member's client listener.
    const c = await link(r.net, 2, 0, 'client');
    c.socket.write('fwd');
    await waitFor('the forwarded request', () => r.clients[0]!.conns[0]?.text() === 'fwd', { timeoutMs: 10_000, intervalMs: 5 });
  });

  it('cuts both directions of both links of a pair, new connections too, and heals in order', async () => {
    const r = await rig();
    const c01 = await link(r.net, 0, 1);
    const c10 = await link(r.net, 1, 0);
    const c02 = await link(r.net, 0, 2);
    await roundTrip(c01, 'up;');
    await roundTrip(c10, 'up;');
    await r.net.cut([[0, 1]]);
    c01.socket.write('a1;');
    c01.socket.write('a2;');
    c10.socket.write('b1;');
    r.peers[1]!.conns[0]!.socket.write('reply;'); // from member 1 back towards member 0
    const late = await link(r.net, 0, 1, 'client');
    late.socket.write('late;');
    for (let k = 0; k < 5; k++) await roundTrip(c02, `control${k};`);
    expect(r.peers[1]!.conns[0]!.text()).toBe('up;');
    expect(r.peers[0]!.conns[0]!.text()).toBe('up;');
    expect(c01.text()).toBe('up;');
    expect(r.clients[1]!.conns).toEqual([]);
    expect(c01.closed || c10.closed || late.closed).toBe(false);

    await r.net.heal();
    await waitFor('held bytes to arrive', () => r.peers[1]!.conns[0]!.text() === 'up;a1;a2;' && r.peers[0]!.conns[0]!.text() === 'up;b1;', { timeoutMs: 10_000, intervalMs: 5 });
    // The echo of a1 and a2 follows the reply member 1 wrote during the cut.
    await waitFor('the reply and the echoes', () => c01.text() === 'up;reply;a1;a2;', { timeoutMs: 10_000, intervalMs: 5 });
    await waitFor('the connection opened during the cut', () => r.clients[1]!.conns[0]?.text() === 'late;', { timeoutMs: 10_000, intervalMs: 5 });
    expect(r.peers[2]!.conns[0]!.text()).toBe('control0;control1;control2;control3;control4;');
  });

  it('delays every chunk by at least its time in each direction, in order', async () => {
    const r = await rig();
    const c = await link(r.net, 0, 1);
    await roundTrip(c, 'up;');
    const ms = 150;
    await r.net.delay(ms);
    const sent: { at: number; end: number }[] = [];
    let total = 'up;'.length;
    for (let k = 0; k < 6; k++) {
      const s = `chunk${k};`;
      sent.push({ at: performance.now(), end: total + s.length });
      c.socket.write(s);
      total += s.length;
      // Each write is read by the proxy as a chunk of its own before the next.
      await waitFor('the proxy to read the chunk', () => r.net.acceptedBytes(0, 1) === total, { timeoutMs: 10_000, intervalMs: 1 });
    }
    const expected = `up;${[0, 1, 2, 3, 4, 5].map((k) => `chunk${k};`).join('')}`;
    await waitFor('every chunk to come back', () => c.text() === expected, { timeoutMs: 20_000, intervalMs: 5 });
    // Member side: a chunk arrives no sooner than ms after the last byte in it was sent.
    let offset = 0;
    for (const got of r.peers[1]!.conns[0]!.chunks) {
      offset += got.buf.length;
      const last = sent.filter((s) => s.end <= offset).at(-1);
      if (last !== undefined) expect(got.at - last.at).toBeGreaterThanOrEqual(ms - 1);
    }
    // Client side: the echo went through the delay twice.
    offset = 0;
    for (const got of c.chunks) {
      offset += got.buf.length;
      const last = sent.filter((s) => s.end <= offset).at(-1);
      if (last !== undefined) expect(got.at - last.at).toBeGreaterThanOrEqual(2 * ms - 2);
    }
  });

  it('models loss as retransmission: some chunks held back a timeout or more, nothing lost or reordered', async () => {
    const r = await rig(7);
    const c = await link(r.net, 0, 1);
    await roundTrip(c, 'up;');
    await r.net.loss(50);
    const sent: { at: number; end: number }[] = [];
    let total = 'up;'.length;
    let expected = 'up;';
    for (let k = 0; k < 20; k++) {
      const s = `c${k};`;
      sent.push({ at: performance.now(), end: total + s.length });
      c.socket.write(s);
      total += s.length;
      expected += s;
      await waitFor('the proxy to read the chunk', () => r.net.acceptedBytes(0, 1) === total, { timeoutMs: 10_000, intervalMs: 1 });
    }
    await waitFor('every chunk to arrive', () => r.peers[1]!.conns[0]!.text() === expected, { timeoutMs: 60_000, intervalMs: 10 });
    let offset = 0;
    let held = 0;
    for (const got of r.peers[1]!.conns[0]!.chunks) {
      offset += got.buf.length;
      const last = sent.filter((s) => s.end <= offset).at(-1);
      if (last !== undefined && got.at - last.at >= RTO_MS - 1) held++;
    }
    expect(held).toBeGreaterThan(0);
    await r.net.heal();
    await waitFor('every echo', () => c.text() === expected, { timeoutMs: 60_000, intervalMs: 10 });
  });

  it('draws loss as retransmission timeouts at the given rate, doubling, from the seed', () => {
    const draw = (seed: number, percent: number, n: number): number[] => {
      const rng = seededRng(seed);
      return Array.from({ length: n }, () => lossDelay(rng, percent));
    };
    expect(draw(3, 0, 1000).every((d) => d === 0)).toBe(true);
    expect(draw(3, 25, 500)).toEqual(draw(3, 25, 500));
    const d = draw(4, 25, 100_000);
    const lost = d.filter((x) => x > 0);
    expect(lost.length / d.length).toBeCloseTo(0.25, 2);
    expect(new Set(d)).toEqual(new Set([0, 200, 600, 1400, 3000]));
    // Lost again with the same probability: a quarter of the lost chunks wait 600 ms or more.
    expect(lost.filter((x) => x >= 600).length / lost.length).toBeCloseTo(0.25, 1);
  });

  it('sends what waits at once when healed', async () => {
    const r = await rig();
    const c = await link(r.net, 0, 1);
    await roundTrip(c, 'up;');
    await r.net.delay(60_000);
    c.socket.write('slow;');
    await waitFor('the proxy to read it', () => r.net.acceptedBytes(0, 1) === 8, { timeoutMs: 10_000, intervalMs: 1 });
    await r.net.heal();
    await waitFor('the held chunk and its echo, long before the delay is up', () => c.text() === 'up;slow;', { timeoutMs: 10_000, intervalMs: 5 });
  });

  it('closes a connection to a member that is not listening, and closes everything when destroyed', async () => {
    const r = await rig();
    await new Promise<void>((resolve) => r.peers[2]!.server.close(() => resolve()));
    const gone = await link(r.net, 0, 2);
    await waitFor('the connection to the absent member to close', () => gone.closed, { timeoutMs: 10_000, intervalMs: 5 });
    const c = await link(r.net, 0, 1);
    await roundTrip(c, 'up;');
    const url = r.net.dialURL(0, 1, 'peer');
    await r.net.destroy();
    net = null;
    await waitFor('the open connection to close', () => c.closed, { timeoutMs: 10_000, intervalMs: 5 });
    await expect(dial(url)).rejects.toThrow(/ECONNREFUSED/);
  });
});
