/**
 * control-plane-up: the part of `raftkube up` above the etcd layer — the cluster CA, serving
 * certificate and tokens (DIR/pki, DIR/tokens.csv), one apiserver process per master, the TCP
 * load balancer in front of them, and DIR/kubeconfig pointing kubectl at the balancer. Each
 * process is `node <raftkube main> <component> ...` itself, logging to DIR/<name>-<component>.log.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensurePki, type PkiPaths } from '../control-plane/auth/pki.js';
import { ADMIN_USER, ensureTokens, generateToken, readTokenFile, TOKEN_FILE } from '../control-plane/auth/tokens.js';
import { CliError } from './cli-error.js';
import { isAlive, type ClusterFile, type MasterEntry } from './cluster-file.js';
import { mainCommand } from './local-cluster.js';
import { clusterNetworks, type ClusterNetworks } from './networks.js';
import { isClusterProcess } from './processes.js';
import { ensureEtcdPki, type EtcdClientFiles } from './etcd-pki.js';

/** Component is a per-master process above the etcd layer. */
export type Component = 'apiserver';

/** ControlPlanePorts are where a master's apiserver listens. */
export interface ControlPlanePorts {
  readonly name: string;
  readonly restPort: number;
  readonly grpcPort: number;
}

/** PORT_SPAN is how many ports from --base-port a cluster may use (etcd, apiservers, balancer). */
export const PORT_SPAN = 41;

/**
 * planPorts lays the control plane out after the etcd members: master i's apiserver at
 * base+20+2i (REST) and base+21+2i (gRPC), the load balancer at base+40.
 */
export function planPorts(masters: readonly { readonly name: string }[], basePort: number): { readonly apiservers: ControlPlanePorts[]; readonly lbPort: number } {
  return {
    apiservers: masters.map((m, i) => ({ name: m.name, restPort: basePort + 20 + 2 * i, grpcPort: basePort + 21 + 2 * i })),
    lbPort: basePort + 40,
  };
}

/** basePortOf recovers --base-port from a cluster's first member (its client port). */
export function basePortOf(file: { readonly masters: readonly { readonly clientURL: string }[] }): number {
  const first = file.masters[0];
  if (first === undefined) throw new CliError('The cluster file lists no masters');
  return Number(new URL(first.clientURL).port);
}

/** startComponentProcess starts `raftkube <args>` detached, logging to DIR/<logName>.log. */
export function startComponentProcess(dataDir: string, logName: string, args: readonly string[]): number {
  return startProcess(dataDir, logName, args);
}

function startProcess(dataDir: string, logName: string, args: readonly string[]): number {
  const logPath = join(dataDir, `${logName}.log`);
  const fd = openSync(logPath, 'a');
  const { cmd, args: base } = mainCommand();
  const child = spawn(cmd, [...base, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new CliError(`Could not start ${logName}; see ${logPath}`);
  child.unref();
  return child.pid;
}

/** Credentials are the cluster's CA, serving certificate and tokens on disk. */
export interface Credentials {
  readonly pki: PkiPaths;
  readonly tokenFile: string;
  readonly adminToken: string;
  /** kubeletTokenFile holds the token apiservers present to node agents' log endpoints. */
  readonly kubeletTokenFile: string;
}

/** ensureCredentials creates (once) the cluster CA, the apiservers' certificate and the tokens. */
export function ensureCredentials(dataDir: string): Credentials {
  const pki = ensurePki(dataDir, { hosts: ['127.0.0.1', 'localhost', '::1'] });
  const t = ensureTokens(dataDir);
  if (!t.ok) throw new CliError(`${t.error}; move the file away to have new tokens made`);
  const kubeletTokenFile = join(dataDir, 'kubelet-client.token');
  if (!existsSync(kubeletTokenFile)) writeFileSync(kubeletTokenFile, `${generateToken()}\n`, { mode: 0o600 });
  return { pki, tokenFile: t.value.path, adminToken: t.value.admin, kubeletTokenFile };
}

/** networksOf is the address blocks of the cluster whose ports start at basePort. */
export function networksOf(basePort: number): ClusterNetworks {
  return clusterNetworks(basePort, PORT_SPAN);
}

/** apiserverArgs is the `raftkube apiserver` command line of one master. */
export function apiserverArgs(dataDir: string, name: string, ports: ControlPlanePorts, etcdEndpoints: readonly string[], creds: Credentials, serviceCIDR: string, etcdTls?: EtcdClientFiles): string[] {
  return [
    'apiserver',
    '--name', name,
    '--etcd-servers', etcdEndpoints.join(','),
    ...(etcdTls === undefined ? [] : ['--etcd-cafile', etcdTls.caFile, '--etcd-certfile', etcdTls.certFile, '--etcd-keyfile', etcdTls.keyFile]),
    '--bind-address', '127.0.0.1',
    '--secure-port', String(ports.restPort),
    '--grpc-port', String(ports.grpcPort),
    '--tls-cert-file', creds.pki.certPath,
    '--tls-private-key-file', creds.pki.keyPath,
    '--token-auth-file', creds.tokenFile,
    '--kubelet-client-token-file', creds.kubeletTokenFile,
    '--service-cluster-ip-range', serviceCIDR,
  ];
}

/** lbArgs is the `raftkube lb` command line. */
export function lbArgs(dataDir: string, port: number, backends: readonly ControlPlanePorts[]): string[] {
  return ['lb', '--listen', `127.0.0.1:${port}`, '--backends', backends.map((b) => `127.0.0.1:${b.restPort}`).join(','), '--cluster-dir', dataDir];
}

/** readyz asks an apiserver's /readyz over HTTPS, trusting only the cluster CA. */
export function readyz(url: string, caPem: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 1500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** writeKubeconfig writes DIR/kubeconfig: the balancer's URL, the CA, the admin token. */
export function writeKubeconfig(dataDir: string, serverURL: string, creds: Credentials): string {
  const path = join(dataDir, 'kubeconfig');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'raftkube', cluster: { server: serverURL, 'certificate-authority-data': Buffer.from(creds.pki.caPem).toString('base64') } }],
    users: [{ name: 'admin', user: { token: creds.adminToken } }],
    contexts: [{ name: 'raftkube', context: { cluster: 'raftkube', user: 'admin', namespace: 'default' } }],
    'current-context': 'raftkube',
    preferences: {},
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** ControlPlaneStart is what `up` started above the etcd layer. */
export interface ControlPlaneStart {
  /** masters are the cluster file's entries with their apiserver added. */
  readonly masters: MasterEntry[];
  readonly loadBalancer: { readonly url: string; readonly pids: number[] };
  readonly kubeconfig: string;
  /** started lists the pids this call started (to stop them if `up` fails). */
  readonly started: number[];
  readonly creds: Credentials;
}

function runningComponent(m: MasterEntry, c: Component, dataDir: string): number | null {
  const pid = m.components?.[c];
  return pid !== undefined && isClusterProcess(pid, dataDir) ? pid : null;
}

/**
 * startControlPlane starts the apiservers and the balancer that are not running yet (resuming
 * or healing a cluster starts only what is missing) and writes the kubeconfig.
 */
export function startControlPlane(dataDir: string, etcd: ClusterFile, existing: ClusterFile | null): ControlPlaneStart {
  const creds = ensureCredentials(dataDir);
  const basePort = basePortOf(etcd);
  const plan = planPorts(etcd.masters, basePort);
  const started: number[] = [];
  const masters = etcd.masters.map((m, i): MasterEntry => {
    const ports = plan.apiservers[i]!;
    const before = existing?.masters.find((e) => e.name === m.name);
    let pid = before === undefined ? null : runningComponent(before, 'apiserver', dataDir);
    if (pid === null) {
      pid = startProcess(dataDir, `${m.name}-apiserver`, apiserverArgs(dataDir, m.name, ports, etcd.etcdEndpoints, creds, networksOf(basePort).serviceCIDR, etcd.etcdTls === undefined ? undefined : ensureEtcdPki(dataDir, []).components));
      started.push(pid);
    }
    const kvPid = m.components?.kv ?? m.pids[0];
    // The scheduler and controller manager recorded before are kept, so that healing a cluster
    // does not start them a second time (startComponents starts only those that are not running).
    const { scheduler, 'controller-manager': cm } = before?.components ?? {};
    return {
      ...m,
      pids: [...(kvPid === undefined ? [] : [kvPid]), pid],
      components: { ...(kvPid === undefined ? {} : { kv: kvPid }), apiserver: pid, ...(scheduler === undefined ? {} : { scheduler }), ...(cm === undefined ? {} : { 'controller-manager': cm }) },
      apiserverURL: `https://127.0.0.1:${ports.restPort}`,
      grpcAddress: `127.0.0.1:${ports.grpcPort}`,
    };
  });
  const lbBefore = existing?.loadBalancer?.pids.filter((p) => isClusterProcess(p, dataDir)) ?? [];
  const lbPids = lbBefore.length > 0 ? lbBefore : [startProcess(dataDir, 'lb', lbArgs(dataDir, plan.lbPort, plan.apiservers))];
  if (lbBefore.length === 0) started.push(...lbPids);
  const lbURL = `https://127.0.0.1:${plan.lbPort}`;
  const kubeconfig = writeKubeconfig(dataDir, lbURL, creds);
  return { masters, loadBalancer: { url: lbURL, pids: lbPids }, kubeconfig, started, creds };
}

/** apiserversReady counts ready apiservers and names a dead one, if any. */
export async function apiserversReady(cp: ControlPlaneStart): Promise<{ readonly ready: number; readonly dead: string | null }> {
  const dead = cp.masters.find((m) => m.components?.apiserver !== undefined && !isAlive(m.components.apiserver));
  const oks = await Promise.all(cp.masters.map((m) => (m.apiserverURL === undefined ? Promise.resolve(false) : readyz(m.apiserverURL, cp.creds.pki.caPem, cp.creds.adminToken))));
  return { ready: oks.filter(Boolean).length, dead: dead === undefined ? null : dead.name };
}

/** probeApiservers asks every master's apiserver for /readyz: ready, not ready, or down. */
export async function probeApiservers(file: ClusterFile, dataDir: string): Promise<Map<string, 'ready' | 'not-ready' | 'down'>> {
  const out = new Map<string, 'ready' | 'not-ready' | 'down'>();
  const withApi = file.masters.filter((m) => m.apiserverURL !== undefined);
  if (withApi.length === 0) return out;
  const creds = readCredentials(dataDir);
  if (creds === null) {
    for (const m of withApi) out.set(m.name, 'down');
    return out;
  }
  await Promise.all(
    withApi.map(async (m) => {
      const pid = m.components?.apiserver;
      if (pid === undefined || !isClusterProcess(pid, dataDir)) {
        out.set(m.name, 'down');
        return;
      }
      out.set(m.name, (await readyz(m.apiserverURL!, creds.caPem, creds.adminToken)) ? 'ready' : 'not-ready');
    }),
  );
  return out;
}

/** readCredentials reads the cluster CA and the admin token without creating anything. */
export function readCredentials(dataDir: string): { readonly caPem: string; readonly adminToken: string } | null {
  const tokens = readTokenFile(join(dataDir, TOKEN_FILE));
  const admin = tokens.ok ? tokens.value.find((t) => t.user === ADMIN_USER) : undefined;
  const caPath = join(dataDir, 'pki', 'ca.crt');
  if (admin === undefined || !existsSync(caPath)) return null;
  return { caPem: readFileSync(caPath, 'utf8'), adminToken: admin.token };
}

/** LeaseHolder is who holds a leader-election Lease, and since when. */
export interface LeaseHolder {
  readonly lease: string;
  readonly holder: string | null;
  readonly since: string | null;
  readonly transitions: number;
}

/** leaseHolders reads the scheduler's and controller manager's Leases through an apiserver. */
export async function leaseHolders(file: ClusterFile, dataDir: string): Promise<LeaseHolder[]> {
  const creds = readCredentials(dataDir);
  const urls = file.masters.map((m) => m.apiserverURL).filter((u): u is string => u !== undefined);
  if (creds === null || urls.length === 0) return [];
  const out: LeaseHolder[] = [];
  for (const lease of ['kube-scheduler', 'kube-controller-manager']) {
    let found: LeaseHolder = { lease, holder: null, since: null, transitions: 0 };
    for (const url of urls) {
      const body = await httpsJson(`${url}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${lease}`, creds.caPem, creds.adminToken);
      if (body === null) continue;
      const spec = (body as { spec?: { holderIdentity?: string; acquireTime?: string; leaseTransitions?: number } }).spec ?? {};
      found = { lease, holder: spec.holderIdentity ?? null, since: spec.acquireTime ?? null, transitions: spec.leaseTransitions ?? 0 };
      break;
    }
    out.push(found);
  }
  return out;
}

function httpsJson(url: string, caPem: string, token: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request(url, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 1500 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.end();
  });
}
