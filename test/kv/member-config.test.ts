/**
 * member-config: every member setting is checked before the member starts, and a bad one is
 * refused with a ConfigError naming its flag — from `raftkube kv`'s parsed flags and from a
 * MemberConfig handed to startMember directly. Raft's own settings are checked by
 * raftConfigProblem (test/raft/config.test.ts).
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { memberConfig } from '../../src/cli/kv.js';
import {
  checkMemberConfig, ConfigError, MAX_ELECTION_MS, MAX_REQUEST_BYTES_LIMIT, memberConfigProblem, type MemberConfig,
} from '../../src/kv/member/config.js';
import { startMember } from '../../src/kv/member/member.js';

/** DATA_DIR is never created when the checks work; removed afterwards in case they do not. */
const DATA_DIR = join(tmpdir(), `raftkube-member-config-${process.pid}`);
afterAll(() => rmSync(DATA_DIR, { recursive: true, force: true }));

const GOOD: MemberConfig = {
  name: 'm1',
  dataDir: DATA_DIR,
  listenClientURLs: ['http://127.0.0.1:2379'],
  advertiseClientURLs: ['http://127.0.0.1:2379'],
  listenPeerURLs: ['http://127.0.0.1:2380'],
  initialCluster: [{ name: 'm1', peerURLs: ['http://127.0.0.1:2380'] }, { name: 'm2', peerURLs: ['http://127.0.0.1:2382'] }],
  initialClusterState: 'new',
  initialClusterToken: 'tok',
  heartbeatMs: 100,
  electionMs: 1000,
  maxRequestBytes: 1024,
  snapshotCount: 10,
  maxTxnOps: 128,
};

describe('memberConfigProblem', () => {
  it('accepts a usable configuration', () => {
    expect(memberConfigProblem(GOOD)).toBeNull();
    expect(checkMemberConfig(GOOD)).toBe(GOOD);
  });

  it.each<[string, Partial<MemberConfig>, RegExp]>([
    ['an empty name', { name: '' }, /^--name must be a non-empty name/],
    ['a name with a comma', { name: 'a,b' }, /^--name must be a non-empty name without/],
    ['an empty data dir', { dataDir: '' }, /^--data-dir must not be empty/],
    ['an empty token', { initialClusterToken: '' }, /^--initial-cluster-token must not be empty/],
    ['no client URL', { listenClientURLs: [] }, /^--listen-client-urls must list at least one URL/],
    ['an https advertise URL without a certificate', { advertiseClientURLs: ['https://127.0.0.1:1'] }, /^--advertise-client-urls: https:\/\/127.0.0.1:1 is https but no certificate is given; pass --cert-file and --key-file/],
    ['a peer URL without a port', { listenPeerURLs: ['http://127.0.0.1'] }, /^--listen-peer-urls: .* must be http:\/\/host:port/],
    ['an empty initial cluster', { initialCluster: [] }, /^--initial-cluster is empty/],
    ['a peer URL claimed twice', { initialCluster: [{ name: 'm1', peerURLs: ['http://a:1'] }, { name: 'm2', peerURLs: ['http://a:1'] }] }, /^--initial-cluster gives peer URL http:\/\/a:1 to both m1 and m2/],
    ['a member not in the initial cluster', { name: 'm9' }, /^--name m9 is not in --initial-cluster/],
    ['a heartbeat of 0', { heartbeatMs: 0 }, /^--heartbeat-interval must be a whole number of milliseconds ≥ 1, not 0/],
    ['a fractional heartbeat', { heartbeatMs: 1.5, electionMs: 100 }, /^--heartbeat-interval must be a whole number/],
    ['an election timeout below 5 heartbeats', { electionMs: 400 }, /^--election-timeout \(400 ms\) must be at least 5 × --heartbeat-interval \(100 ms\)/],
    ['an election timeout equal to the heartbeat', { heartbeatMs: 100, electionMs: 100 }, /^--election-timeout .* must be at least 5 ×/],
    ['an election timeout beyond 50 s', { electionMs: MAX_ELECTION_MS + 1 }, /^--election-timeout \(50001 ms\) must be at most 50000 ms/],
    ['a request limit of 0', { maxRequestBytes: 0 }, /^--max-request-bytes must be a whole number ≥ 1, not 0/],
    ['a request limit above the peer limit', { maxRequestBytes: MAX_REQUEST_BYTES_LIMIT + 1 }, /^--max-request-bytes \(\d+\) must be at most \d+/],
    ['a snapshot count of 0', { snapshotCount: 0 }, /^--snapshot-count must be a whole number ≥ 1, not 0/],
    ['a negative txn op limit', { maxTxnOps: -1 }, /^--max-txn-ops must be a whole number ≥ 1, not -1/],
  ])('refuses %s, naming the flag', (_what, change, message) => {
    const cfg = { ...GOOD, ...change };
    expect(memberConfigProblem(cfg)).toMatch(message);
    expect(() => checkMemberConfig(cfg)).toThrow(ConfigError);
  });
});

describe('raftkube kv flags', () => {
  const flags = {
    name: 'm1',
    listenClientUrls: 'http://127.0.0.1:2379',
    listenPeerUrls: 'http://127.0.0.1:2380',
    initialCluster: 'm1=http://127.0.0.1:2380',
  };

  it('turns good flags into a checked configuration', () => {
    expect(memberConfig(flags)).toMatchObject({ name: 'm1', heartbeatMs: 100, electionMs: 1000, initialCluster: [{ name: 'm1', peerURLs: ['http://127.0.0.1:2380'] }] });
  });

  it.each<[string, Record<string, string | number>, RegExp]>([
    ['--election-timeout at most 5 heartbeats', { heartbeatInterval: 200, electionTimeout: 999 }, /--election-timeout \(999 ms\) must be at least 5 × --heartbeat-interval \(200 ms\)/],
    ['--max-request-bytes too large', { maxRequestBytes: 2 ** 40 }, /--max-request-bytes/],
    ['--initial-cluster without --name', { initialCluster: 'm2=http://127.0.0.1:2382' }, /--name m1 is not in --initial-cluster/],
    ['--initial-cluster with one peer URL for two members', { initialCluster: 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:2380' }, /gives peer URL http:\/\/127.0.0.1:2380 to both m1 and m2/],
  ])('refuses %s', (_what, extra, message) => {
    expect(() => memberConfig({ ...flags, ...extra })).toThrow(ConfigError);
    expect(() => memberConfig({ ...flags, ...extra })).toThrow(message);
  });

  const https = { listenClientUrls: 'https://127.0.0.1:2379', listenPeerUrls: 'https://127.0.0.1:2380', initialCluster: 'm1=https://127.0.0.1:2380' };
  const certs = { certFile: 'c.crt', keyFile: 'c.key', peerCertFile: 'p.crt', peerKeyFile: 'p.key' };

  it.each<[string, Record<string, string | boolean>, RegExp]>([
    ['an https client URL without a certificate', { ...https, peerCertFile: 'p.crt', peerKeyFile: 'p.key' }, /^--listen-client-urls: https:\/\/127.0.0.1:2379 is https but no certificate is given; pass --cert-file and --key-file/],
    ['an https peer URL without a peer certificate', { ...https, certFile: 'c.crt', keyFile: 'c.key' }, /^--listen-peer-urls: https:\/\/127.0.0.1:2380 is https but no certificate is given; pass --peer-cert-file and --peer-key-file/],
    ['--cert-file without --key-file', { ...https, ...certs, keyFile: '' }, /^--cert-file is given without --key-file; give both/],
    ['--peer-key-file without --peer-cert-file', { ...https, ...certs, peerCertFile: '' }, /^--peer-key-file is given without --peer-cert-file; give both/],
    ['--client-cert-auth without --trusted-ca-file', { ...https, ...certs, clientCertAuth: true }, /^--client-cert-auth needs --trusted-ca-file/],
    ['--peer-client-cert-auth without --peer-trusted-ca-file', { ...https, ...certs, peerClientCertAuth: true }, /^--peer-client-cert-auth needs --peer-trusted-ca-file/],
    ['--client-cert-auth on plain http', { trustedCaFile: 'ca.crt', clientCertAuth: true }, /^--client-cert-auth needs TLS: give --cert-file and --key-file/],
    ['a URL of another scheme', { listenClientUrls: 'unix://127.0.0.1:2379' }, /^--listen-client-urls: "unix:\/\/127.0.0.1:2379" must be http:\/\/host:port or https:\/\/host:port/],
  ])('refuses %s, naming the flag', (_what, extra, message) => {
    expect(() => memberConfig({ ...flags, ...extra })).toThrow(ConfigError);
    expect(() => memberConfig({ ...flags, ...extra })).toThrow(message);
  });

  it('takes https URLs with the eight TLS flags', () => {
    const cfg = memberConfig({ ...flags, ...https, ...certs, trustedCaFile: 'ca.crt', clientCertAuth: true, peerTrustedCaFile: 'ca.crt', peerClientCertAuth: true });
    expect(cfg.clientTls).toEqual({ certFile: 'c.crt', keyFile: 'c.key', trustedCaFile: 'ca.crt', clientCertAuth: true });
    expect(cfg.peerTls).toEqual({ certFile: 'p.crt', keyFile: 'p.key', trustedCaFile: 'ca.crt', clientCertAuth: true });
  });

  it('allows certificates with plain http URLs, as etcd does (they serve as the client certificate when dialling https)', () => {
    const cfg = memberConfig({ ...flags, ...certs });
    expect(cfg.listenClientURLs).toEqual(['http://127.0.0.1:2379']);
    expect(cfg.clientTls).toEqual({ certFile: 'c.crt', keyFile: 'c.key', clientCertAuth: false });
  });
});

describe('startMember', () => {
  it('checks its configuration before touching the data directory', async () => {
    const start = startMember({ ...GOOD, snapshotCount: 0 }, pino({ level: 'silent' }));
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/--snapshot-count/);
    expect(existsSync(DATA_DIR)).toBe(false);
  });
});
