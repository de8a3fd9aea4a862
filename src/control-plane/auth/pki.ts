/**
 * pki: the cluster's certificate authority and the certificates it signs — the apiserver's
 * serving certificate (kubectl verifies it against the CA in the kubeconfig) and client
 * certificates for later mutual TLS. Keys come from Node's crypto (RSA 2048: fast, and Go's TLS
 * stack accepts it everywhere); node-forge builds and signs the X.509 structures, so no ASN.1 is
 * written by hand here.
 *
 * NB: Go (kubectl) refuses a serving certificate without subjectAltNames (the common name is not
 * consulted), and a leaf whose extended key usage lacks serverAuth; the CA must carry
 * basicConstraints cA=true and keyCertSign. Every certificate here sets those explicitly.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

/** Pem is a certificate and its private key, both PEM-encoded. */
export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** ServingCertOptions names the hosts a serving certificate is valid for. */
export interface ServingCertOptions {
  readonly commonName: string;
  /** dnsNames become DNS subjectAltNames (e.g. 'localhost', 'kubernetes.default.svc'). */
  readonly dnsNames: readonly string[];
  /** ipAddresses become IP subjectAltNames (e.g. '127.0.0.1', '::1'). */
  readonly ipAddresses: readonly string[];
  /** days is the validity period; 365 when absent. */
  readonly days?: number;
}

/** ClientCertOptions names a client: the common name is the user, organizations its groups. */
export interface ClientCertOptions {
  readonly commonName: string;
  readonly organizations: readonly string[];
  /** days is the validity period; 365 when absent. */
  readonly days?: number;
}

/** CA_VALIDITY_DAYS is how long a cluster CA is valid: ten years, as kubeadm's CA. */
export const CA_VALIDITY_DAYS = 3650;

const DEFAULT_LEAF_DAYS = 365;
/** A serving certificate this close to expiry is reissued by ensurePki. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * createCA makes a self-signed certificate authority with a fresh RSA 2048 key, valid for
 * CA_VALIDITY_DAYS.
 */
export function createCA(commonName: string): Pem {
  const { keyPem, forgeKey, forgePublic } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = newSerial();
  setValidity(cert, CA_VALIDITY_DAYS);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/**
 * issueServingCert signs a TLS server certificate (extended key usage serverAuth) for the given
 * DNS names and IP addresses. Throws when `ca` is not a CA certificate and key, or when an IP
 * address does not parse: both are bugs of the caller.
 */
export function issueServingCert(ca: Pem, opts: ServingCertOptions): Pem {
  for (const ip of opts.ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`Serving certificate IP address ${JSON.stringify(ip)} is not an IPv4 or IPv6 address; pass host names as dnsNames`);
  }
  const altNames = [
    ...opts.dnsNames.map((value) => ({ type: 2, value })),
    ...opts.ipAddresses.map((ip) => ({ type: 7, ip })),
  ];
  return issueLeaf(ca, {
    commonName: opts.commonName,
    organizations: [],
    days: opts.days ?? DEFAULT_LEAF_DAYS,
    extKeyUsage: { name: 'extKeyUsage', serverAuth: true },
    altNames,
  });
}

/**
 * issueMemberCert signs a certificate an etcd-layer member both serves and dials with (extended
 * key usage serverAuth and clientAuth): its peer certificate, which etcd presents on both ends of
 * a peer link, and its client-port certificate, which it also presents when it forwards a
 * request to the leader's client URL (as etcd's gateway does).
 */
export function issueMemberCert(ca: Pem, opts: ServingCertOptions): Pem {
  for (const ip of opts.ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`Member certificate IP address ${JSON.stringify(ip)} is not an IPv4 or IPv6 address; pass host names as dnsNames`);
  }
  return issueLeaf(ca, {
    commonName: opts.commonName,
    organizations: [],
    days: opts.days ?? DEFAULT_LEAF_DAYS,
    extKeyUsage: { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    altNames: [...opts.dnsNames.map((value) => ({ type: 2, value })), ...opts.ipAddresses.map((ip) => ({ type: 7, ip }))],
  });
}

/**
 * issueClientCert signs a TLS client certificate (extended key usage clientAuth); Kubernetes
 * reads the common name as the user name and each organization as a group.
 */
export function issueClientCert(ca: Pem, opts: ClientCertOptions): Pem {
  return issueLeaf(ca, {
    commonName: opts.commonName,
    organizations: opts.organizations,
    days: opts.days ?? DEFAULT_LEAF_DAYS,
    extKeyUsage: { name: 'extKeyUsage', clientAuth: true },
    altNames: [],
  });
}

/** PkiPaths are the files ensurePki keeps, and the CA certificate's PEM for a kubeconfig. */
export interface PkiPaths {
  readonly dir: string;
  readonly caPath: string;
  readonly caKeyPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPem: string;
  /** servingCertIssued says this call (re)issued the serving certificate. */
  readonly servingCertIssued: boolean;
}

/** EnsurePkiOptions lists the hosts (names and IP addresses) the apiserver is reached by. */
export interface EnsurePkiOptions {
  readonly hosts: readonly string[];
}

/**
 * DEFAULT_SERVING_HOSTS are always in the apiserver's certificate: loopback, and the names pods
 * use for the in-cluster `kubernetes` service.
 */
export const DEFAULT_SERVING_HOSTS: readonly string[] = [
  'localhost',
  '127.0.0.1',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/**
 * ensurePki keeps the cluster PKI under `<dir>/pki`: ca.crt, ca.key, apiserver.crt and
 * apiserver.key (keys mode 0600). It creates what is missing and reuses what exists; it
 * reissues the serving certificate when the requested hosts (plus DEFAULT_SERVING_HOSTS) differ
 * from its subjectAltNames, when it was not signed by the CA on disk, or when it expires within
 * 30 days. A CA is never replaced: every kubeconfig handed out trusts it.
 */
export function ensurePki(dir: string, opts: EnsurePkiOptions): PkiPaths {
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const caPath = join(pkiDir, 'ca.crt');
  const caKeyPath = join(pkiDir, 'ca.key');
  const certPath = join(pkiDir, 'apiserver.crt');
  const keyPath = join(pkiDir, 'apiserver.key');

  let ca: Pem;
  if (existsSync(caPath) && existsSync(caKeyPath)) {
    ca = { certPem: readFileSync(caPath, 'utf8'), keyPem: readFileSync(caKeyPath, 'utf8') };
  } else {
    ca = createCA('raftkube-ca');
    writeFileSync(caPath, ca.certPem, { mode: 0o644 });
    writeSecret(caKeyPath, ca.keyPem);
  }

  const hosts = [...new Set([...DEFAULT_SERVING_HOSTS, ...opts.hosts])];
  const dnsNames = hosts.filter((h) => isIP(h) === 0);
  const ipAddresses = hosts.filter((h) => isIP(h) !== 0);
  const current = existsSync(certPath) && existsSync(keyPath) ? readFileSync(certPath, 'utf8') : undefined;
  const servingCertIssued = current === undefined || !servingCertFits(current, ca.certPem, dnsNames, ipAddresses);
  if (servingCertIssued) {
    const serving = issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames, ipAddresses });
    writeFileSync(certPath, serving.certPem, { mode: 0o644 });
    writeSecret(keyPath, serving.keyPem);
  }
  return { dir: pkiDir, caPath, caKeyPath, certPath, keyPath, caPem: ca.certPem, servingCertIssued };
}

/**
 * subjectAltNames reads a certificate's DNS and IP subjectAltNames (with Node's X509Certificate,
 * which prints them as `DNS:a, IP Address:1.2.3.4`).
 */
export function subjectAltNames(certPem: string): { dnsNames: string[]; ipAddresses: string[] } {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const part of san.split(', ')) {
    if (part.startsWith('DNS:')) dnsNames.push(part.slice('DNS:'.length));
    else if (part.startsWith('IP Address:')) ipAddresses.push(normalizeIp(part.slice('IP Address:'.length)));
  }
  return { dnsNames, ipAddresses };
}

function servingCertFits(certPem: string, caPem: string, dnsNames: readonly string[], ipAddresses: readonly string[]): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return false; // unreadable: reissue
  }
  const caCert = new X509Certificate(caPem);
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  const have = subjectAltNames(certPem);
  return sameSet(have.dnsNames, dnsNames) && sameSet(have.ipAddresses, ipAddresses.map(normalizeIp));
}

interface LeafSpec {
  readonly commonName: string;
  readonly organizations: readonly string[];
  readonly days: number;
  readonly extKeyUsage: { name: 'extKeyUsage'; serverAuth?: true; clientAuth?: true };
  readonly altNames: readonly ({ type: number; value: string } | { type: number; ip: string })[];
}

function issueLeaf(ca: Pem, spec: LeafSpec): Pem {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { keyPem, forgePublic } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = newSerial();
  setValidity(cert, spec.days);
  cert.setSubject([
    ...spec.organizations.map((value) => ({ name: 'organizationName', value })),
    { name: 'commonName', value: spec.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    spec.extKeyUsage,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (spec.altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames: spec.altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

function newKeyPair(): { keyPem: string; forgeKey: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const forgePublic = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { keyPem, forgeKey, forgePublic };
}

/** newSerial is 16 random bytes with the top bit clear: X.509 serials must be positive. */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  // Backdated an hour so that a peer whose clock runs a little behind accepts it at once.
  cert.validity.notBefore = new Date(now - 3600 * 1000);
  cert.validity.notAfter = new Date(now + days * 24 * 3600 * 1000);
}

function writeSecret(path: string, contents: string): void {
  writeFileSync(path, contents, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

function normalizeIp(ip: string): string {
  // Node prints IPv6 SANs fully expanded in some versions; compare a canonical form.
  if (isIP(ip) !== 6) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}
