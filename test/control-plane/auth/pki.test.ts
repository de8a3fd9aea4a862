// PKI: the CA and the certificates it signs must satisfy a real TLS client (Node's, which checks
// the chain, the SANs and the key usages much as Go's does) and openssl's verifier.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { createCA, ensurePki, issueClientCert, issueServingCert, subjectAltNames, type Pem } from '../../../src/control-plane/auth/pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftkube-pki-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Handshake {
  readonly ok: boolean;
  readonly code?: string;
  readonly peerUser?: string;
}

/**
 * handshake serves `serving` on 127.0.0.1 and connects with `trust` as the only root; with
 * `client` it asks for (and checks) a client certificate too.
 */
async function handshake(serving: Pem, trust: string, opts: { servername?: string; client?: Pem; clientCA?: string } = {}): Promise<Handshake> {
  const server = tls.createServer({
    key: serving.keyPem,
    cert: serving.certPem,
    ...(opts.clientCA !== undefined ? { requestCert: true, rejectUnauthorized: true, ca: [opts.clientCA] } : {}),
  });
  let peerUser: string | undefined;
  server.on('secureConnection', (s) => {
    const cn = s.getPeerCertificate().subject?.CN;
    peerUser = Array.isArray(cn) ? cn.join(',') : cn;
    s.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<Handshake>((resolve) => {
      const sock = tls.connect({
        host: '127.0.0.1',
        port,
        ca: [trust],
        ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
        ...(opts.client !== undefined ? { key: opts.client.keyPem, cert: opts.client.certPem } : {}),
      });
      sock.on('secureConnect', () => {
        sock.once('data', () => {
          sock.end();
          resolve(peerUser === undefined ? { ok: true } : { ok: true, peerUser });
        });
      });
      sock.on('error', (e: NodeJS.ErrnoException) => {
        sock.destroy();
        resolve({ ok: false, code: e.code ?? e.message });
      });
      // Under TLS 1.3 the client finishes its side before the server checks the client's
      // certificate; a refused client sees the connection close without data.
      sock.on('close', () => resolve({ ok: false, code: 'closed' }));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function opensslVerify(caPem: string, certPem: string, purpose: string): string {
  const d = tempDir();
  writeFileSync(join(d, 'ca.crt'), caPem);
  writeFileSync(join(d, 'leaf.crt'), certPem);
  const r = spawnSync('openssl', ['verify', '-CAfile', join(d, 'ca.crt'), '-purpose', purpose, join(d, 'leaf.crt')], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}

describe('pki', () => {
  const ca = createCA('test-ca');
  const serving = issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost', 'api.example'], ipAddresses: ['127.0.0.1', '::1'], days: 30 });

  it('makes a CA certificate with basicConstraints CA and key cert sign', () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.ca).toBe(true);
    expect(x.subject).toBe('CN=test-ca');
    expect(x.checkIssued(x)).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('issues a serving certificate with the SANs and only the serverAuth usage', () => {
    const x = new X509Certificate(serving.certPem);
    expect(x.ca).toBe(false);
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(x.keyUsage).toEqual([SERVER_AUTH]);
    expect(subjectAltNames(serving.certPem)).toEqual({ dnsNames: ['localhost', 'api.example'], ipAddresses: ['127.0.0.1', '::1'] });
    const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(/^[0-7]/.test(x.serialNumber)).toBe(true);
  });

  it('passes a TLS handshake by IP and by DNS name with the CA as the only root', async () => {
    expect(await handshake(serving, ca.certPem)).toEqual({ ok: true });
    expect(await handshake(serving, ca.certPem, { servername: 'localhost' })).toEqual({ ok: true });
    expect(await handshake(serving, ca.certPem, { servername: 'api.example' })).toEqual({ ok: true });
  });

  it('fails the handshake for a host not in the SANs, and against another CA', async () => {
    expect(await handshake(serving, ca.certPem, { servername: 'other.example' })).toEqual({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const other = createCA('other-ca');
    expect(await handshake(serving, other.certPem)).toEqual({ ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('issues client certificates a TLS server accepts for mutual TLS', async () => {
    const client = issueClientCert(ca, { commonName: 'system:kube-scheduler', organizations: ['system:schedulers'] });
    const x = new X509Certificate(client.certPem);
    expect(x.keyUsage).toEqual([CLIENT_AUTH]);
    expect(x.subject.split('\n')).toEqual(['O=system:schedulers', 'CN=system:kube-scheduler']);
    expect(await handshake(serving, ca.certPem, { client, clientCA: ca.certPem })).toEqual({ ok: true, peerUser: 'system:kube-scheduler' });
    // A server certificate is not a client certificate.
    expect((await handshake(serving, ca.certPem, { client: serving, clientCA: ca.certPem })).ok).toBe(false);
  });

  it('passes openssl verify for the matching purpose only', () => {
    expect(opensslVerify(ca.certPem, serving.certPem, 'sslserver')).toMatch(/: OK$/);
    const client = issueClientCert(ca, { commonName: 'admin', organizations: ['system:masters'] });
    expect(opensslVerify(ca.certPem, client.certPem, 'sslclient')).toMatch(/: OK$/);
    expect(opensslVerify(ca.certPem, client.certPem, 'sslserver')).toMatch(/unsuitable certificate purpose/);
  });

  it('refuses an IP address that does not parse', () => {
    expect(() => issueServingCert(ca, { commonName: 'x', dnsNames: [], ipAddresses: ['not-an-ip'] })).toThrow(/not an IPv4 or IPv6 address/);
  });
});

describe('ensurePki', () => {
  it('creates the CA and serving pair once, with private keys 0600, and reuses them', () => {
    const dir = tempDir();
    const first = ensurePki(dir, { hosts: ['10.0.0.5', 'master-1'] });
    expect(first.servingCertIssued).toBe(true);
    expect(first.caPath).toBe(join(dir, 'pki', 'ca.crt'));
    for (const p of [first.caKeyPath, first.keyPath]) expect(statSync(p).mode & 0o777).toBe(0o600);
    const sans = subjectAltNames(readFileSync(first.certPath, 'utf8'));
    expect(sans.ipAddresses).toEqual(['127.0.0.1', '10.0.0.5']);
    expect(sans.dnsNames).toContain('master-1');
    expect(sans.dnsNames).toContain('kubernetes.default.svc');
    expect(opensslVerify(first.caPem, readFileSync(first.certPath, 'utf8'), 'sslserver')).toMatch(/: OK$/);

    const certBefore = readFileSync(first.certPath, 'utf8');
    const again = ensurePki(dir, { hosts: ['master-1', '10.0.0.5'] });
    expect(again.servingCertIssued).toBe(false);
    expect(readFileSync(again.certPath, 'utf8')).toBe(certBefore);
    expect(again.caPem).toBe(first.caPem);
  });

  it('reissues the serving certificate, under the same CA, when the hosts change', async () => {
    const dir = tempDir();
    const first = ensurePki(dir, { hosts: ['master-1'] });
    const changed = ensurePki(dir, { hosts: ['master-1', '192.168.1.9'] });
    expect(changed.servingCertIssued).toBe(true);
    expect(changed.caPem).toBe(first.caPem);
    const certPem = readFileSync(changed.certPath, 'utf8');
    expect(subjectAltNames(certPem).ipAddresses).toEqual(['127.0.0.1', '192.168.1.9']);
    const pair = { certPem, keyPem: readFileSync(changed.keyPath, 'utf8') };
    expect(await handshake(pair, changed.caPem, { servername: 'master-1' })).toEqual({ ok: true });
  });

  it('compares IPv6 addresses in canonical form, so a restart reuses the certificate', () => {
    const dir = tempDir();
    expect(ensurePki(dir, { hosts: ['::1', 'fd00:0:0::5'] }).servingCertIssued).toBe(true);
    expect(ensurePki(dir, { hosts: ['0:0:0:0:0:0:0:1', 'fd00::5'] }).servingCertIssued).toBe(false);
    expect(subjectAltNames(readFileSync(join(dir, 'pki', 'apiserver.crt'), 'utf8')).ipAddresses).toEqual(['127.0.0.1', '::1', 'fd00::5']);
  });

  it('reissues a serving certificate the CA on disk did not sign', () => {
    const dir = tempDir();
    const first = ensurePki(dir, { hosts: [] });
    const stranger = issueServingCert(createCA('stranger'), { commonName: 'x', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    writeFileSync(first.certPath, stranger.certPem);
    expect(ensurePki(dir, { hosts: [] }).servingCertIssued).toBe(true);
    expect(new X509Certificate(readFileSync(first.certPath, 'utf8')).checkIssued(new X509Certificate(first.caPem))).toBe(true);
  });
});
