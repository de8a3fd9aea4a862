/**
 * metrics-url: `--listen-metrics-urls` — a single member, started in this process, serves
 * /metrics and /health on its metrics URL as well as on its client URL, beside gRPC; and its
 * listeners are all closed when it stops (no connection, even a silent one, keeps it open).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { memberConfig } from '../../src/cli/kv.js';
import { startMember, type Member } from '../../src/kv/member/member.js';
import { freePortBlock, waitFor } from './harness.js';

describe('a member with --listen-metrics-urls', () => {
  let member: Member | null = null;
  let dataDir = '';
  let port = 0;
  const url = (offset: number, path: string): string => `http://127.0.0.1:${port + offset}${path}`;

  beforeAll(async () => {
    port = await freePortBlock(4);
    dataDir = mkdtempSync(join(tmpdir(), 'raftkube-metrics-'));
    member = await startMember(memberConfig({
      name: 'solo',
      dataDir,
      listenClientUrls: url(0, ''),
      listenPeerUrls: url(1, ''),
      listenMetricsUrls: url(2, ''),
      heartbeatInterval: 20,
      electionTimeout: 200,
    }), pino({ level: 'silent' }));
  }, 60_000);

  afterAll(async () => {
    await member?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves metrics and health on the metrics URL and on the client URL, and gRPC on the client URL', async () => {
    await waitFor('the member to elect itself', async () => {
      const r = await fetch(url(2, '/health'));
      return r.status === 200 && (await r.json());
    });
    const client = new EtcdClient([url(0, '')]);
    try {
      await client.put('k', 'v');
      expect((await client.range('k')).kvs).toHaveLength(1);
    } finally {
      client.close();
    }
    for (const offset of [0, 2]) {
      const r = await fetch(url(offset, '/metrics'));
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text).toMatch(/^etcd_server_has_leader 1$/m);
      expect(text).toMatch(/^etcd_server_is_leader 1$/m);
      expect(await (await fetch(url(offset, '/health'))).json()).toEqual({ health: 'true', reason: '' });
    }
    // The metrics URL is HTTP only: no gRPC there.
    const wrong = new EtcdClient([url(2, '')], { deadlineMs: 2000 });
    try {
      await expect(wrong.put('k', 'v')).rejects.toThrow();
    } finally {
      wrong.close();
    }
  });

  it('stops cleanly with a connection open that never said which protocol it speaks', async () => {
    const silent = connect(port, '127.0.0.1');
    await new Promise<void>((r) => silent.once('connect', () => r()));
    const closed = new Promise<void>((r) => silent.once('close', () => r()));
    await member!.stop();
    member = null;
    await closed;
    const refused = await fetch(url(2, '/health')).then(() => false, () => true);
    expect(refused).toBe(true);
  });
});
