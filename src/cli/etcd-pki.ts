/**
 * etcd-pki: the certificates `raftkube up` gives the etcd layer (under DIR/pki/etcd, as kubeadm
 * keeps etcd's own CA apart from the cluster's): a CA, one certificate per member that serves
 * both its client and peer ports and that it presents when it dials (serverAuth and clientAuth,
 * subjectAltNames 127.0.0.1, localhost and ::1), a client certificate for the control plane's
 * components and one for the user (etcdctl, raftkube's own commands). Files that exist are kept,
 * so a resumed cluster keeps its certificates; a member added later gets its own on demand.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createCA, issueClientCert, issueMemberCert, type Pem } from '../control-plane/auth/pki.js';
import { readEtcdTls, type EtcdTls } from '../kv/client/etcd-client.js';

/** EtcdTlsFiles are a CA and a client certificate, as a cluster file records them. */
export interface EtcdClientFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** EtcdPki is where up's etcd certificates are. */
export interface EtcdPki {
  readonly dir: string;
  readonly caFile: string;
  /** user is the client certificate for people and raftkube's commands (CN root). */
  readonly user: EtcdClientFiles;
  /** components is the client certificate of the apiservers (kube-apiserver-etcd-client). */
  readonly components: EtcdClientFiles;
}

const MEMBER_HOSTS = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] };

function keep(dir: string, name: string, issue: () => Pem): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const p = issue();
    writeFileSync(certFile, p.certPem, { mode: 0o644 });
    writeFileSync(keyFile, p.keyPem, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
  }
  return { certFile, keyFile };
}

function loadCA(dir: string): Pem {
  const ca = keep(dir, 'ca', () => createCA('raftkube-etcd-ca'));
  return { certPem: readFileSync(ca.certFile, 'utf8'), keyPem: readFileSync(ca.keyFile, 'utf8') };
}

/** ensureEtcdPki creates what is missing of DIR/pki/etcd (members' certificates by name) and says where it is. */
export function ensureEtcdPki(dataDir: string, memberNames: readonly string[]): EtcdPki {
  const dir = join(dataDir, 'pki', 'etcd');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = loadCA(dir);
  for (const name of memberNames) keep(dir, `member-${name}`, () => issueMemberCert(ca, { commonName: name, ...MEMBER_HOSTS }));
  const caFile = join(dir, 'ca.crt');
  const user = keep(dir, 'client', () => issueClientCert(ca, { commonName: 'root', organizations: [] }));
  const components = keep(dir, 'apiserver-etcd-client', () => issueClientCert(ca, { commonName: 'kube-apiserver-etcd-client', organizations: [] }));
  return { dir, caFile, user: { caFile, ...user }, components: { caFile, ...components } };
}

/** memberTlsArgs are the eight TLS flags of `raftkube kv` for member `name`, with client and peer certificate authentication. */
export function memberTlsArgs(pki: EtcdPki, name: string): string[] {
  const cert = join(pki.dir, `member-${name}.crt`);
  const key = join(pki.dir, `member-${name}.key`);
  return [
    '--cert-file', cert, '--key-file', key, '--trusted-ca-file', pki.caFile, '--client-cert-auth',
    '--peer-cert-file', cert, '--peer-key-file', key, '--peer-trusted-ca-file', pki.caFile, '--peer-client-cert-auth',
  ];
}

/** etcdTlsOf reads the client TLS a cluster file records (undefined for a cluster started with --insecure). */
export function etcdTlsOf(f: { readonly etcdTls?: EtcdClientFiles }): EtcdTls | undefined {
  if (f.etcdTls === undefined) return undefined;
  return readEtcdTls({ caFile: f.etcdTls.caFile, certFile: f.etcdTls.certFile, keyFile: f.etcdTls.keyFile });
}

/** etcdctlFlags is the TLS part of an etcdctl command line for a cluster file ('' without TLS). */
export function etcdctlFlags(f: { readonly etcdTls?: EtcdClientFiles }): string {
  return f.etcdTls === undefined ? '' : ` --cacert ${f.etcdTls.caFile} --cert ${f.etcdTls.certFile} --key ${f.etcdTls.keyFile}`;
}
