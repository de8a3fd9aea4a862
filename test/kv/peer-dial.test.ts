/**
 * peer-dial: the test-only RAFTKUBE_TEST_PEER_DIAL rewrite. Its parser takes a JSON object from
 * advertised URL to dial URL and refuses anything else with a message; the rewrite leaves URLs
 * it does not know alone; and a real peer transport on loopback, told that member 2
 * is at an address where nothing listens, reaches member 2 through the rewritten address — so
 * the member ID (from the advertised URL) stays as it is while the connection goes elsewhere.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerTransport } from '../../src/kv/transport/peer-transport.js';
import { dialRewrite, encodeTestPeerDial, parseTestPeerDial } from '../../src/kv/transport/test-peer-dial.js';
import { logIndex, nodeId, term } from '../../src/raft/types.js';
import type { Message } from '../../src/raft/index.js';
import { waitFor } from '../integration/harness.js';

describe('RAFTKUBE_TEST_PEER_DIAL', () => {
  it('is nothing when unset or empty', () => {
    expect(parseTestPeerDial(undefined)).toEqual({ ok: true, value: null });
    expect(parseTestPeerDial('  ')).toEqual({ ok: true, value: null });
    const identity = dialRewrite(null);
    expect(identity('http://127.0.0.1:2380')).toBe('http://127.0.0.1:2380');
  });

  it('maps advertised URLs to dial addresses, with or without a scheme, and leaves others alone', () => {
    const raw = encodeTestPeerDial({ 'http://127.0.0.1:2380': 'http://127.0.0.1:40001', '10.0.0.2:2380': '127.0.0.1:40002' });
    const p = parseTestPeerDial(raw);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect([...p.value!]).toEqual([['127.0.0.1:2380', '127.0.0.1:40001'], ['10.0.0.2:2380', '127.0.0.1:40002']]);
    const dial = dialRewrite(p.value);
    expect(dial('http://127.0.0.1:2380')).toBe('127.0.0.1:40001');
    expect(dial('127.0.0.1:2380')).toBe('127.0.0.1:40001');
    expect(dial('http://10.0.0.2:2380/')).toBe('127.0.0.1:40002');
    expect(dial('http://127.0.0.1:2381')).toBe('http://127.0.0.1:2381');
  });

  it('refuses what is not an object of URL to URL, naming the variable', () => {
    for (const bad of ['{', '[]', '"x"', '{"http://a:1": 5}', '{"not a url": "http://a:1"}', '{"http://a:1": "http://b"}']) {
      const p = parseTestPeerDial(bad);
      expect(p.ok, bad).toBe(false);
      if (!p.ok) expect(p.error).toContain('RAFTKUBE_TEST_PEER_DIAL');
    }
  });
});

describe('the peer transport with a dial rewrite', () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  const heartbeat: Message = { type: 'heartbeat', from: nodeId(1), to: nodeId(2), term: term(3), commit: logIndex(0), context: new Uint8Array(0) };

  async function receiver(): Promise<{ port: number; got: Message[] }> {
    const got: Message[] = [];
    const t = new PeerTransport({
      self: nodeId(2), clusterId: '42', peers: new Map(), onMessage: (m) => got.push(m),
      onUnreachable: () => undefined, onSnapshotStatus: () => undefined, snapshotData: () => Promise.resolve(new Uint8Array(0)),
    });
    const server = net.createServer((sock) => t.acceptLink(sock));
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    cleanup.push(async () => {
      t.close();
      await new Promise((r) => server.close(r));
    });
    return { port, got };
  }

  function sender(peerURL: string, dial?: (url: string) => string): { transport: PeerTransport; unreachable: number[] } {
    const unreachable: number[] = [];
    const transport = new PeerTransport({
      self: nodeId(1), clusterId: '42', peers: new Map([[nodeId(2), peerURL]]), onMessage: () => undefined,
      onUnreachable: (id) => unreachable.push(id), onSnapshotStatus: () => undefined, snapshotData: () => Promise.resolve(new Uint8Array(0)),
      ...(dial === undefined ? {} : { dial }),
    });
    cleanup.push(() => transport.close());
    return { transport, unreachable };
  }

  it('dials the rewritten address for a peer whose advertised URL has no listener', async () => {
    const r = await receiver();
    // Port 1 on loopback: nothing listens there (it is privileged and unused).
    const advertised = 'http://127.0.0.1:1';
    const p = parseTestPeerDial(encodeTestPeerDial({ [advertised]: `http://127.0.0.1:${r.port}` }));
    if (!p.ok) throw new Error(p.error);
    const s = sender(advertised, dialRewrite(p.value));
    await waitFor('the heartbeat to arrive through the rewritten address', () => {
      s.transport.send([heartbeat]);
      return r.got.length > 0;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(r.got[0]).toMatchObject({ type: 'heartbeat', from: 1, to: 2 });
  });

  it('without the rewrite the same peer is unreachable', async () => {
    const r = await receiver();
    const s = sender('http://127.0.0.1:1');
    await waitFor('the transport to report member 2 unreachable', () => {
      s.transport.send([heartbeat]);
      return s.unreachable.includes(2);
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(r.got).toEqual([]);
  });
});
