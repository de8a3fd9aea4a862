/**
 * tls: a 3-member raftkube cluster with TLS on every link and certificate authentication on both
 * (etcd's --client-cert-auth and --peer-client-cert-auth), started member by member with
 * `raftkube kv` and certificates from the cluster PKI helpers. Real clients against it: etcdctl
 * (--cacert/--cert/--key), the etcd3 npm client and raftkube's own client work with a certificate
 * signed by the cluster CA and are refused without one or with one from another CA; /health
 * answers over https; a member whose peer certificate comes from another CA cannot join, the
 * members log why, and the cluster keeps serving.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { createCA, issueClientCert, issueMemberCert, type Pem } from '../../src/control-plane/auth/pki.js';
import { EtcdClient, readEtcdTls } from '../../src/kv/client/etcd-client.js';
import {
  describeResult, etcdctl, freePortBlock, isAlive, RAFTKUBE_MAIN, REPO_ROOT, runCommand, startEtcdctl, stopPids, waitFor,
} from './harness.js';

const MEMBERS = 3;
const HOSTS = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] };

interface RunningMember {
  readonly name: string;
  readonly pid: number;
  readonly clientURL: string;
  readonly peerURL: string;
  readonly log: string;
}

let dir = '';
let basePort = 0;
const members: RunningMember[] = [];
const extra: RunningMember[] = [];
/** pids this file started, killed on exit should afterAll never run. */
const started = new Set<number>();
process.once('exit', () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function pem(name: string): string {
  return join(dir, name);
}

function writePem(name: string, p: Pem): void {
  writeFileSync(pem(`${name}.crt`), p.certPem);
  writeFileSync(pem(`${name}.key`), p.keyPem, { mode: 0o600 });
}

function urls(i: number): { clientURL: string; peerURL: string } {
  const port = basePort + 2 * i;
  return { clientURL: `https://127.0.0.1:${port}`, peerURL: `https://127.0.0.1:${port + 1}` };
}

function startKv(name: string, i: number, o: { initialCluster: string; state: 'new' | 'existing'; cert: string }): RunningMember {
  const { clientURL, peerURL } = urls(i);
  const logPath = join(dir, `${name}.log`);
  const log = openSync(logPath, 'a');
  const args = [
    RAFTKUBE_MAIN, 'kv', '--name', name, '--data-dir', join(dir, name),
    '--listen-client-urls', clientURL, '--listen-peer-urls', peerURL,
    '--initial-cluster', o.initialCluster, '--initial-cluster-state', o.state,
    '--cert-file', pem(`${o.cert}.crt`), '--key-file', pem(`${o.cert}.key`), '--trusted-ca-file', pem('ca.crt'), '--client-cert-auth',
    '--peer-cert-file', pem(`${o.cert}.crt`), '--peer-key-file', pem(`${o.cert}.key`), '--peer-trusted-ca-file', pem('ca.crt'), '--peer-client-cert-auth',
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`Could not start member ${name}; see ${logPath}`);
  child.unref();
  started.add(child.pid);
  return { name, pid: child.pid, clientURL, peerURL, log: logPath };
}

function logOf(m: RunningMember): string {
  return existsSync(m.log) ? readFileSync(m.log, 'utf8') : '';
}

function hostPorts(): string[] {
  return members.map((m) => m.clientURL.replace(/^https:\/\//, ''));
}

/** tlsArgs are etcdctl's TLS flags for a client certificate (or none). */
function tlsArgs(cert: 'client' | 'foreign-client' | null): string[] {
  return ['--cacert', pem('ca.crt'), ...(cert === null ? [] : ['--cert', pem(`${cert}.crt`), '--key', pem(`${cert}.key`)])];
}

function ourClient(withCert: boolean): EtcdClient {
  const tls = readEtcdTls({ caFile: pem('ca.crt'), ...(withCert ? { certFile: pem('client.crt'), keyFile: pem('client.key') } : {}) });
  return new EtcdClient(members.map((m) => m.clientURL), { deadlineMs: 5_000, ...(tls === undefined ? {} : { tls }) });
}

function getHttps(url: string, cert: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, {
      ca: readFileSync(pem('ca.crt')),
      ...(cert ? { cert: readFileSync(pem('client.crt')), key: readFileSync(pem('client.key')) } : {}),
      timeout: 5_000,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftkube-tls-'));
  const ca = createCA('raftkube-test-ca');
  const other = createCA('another-ca');
  writeFileSync(pem('ca.crt'), ca.certPem);
  for (let i = 1; i <= MEMBERS; i++) writePem(`m${i}`, issueMemberCert(ca, { commonName: `m${i}`, ...HOSTS }));
  writePem('foreign-member', issueMemberCert(other, { commonName: 'm4', ...HOSTS }));
  writePem('client', issueClientCert(ca, { commonName: 'root', organizations: [] }));
  writePem('foreign-client', issueClientCert(other, { commonName: 'root', organizations: [] }));
  // 3 members and one that tries to join, two ports each.
  basePort = await freePortBlock(2 * (MEMBERS + 1));
  const initialCluster = Array.from({ length: MEMBERS }, (_, i) => `m${i + 1}=${urls(i).peerURL}`).join(',');
  for (let i = 0; i < MEMBERS; i++) members.push(startKv(`m${i + 1}`, i, { initialCluster, state: 'new', cert: `m${i + 1}` }));
  const client = ourClient(true);
  try {
    await waitFor('every member to see a leader over TLS', async () => {
      const s = await Promise.all(members.map((_, i) => client.statusAt(i)));
      return s.every((x) => x.leader !== '0' && x.leader === s[0]!.leader);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } catch (err: unknown) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${members.map((m) => `--- ${m.name}\n${logOf(m).split('\n').slice(-10).join('\n')}`).join('\n')}`);
  } finally {
    client.close();
  }
}, 120_000);

afterAll(async () => {
  await stopPids([...members, ...extra].map((m) => m.pid));
  for (const m of [...members, ...extra]) started.delete(m.pid);
  const left = [...members, ...extra].filter((m) => isAlive(m.pid));
  if (dir !== '' && process.env['RAFTKUBE_KEEP_TEST_DATA'] === undefined) rmSync(dir, { recursive: true, force: true });
  if (left.length > 0) throw new Error(`Members still running: ${left.map((m) => m.pid).join(', ')}`);
}, 60_000);

describe('etcdctl against a TLS cluster with client certificate authentication', () => {
  it('puts, gets and watches with --cacert --cert --key', async () => {
    const w = startEtcdctl([...tlsArgs('client'), 'watch', 'tls/w'], { endpoints: hostPorts() });
    try {
      await waitFor('the watch to report a write', async () => {
        const put = await etcdctl([...tlsArgs('client'), 'put', 'tls/w', 'seen'], { endpoints: hostPorts() });
        expect(put.code, describeResult(put)).toBe(0);
        return w.stdout.includes('seen');
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(w.stdout).toContain('PUT\ntls/w\nseen');
    } finally {
      await w.stop();
    }
    // An https:// endpoint works too.
    const put = await etcdctl([...tlsArgs('client'), 'put', 'tls/k', 'v1'], { endpoints: [members[1]!.clientURL] });
    expect(put.code, describeResult(put)).toBe(0);
    expect(put.stdout.trim()).toBe('OK');
    const get = await etcdctl([...tlsArgs('client'), 'get', 'tls/k'], { endpoints: hostPorts() });
    expect(get.code, describeResult(get)).toBe(0);
    expect(get.stdout.trim().split('\n')).toEqual(['tls/k', 'v1']);
  }, 60_000);

  it.each<[string, 'foreign-client' | null]>([
    ['without a client certificate', null],
    ['with a client certificate from another CA', 'foreign-client'],
  ])('refuses etcdctl %s', async (_what, cert) => {
    const r = await etcdctl([...tlsArgs(cert), '--dial-timeout=2s', '--command-timeout=4s', 'get', 'tls/k'], { endpoints: hostPorts() });
    expect(r.code, describeResult(r)).not.toBe(0);
    expect(r.stdout).not.toContain('v1');
  }, 30_000);

  it('logs who it refused and why', () => {
    const logs = members.map(logOf).join('\n');
    expect(logs).toMatch(/refused a client connection from 127\.0\.0\.1:\d+: TLS handshake failed: it presented no certificate; clients must present a certificate signed by --trusted-ca-file/);
  });
});

describe('the etcd3 npm client against the TLS cluster', () => {
  it('works with the CA, a client certificate and its key', async () => {
    const e = new Etcd3({
      hosts: members.map((m) => m.clientURL),
      credentials: { rootCertificate: readFileSync(pem('ca.crt')), privateKey: readFileSync(pem('client.key')), certChain: readFileSync(pem('client.crt')) },
      dialTimeout: 5_000,
    });
    try {
      await e.put('tls/etcd3').value('hello');
      expect(await e.get('tls/etcd3').string()).toBe('hello');
    } finally {
      e.close();
    }
  }, 30_000);

  it('is refused without a client certificate', async () => {
    const e = new Etcd3({ hosts: members[0]!.clientURL, credentials: { rootCertificate: readFileSync(pem('ca.crt')) }, dialTimeout: 2_000 });
    try {
      await expect(e.get('tls/etcd3').string()).rejects.toThrow();
    } finally {
      e.close();
    }
  }, 30_000);
});

describe("raftkube's own client and the HTTP endpoints over TLS", () => {
  it('reads and writes with the client certificate, and is refused without', async () => {
    const good = ourClient(true);
    const bare = ourClient(false);
    try {
      await good.put('tls/own', 'x');
      expect((await good.range('tls/own')).kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['x']);
      await expect(bare.range('tls/own')).rejects.toThrow(/UNAVAILABLE/);
    } finally {
      good.close();
      bare.close();
    }
  }, 30_000);

  it('saves a snapshot with raftkube snapshot save --cacert --cert --key, and says why it cannot without a certificate', async () => {
    const file = join(dir, 'tls.snap');
    const ok = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'snapshot', 'save', file, '--endpoints', members.map((m) => m.clientURL).join(','), '--cacert', pem('ca.crt'), '--cert', pem('client.crt'), '--key', pem('client.key')], { timeoutMs: 60_000 });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(ok.stdout).toMatch(/^Snapshot saved at .*tls\.snap \(revision \d+, \d+ keys/);
    const bare = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'snapshot', 'save', join(dir, 'bare.snap'), '--endpoints', members[0]!.clientURL, '--cacert', pem('ca.crt')], { timeoutMs: 60_000 });
    expect(bare.code, describeResult(bare)).not.toBe(0);
    expect(bare.stderr).toMatch(/No endpoint of https:\/\/127\.0\.0\.1:\d+ answered .*; check --endpoints and the TLS flags/);
    const half = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'snapshot', 'save', join(dir, 'half.snap'), '--endpoints', members[0]!.clientURL, '--cert', pem('client.crt')], { timeoutMs: 60_000 });
    expect(half.code, describeResult(half)).not.toBe(0);
    expect(half.stderr).toContain('--cert is given without --key; give both');
  }, 120_000);

  it('answers /health over https to a client with a certificate, and refuses one without', async () => {
    const r = await getHttps(`${members[0]!.clientURL}/health`, true);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ health: 'true', reason: '' });
    await expect(getHttps(`${members[0]!.clientURL}/health`, false)).rejects.toThrow();
  }, 30_000);
});

describe('a member whose peer certificate comes from another CA', () => {
  it('cannot join: the members refuse it and log why, and the cluster keeps serving', async () => {
    const client = ourClient(true);
    try {
      const { peerURL } = urls(MEMBERS);
      const added = await client.memberAdd([peerURL], { isLearner: true });
      const id = added.member?.ID;
      expect(id).toBeDefined();
      const initialCluster = [...members.map((m) => `${m.name}=${m.peerURL}`), `m4=${peerURL}`].join(',');
      const m4 = startKv('m4', MEMBERS, { initialCluster, state: 'existing', cert: 'foreign-member' });
      extra.push(m4);
      const refusal = /refused a peer connection from 127\.0\.0\.1:\d+: TLS handshake failed: its certificate is not signed by the trusted CA \([A-Z_]+\); a member must present a peer certificate signed by --peer-trusted-ca-file to join/;
      await waitFor('a member to log the refused peer', () => members.some((m) => refusal.test(logOf(m))), { timeoutMs: 30_000, intervalMs: 250 });
      // It gives up: it cannot learn who it is from any member.
      await waitFor('m4 to exit', () => !isAlive(m4.pid), { timeoutMs: 30_000, intervalMs: 250 });
      expect(logOf(m4)).toMatch(/Cannot reach the running members over their https:\/\/ peer URLs/);
      // It never started: the list still shows it unstarted, a learner with no name.
      const list = await client.memberList();
      const me = list.members.find((m) => m.ID === id);
      expect(me).toMatchObject({ name: '', isLearner: true, clientURLs: [] });
      // The cluster serves on.
      await client.put('tls/after-foreign', 'ok');
      expect((await client.range('tls/after-foreign')).kvs).toHaveLength(1);
      await client.memberRemove(id!);
    } finally {
      client.close();
    }
  }, 90_000);
});
