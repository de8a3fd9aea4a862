/**
 * `raftkube scheduler` as its flags build it: the token file forms, and a scheduler started
 * from flags against two real in-process gRPC apiservers, binding pods and carrying on through
 * the apiserver it used being killed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Disposable } from '../../../src/control-plane/apiserver/registry-api.js';
import { createCA, issueServingCert } from '../../../src/control-plane/auth/pki.js';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { registerSchedulerCommand, startSchedulerFromFlags, tokenFromFile } from '../../../src/cli/scheduler.js';
import { NODES, PODS } from '../../../src/control-plane/scheduler/scheduler.js';
import type { PodObject } from '../../../src/control-plane/scheduler/types.js';
import type { Cluster } from '../client/harness.js';
import { startCluster, TOKEN } from '../client/harness.js';
import { makeNode, makePod } from './fixtures.js';

describe('tokenFromFile', () => {
  const cases: readonly [name: string, text: string, want: { ok: boolean; value?: string }][] = [
    ['a bare token', 'abc123\n', { ok: true, value: 'abc123' }],
    ['a token CSV picks the scheduler line', 'admintok,admin,admin,"system:masters"\nschedtok,system:kube-scheduler,uid-s\n', { ok: true, value: 'schedtok' }],
    ['a token CSV without the scheduler', 'admintok,admin,admin\n', { ok: false }],
    ['an empty file', '\n', { ok: false }],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const r = tokenFromFile(text);
      expect(r.ok).toBe(want.ok);
      if (r.ok) expect(r.value).toBe(want.value);
    });
  }
});

describe('registerSchedulerCommand', () => {
  function parse(args: string[]): Record<string, unknown> {
    const program = new Command().exitOverride();
    registerSchedulerCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'scheduler')!;
    cmd.exitOverride().configureOutput({ writeErr: () => undefined });
    // Replace the action so parsing does not start a scheduler.
    cmd.action(() => undefined);
    program.parse(['node', 'raftkube', 'scheduler', ...args]);
    return cmd.opts();
  }

  it('parses the flags with their defaults', () => {
    expect(parse(['--apiservers', '127.0.0.1:32401,127.0.0.1:32403', '--token-file', 'DIR/tokens.csv', '--ca-file', 'DIR/pki/ca.crt', '--master', 'm2', '--lease-duration', '3'])).toEqual({
      apiservers: '127.0.0.1:32401,127.0.0.1:32403',
      tokenFile: 'DIR/tokens.csv',
      caFile: 'DIR/pki/ca.crt',
      master: 'm2',
      leaseDuration: 3,
      percentageOfNodesToScore: 0,
      logLevel: 'info',
    });
  });

  it('refuses a missing --apiservers and a bad lease duration', () => {
    expect(() => parse([])).toThrow(/--apiservers/);
    expect(() => parse(['--apiservers', 'a:1', '--lease-duration', '0'])).toThrow(/positive/);
  });
});

/** boundCount watches pods (from `client`) and resolves once `n` are bound; rejects after `guardMs`. */
function boundCount(client: ApiClient, n: number, guardMs = 30_000): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const bound = new Map<string, string>();
    let w: Disposable | null = null;
    const guard = setTimeout(() => {
      w?.dispose();
      reject(new Error(`only ${bound.size} of ${n} pods were bound`));
    }, guardMs);
    w = client.watch<PodObject>(PODS, { namespace: 'default', sendInitialEvents: true, resourceVersion: '' }, {
      event: (ev) => {
        const node = ev.object.spec?.nodeName;
        if (node !== undefined && node !== '') bound.set(ev.object.metadata.name ?? '', node);
        if (bound.size >= n) {
          clearTimeout(guard);
          w?.dispose();
          resolve(bound);
        }
      },
      end: (why) => {
        clearTimeout(guard);
        reject(new Error(`the watch ended: ${why?.message ?? 'closed'}`));
      },
    });
  });
}

describe('raftkube scheduler against gRPC apiservers', () => {
  let cluster: Cluster | null = null;
  let dir = '';
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    cluster?.close();
    cluster = null;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('binds pods and survives the loss of the apiserver it talked to', async () => {
    cluster = await startCluster(2);
    dir = mkdtempSync(join(tmpdir(), 'raftkube-sched-'));
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${TOKEN},system:kube-scheduler,uid-s\n`);
    const endpoints = cluster.servers.map((s) => s.endpoint);
    const { handle, client } = startSchedulerFromFlags(
      { apiservers: endpoints.join(','), tokenFile, master: 'm1', leaseDuration: 6, percentageOfNodesToScore: 0, logLevel: 'silent' },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => client.close());
    cleanups.push(() => handle.stop());
    expect(handle.identity.startsWith('m1_')).toBe(true);
    const admin = new ApiClient({ endpoints: [endpoints[1]!], token: TOKEN });
    cleanups.push(() => admin.close());

    for (let i = 0; i < 3; i++) expect((await admin.create(NODES, makeNode(`n${i}`, { cpu: '2' }))).ok).toBe(true);
    const first = boundCount(admin, 6);
    for (let i = 0; i < 6; i++) expect((await admin.create(PODS, makePod(`p${i}`, { cpu: '500m' }))).ok).toBe(true);
    const bound = await first;
    // Six half-cpu pods on three 2-cpu nodes: least-allocated spreads them two per node.
    const perNode = new Map<string, number>();
    for (const n of bound.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2, 2]);
    expect(handle.isLeader()).toBe(true);

    cluster.kill(0);
    const second = boundCount(admin, 9);
    for (let i = 6; i < 9; i++) expect((await admin.create(PODS, makePod(`p${i}`, { cpu: '500m' }))).ok).toBe(true);
    expect((await second).size).toBe(9);
  });

  it('verifies the apiservers against --ca-file over TLS', async () => {
    const ca = createCA('raftkube-scheduler-test-ca');
    cluster = await startCluster(1, { tls: issueServingCert(ca, { commonName: 'apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
    dir = mkdtempSync(join(tmpdir(), 'raftkube-sched-'));
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ca.certPem);
    const endpoint = cluster.servers[0]!.endpoint;
    const { handle, client } = startSchedulerFromFlags(
      { apiservers: endpoint, token: TOKEN, caFile, master: 'm2', leaseDuration: 6, percentageOfNodesToScore: 0, logLevel: 'silent' },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => client.close());
    cleanups.push(() => handle.stop());
    const admin = new ApiClient({ endpoints: [endpoint], token: TOKEN, caPem: ca.certPem });
    cleanups.push(() => admin.close());
    expect((await admin.create(NODES, makeNode('n1'))).ok).toBe(true);
    const done = boundCount(admin, 1);
    expect((await admin.create(PODS, makePod('p'))).ok).toBe(true);
    expect(Object.fromEntries(await done)).toEqual({ p: 'n1' });
  });
});
