/**
 * harness: the REST face's test rig — a server over the fake registry on a free loopback
 * port, a kubeconfig for it, and a bounded runner for the real kubectl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createRestServer, type RestServer, type RestServerOptions } from '../../../src/control-plane/apiserver/rest/index.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';
import { FakeRegistry } from './fake-registry.js';

/** TOKEN is the bearer token the harness's authenticator accepts. */
export const TOKEN = 'test-admin-token';

/** ADMIN is the user TOKEN authenticates as. */
export const ADMIN: UserInfo = { username: 'admin', uid: 'admin-uid', groups: ['system:masters', 'system:authenticated'] };

/** Rig is a running server with its registry and address. */
export interface Rig {
  readonly registry: FakeRegistry;
  readonly server: RestServer;
  readonly url: string;
  /** fetch calls the server with the admin token unless headers say otherwise. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * selfSignedCert makes a throwaway EC certificate for 127.0.0.1 with the openssl CLI. kubectl
 * only sends credentials over TLS, so the kubectl tests serve HTTPS.
 */
export function selfSignedCert(): { readonly certPem: string; readonly keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rest-cert-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
    return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** startRig starts a server over a fresh FakeRegistry on 127.0.0.1 (HTTPS when `tls` is given). */
export async function startRig(extra: Partial<RestServerOptions> = {}): Promise<Rig> {
  const registry = new FakeRegistry();
  const server = createRestServer({
    registry,
    authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : null),
    log: pino({ level: process.env['REST_TEST_LOG'] ?? 'silent' }),
    ...extra,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const url = `${extra.tls !== undefined ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    registry,
    server,
    url,
    fetch: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string> | undefined) } }),
    close: () => server.close(),
  };
}

/** Kubeconfig is a kubeconfig file in a temporary directory. */
export interface Kubeconfig {
  readonly path: string;
  readonly dir: string;
  remove(): void;
}

/** writeKubeconfig writes a kubeconfig for `url` with `token`, with its own cache directory. */
export function writeKubeconfig(url: string, token: string = TOKEN): Kubeconfig {
  const dir = mkdtempSync(join(tmpdir(), 'rest-kubectl-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${url}`,
    ...(url.startsWith('https:') ? ['    insecure-skip-tls-verify: true'] : []),
    'users:',
    '- name: test',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: test',
    '  context: {cluster: test, user: test, namespace: default}',
    'current-context: test',
    '',
  ].join('\n'));
  return { path, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** KubectlResult is a finished kubectl run. */
export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** KubectlRun is a kubectl process still running (for watches). */
export interface KubectlRun {
  readonly done: Promise<KubectlResult>;
  /** output is everything printed to stdout so far. */
  output(): string;
  kill(): void;
}

/** KubectlOptions: standard input, a time limit (default 20 s) and extra environment. */
export interface KubectlOptions {
  readonly stdin?: string;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * startKubectl runs kubectl with the kubeconfig (and a private cache dir, so discovery is asked
 * afresh), killing it after `timeoutMs`.
 */
export function startKubectl(kc: Kubeconfig, args: readonly string[], opts: KubectlOptions = {}): KubectlRun {
  const child = spawn('kubectl', ['--kubeconfig', kc.path, '--cache-dir', join(kc.dir, 'cache'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: kc.path, HOME: kc.dir, ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  child.stdin.end(opts.stdin ?? '');
  const done = new Promise<KubectlResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { done, output: () => stdout, kill: () => child.kill('SIGKILL') };
}

/** kubectl runs kubectl to completion. */
export function kubectl(kc: Kubeconfig, args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  return startKubectl(kc, args, opts).done;
}

/** pollUntil polls `cond` every 20 ms until it holds or `timeoutMs` passes; it answers whether it held. */
export async function pollUntil(cond: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
