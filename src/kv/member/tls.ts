/**
 * tls: a member's TLS settings with etcd's flags and meaning, one set for clients
 * (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth) and one for peers
 * (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth).
 *
 * As in etcd: an https:// URL needs a certificate and key; a http:// URL is served in plain
 * text even when certificates are given (they still serve as this member's client certificate
 * when it dials a https:// URL). With client-cert-auth a connecting party must present a
 * certificate signed by the trusted CA, or the TLS handshake fails. The peer certificate is
 * both the peer listener's server certificate and the certificate this member presents when it
 * dials another member, and the peer trusted CA verifies the other side in both directions.
 */
import { readFileSync } from 'node:fs';
import type * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';

/** TlsFlags are one side's TLS flags (client or peer), as given. */
export interface TlsFlags {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly trustedCaFile?: string;
  readonly clientCertAuth: boolean;
}

/** TlsMaterial is a side's TLS flags with the files read. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** ca is the trusted CA bundle, or null to trust the system's CAs. */
  readonly ca: Buffer | null;
  readonly clientCertAuth: boolean;
}

/** TlsSide names the flags of one side, for messages. */
interface TlsSide {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly auth: string;
}

/** CLIENT_FLAGS and PEER_FLAGS are etcd's flag names for each side. */
export const CLIENT_FLAGS: TlsSide = { cert: '--cert-file', key: '--key-file', ca: '--trusted-ca-file', auth: '--client-cert-auth' };
export const PEER_FLAGS: TlsSide = { cert: '--peer-cert-file', key: '--peer-key-file', ca: '--peer-trusted-ca-file', auth: '--peer-client-cert-auth' };

/** isHttps tells whether a URL asks for TLS. */
export function isHttps(url: string): boolean {
  return url.startsWith('https://');
}

/**
 * tlsFlagsProblem says what is wrong with one side's TLS flags given the URLs it listens on,
 * naming the flag, or null: a certificate needs its key and the other way round, client
 * certificate authentication needs a trusted CA to check against, and an https:// URL needs a
 * certificate and key.
 */
export function tlsFlagsProblem(f: TlsFlags | undefined, side: TlsSide, urls: readonly { flag: string; list: readonly string[] }[]): string | null {
  const cert = f?.certFile ?? '';
  const key = f?.keyFile ?? '';
  if (cert !== '' && key === '') return `${side.cert} is given without ${side.key}; give both`;
  if (key !== '' && cert === '') return `${side.key} is given without ${side.cert}; give both`;
  if (f?.clientCertAuth === true && (f.trustedCaFile ?? '') === '') return `${side.auth} needs ${side.ca}: the CA that signs the certificates to accept`;
  if (f?.clientCertAuth === true && cert === '') return `${side.auth} needs TLS: give ${side.cert} and ${side.key} and use https:// URLs`;
  for (const { flag, list } of urls) {
    const https = list.find(isHttps);
    if (https !== undefined && cert === '') return `${flag}: ${https} is https but no certificate is given; pass ${side.cert} and ${side.key}`;
  }
  return null;
}

/** TlsLoadError is a TLS file that cannot be read or does not hold what it should. */
export class TlsLoadError extends Error {
  override readonly name = 'TlsLoadError';
}

function readPem(path: string, flag: string, what: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (err: unknown) {
    throw new TlsLoadError(`${flag}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!b.toString('latin1').includes('-----BEGIN ')) throw new TlsLoadError(`${flag}: ${path} holds no PEM ${what}`);
  return b;
}

/** loadTls reads one side's files, or returns null when the side has no certificate. */
export function loadTls(f: TlsFlags | undefined, side: TlsSide): TlsMaterial | null {
  if (f === undefined || f.certFile === undefined || f.certFile === '' || f.keyFile === undefined || f.keyFile === '') return null;
  return {
    cert: readPem(f.certFile, side.cert, 'certificate'),
    key: readPem(f.keyFile, side.key, 'private key'),
    ca: f.trustedCaFile === undefined || f.trustedCaFile === '' ? null : readPem(f.trustedCaFile, side.ca, 'CA certificate'),
    clientCertAuth: f.clientCertAuth,
  };
}

/**
 * serverTlsOptions are node:tls server options for a side: its certificate, and with
 * client-cert-auth a demand for a client certificate signed by the trusted CA (refused in the
 * handshake otherwise). `alpn` lists the protocols offered, in the server's order of preference.
 */
export function serverTlsOptions(m: TlsMaterial, alpn: readonly string[]): tls.TlsOptions {
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca === null ? {} : { ca: m.ca }),
    requestCert: m.clientCertAuth,
    rejectUnauthorized: m.clientCertAuth,
    ALPNProtocols: [...alpn],
  };
}

/**
 * channelCredentials are the gRPC credentials to dial `url` with: TLS for https:// (verifying
 * the server against the trusted CA, presenting the side's certificate), plain text otherwise.
 */
export function channelCredentials(m: TlsMaterial | null, url: string): grpc.ChannelCredentials {
  if (!isHttps(url)) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(m?.ca ?? null, m?.key ?? null, m?.cert ?? null);
}
