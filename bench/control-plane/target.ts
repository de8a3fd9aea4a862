/**
 * target: what `raftkube bench api` measures, read from a cluster's data directory — the
 * apiservers' REST URLs and gRPC addresses and every master's process ids from DIR/cluster.json,
 * the CA and the admin token from DIR/kubeconfig — and which of a master's processes is its
 * apiserver (the one whose command line runs `apiserver`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readCommandLine } from '../kv/procs.js';

/** ApiMaster is one master as the benchmark sees it. */
export interface ApiMaster {
  readonly name: string;
  /** apiserverURL is the REST API's base URL, e.g. "https://127.0.0.1:6443". */
  readonly apiserverURL: string;
  /** grpcAddress is the gRPC API's "host:port", or null when cluster.json does not give one. */
  readonly grpcAddress: string | null;
  /** pids are every process of this master. */
  readonly pids: readonly number[];
  /** apiserverPid is the apiserver's process when cluster.json names it (`components.apiserver`). */
  readonly apiserverPid: number | null;
}

/** ApiTarget is a running cluster's apiservers and how to authenticate to them. */
export interface ApiTarget {
  readonly masters: readonly ApiMaster[];
  /** caPem verifies the apiservers' certificates (null: plain HTTP or no CA in the kubeconfig). */
  readonly caPem: string | null;
  readonly token: string;
}

/** TargetError is a data directory that does not describe a cluster the benchmark can use. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** dataDirOf accepts either a data directory or the cluster.json inside it. */
export function dataDirOf(path: string): string {
  const p = resolve(path);
  return basename(p) === 'cluster.json' ? dirname(p) : p;
}

/** parseClusterJson reads the masters out of cluster.json's text (`where` names the file in errors). */
export function parseClusterJson(text: string, where: string): ApiMaster[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TargetError(`${where} is not JSON; is this a raftkube data directory?`);
  }
  if (!isRecord(raw) || !Array.isArray(raw['masters']) || raw['masters'].length === 0) throw new TargetError(`${where} lists no masters`);
  return raw['masters'].map((m: unknown, i: number): ApiMaster => {
    if (!isRecord(m)) throw new TargetError(`${where}: masters[${i}] is not an object`);
    const name = str(m['name']) ?? `master-${i + 1}`;
    const url = str(m['apiserverURL']);
    if (url === null) throw new TargetError(`${where}: master ${name} has no apiserverURL; start the cluster with a raftkube up that runs the apiservers`);
    if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new TargetError(`${where}: master ${name} has apiserverURL ${JSON.stringify(url)}, not http(s)://host:port`);
    const pids = Array.isArray(m['pids']) ? m['pids'].filter((p: unknown): p is number => Number.isSafeInteger(p) && (p as number) > 0) : [];
    const components = m['components'];
    const named = isRecord(components) ? components['apiserver'] : undefined;
    const apiserverPid = Number.isSafeInteger(named) && (named as number) > 0 ? (named as number) : null;
    return { name, apiserverURL: url.replace(/\/$/, ''), grpcAddress: str(m['grpcAddress']), pids, apiserverPid };
  });
}

/** KubeconfigAuth is what the benchmark takes from a kubeconfig: the CA and the bearer token. */
export interface KubeconfigAuth {
  readonly server: string | null;
  readonly caPem: string | null;
  readonly token: string;
}

function named(list: unknown, name: string, field: string): Record<string, unknown> | null {
  if (!Array.isArray(list)) return null;
  for (const e of list) if (isRecord(e) && e['name'] === name && isRecord(e[field])) return e[field];
  return null;
}

/** parseKubeconfig picks the current context's server, CA and token out of a kubeconfig's YAML. */
export function parseKubeconfig(text: string, where: string): KubeconfigAuth {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e: unknown) {
    throw new TargetError(`${where} is not YAML (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(doc)) throw new TargetError(`${where} is not a kubeconfig`);
  const ctxName = str(doc['current-context']) ?? (Array.isArray(doc['contexts']) && isRecord(doc['contexts'][0]) ? str(doc['contexts'][0]['name']) : null);
  const ctx = ctxName === null ? null : named(doc['contexts'], ctxName, 'context');
  if (ctx === null) throw new TargetError(`${where} has no current context`);
  const cluster = named(doc['clusters'], str(ctx['cluster']) ?? '', 'cluster');
  const user = named(doc['users'], str(ctx['user']) ?? '', 'user');
  if (cluster === null || user === null) throw new TargetError(`${where}: context ${ctxName ?? ''} names a cluster or user the file does not hold`);
  const caData = str(cluster['certificate-authority-data']);
  const caFile = str(cluster['certificate-authority']);
  const caPem = caData !== null ? Buffer.from(caData, 'base64').toString('utf8') : caFile !== null ? readFileSync(resolve(dirname(where), caFile), 'utf8') : null;
  const tokenFile = str(user['tokenFile']);
  const token = str(user['token']) ?? (tokenFile === null ? null : readFileSync(resolve(dirname(where), tokenFile), 'utf8').trim());
  if (token === null) throw new TargetError(`${where}: user ${str(ctx['user']) ?? ''} has no bearer token; the benchmark authenticates with the admin token`);
  return { server: str(cluster['server']), caPem, token };
}

/** readApiTarget reads DIR/cluster.json and DIR/kubeconfig (or the kubeconfig cluster.json names). */
export function readApiTarget(dataDir: string): ApiTarget {
  const dir = dataDirOf(dataDir);
  const clusterPath = join(dir, 'cluster.json');
  if (!existsSync(clusterPath)) throw new TargetError(`${clusterPath} does not exist; start a cluster with raftkube up --data-dir ${dir}`);
  const clusterText = readFileSync(clusterPath, 'utf8');
  const masters = parseClusterJson(clusterText, clusterPath);
  const named = (JSON.parse(clusterText) as Record<string, unknown>)['kubeconfig'];
  const kubeconfigPath = typeof named === 'string' && existsSync(named) ? named : join(dir, 'kubeconfig');
  if (!existsSync(kubeconfigPath)) throw new TargetError(`${kubeconfigPath} does not exist; raftkube up writes it next to cluster.json`);
  const auth = parseKubeconfig(readFileSync(kubeconfigPath, 'utf8'), kubeconfigPath);
  return { masters, caPem: auth.caPem, token: auth.token };
}

/** isApiServerArgv tells whether a command line runs an apiserver (`raftkube apiserver ...`). */
export function isApiServerArgv(argv: readonly string[]): boolean {
  return argv.some((a) => a === 'apiserver' || /(^|\/)(kube-)?apiserver$/.test(a));
}

/**
 * apiServerPids picks each master's apiserver processes: the one cluster.json names, else those
 * of its pids whose command line runs `apiserver`. A master without one is listed in `missing`.
 */
export function apiServerPids(masters: readonly ApiMaster[], argvOf: (pid: number) => readonly string[] | null = argvFromProc): { readonly pids: readonly { readonly master: string; readonly pid: number }[]; readonly missing: readonly string[] } {
  const pids: { master: string; pid: number }[] = [];
  const missing: string[] = [];
  for (const m of masters) {
    if (m.apiserverPid !== null) {
      pids.push({ master: m.name, pid: m.apiserverPid });
      continue;
    }
    const found = m.pids.filter((p) => {
      const argv = argvOf(p);
      return argv !== null && isApiServerArgv(argv);
    });
    if (found.length === 0) missing.push(m.name);
    for (const pid of found) pids.push({ master: m.name, pid });
  }
  return { pids, missing };
}

function argvFromProc(pid: number): readonly string[] | null {
  try {
    return readCommandLine(pid).argv;
  } catch {
    return null;
  }
}
