/**
 * up: `raftkube up --masters 3|5` — start a local HA cluster, or the members of one that are
 * not running, show progress until a leader is elected and every member is healthy, print how
 * to use it, then either return (--detach) or keep a live status line until Ctrl-C stops it.
 *
 * cluster.json is written only once every member is healthy, and names only processes that
 * really run; a failed `up` stops what it started and leaves the file as it was.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { EtcdClient } from '../kv/client/etcd-client.js';
import { CliError } from './cli-error.js';
import { serveDashboard } from './dashboard.js';
import { clusterFilePath, isAlive, readClusterFile, writeClusterFile, type ClusterFile, type MasterEntry } from './cluster-file.js';
import { commandHint } from './hints.js';
import { exitReason, logTail, planMembers, probeCluster, startMemberProcess, statusLine, stopPids, summarize, type MemberPlan } from './local-cluster.js';
import { checkPortRange, ensureDataDir, firstBusyPort } from './preflight.js';
import { isClusterProcess, memberDataDir, runningPids } from './processes.js';
import { apiserversReady, basePortOf, networksOf, planPorts, PORT_SPAN, startControlPlane, type ControlPlaneStart } from './control-plane-up.js';
import { MAX_PROCESS_NODES } from './networks.js';
import { ensureEtcdPki, etcdctlFlags, etcdTlsOf } from './etcd-pki.js';
import { stripScheme } from '../kv/client/etcd-client.js';
import { metricsLines, metricsPortChecks, metricsPorts, readyNodes, startComponents, type ComponentsStart, type NodeRuntime } from './components-up.js';

/** CONTROLLER_MANAGER_AVAILABLE says whether up starts a controller manager on every master. */
const CONTROLLER_MANAGER_AVAILABLE = true;

/** MASTERS_RULE is the one wording of which --masters counts are allowed (flag help, error, README). */
export const MASTERS_RULE = '3 or 5 (1 for a toy)';

/** ALLOWED_MASTERS are the counts MASTERS_RULE allows. */
export const ALLOWED_MASTERS: readonly number[] = [1, 3, 5];

/** UpOptions are `up`'s flags. */
export interface UpOptions {
  readonly masters: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly detach: boolean;
  readonly timeoutMs: number;
  readonly memberArgs: readonly string[];
  /** etcdOnly starts the etcd layer alone: no apiservers, no load balancer, no kubeconfig. */
  readonly etcdOnly?: boolean;
  /** nodes is how many node agents (or simulated nodes) to run (default 2). */
  readonly nodes?: number;
  readonly runtime?: NodeRuntime;
  /** dashboardPort is where the foreground `up` serves the dashboard (0: any free port; null: not at all). */
  readonly dashboardPort?: number | null;
  /** insecure starts a new cluster's etcd layer in plain http (default: TLS with client certificates). */
  readonly insecure?: boolean;
}

/** UpError is a failure to bring the cluster up, with what to do about it. */
export class UpError extends CliError {}

function mastersWord(n: number): string {
  return n === 1 ? '1 master' : `${n} masters`;
}

function plansFrom(existing: ClusterFile | null, o: UpOptions): MemberPlan[] {
  if (existing === null) return planMembers(o.masters, o.basePort, { tls: o.insecure !== true });
  if (existing.masters.length !== o.masters) {
    throw new UpError(
      `${clusterFilePath(o.dataDir)} holds a ${existing.masters.length}-master cluster, not ${o.masters}; ` +
        `resume it with --masters ${existing.masters.length}, or start a ${o.masters}-master cluster in another --data-dir`,
    );
  }
  return existing.masters.map((m) => ({ name: m.name, clientURL: m.clientURL, peerURL: m.peerURL }));
}

/** allPublished tells whether every member has published its client URLs (so any can forward). */
async function allPublished(file: ClusterFile): Promise<boolean> {
  const tls = etcdTlsOf(file);
  const client = new EtcdClient(file.masters.map((m) => m.clientURL), { deadlineMs: 1500, ...(tls === undefined ? {} : { tls }) });
  try {
    const r = await client.memberList();
    return r.members.length >= file.masters.length && r.members.every((m) => m.clientURLs.length > 0);
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** portAdvice says what to do about a taken port: pick others (new cluster) or free it (resume). */
function portAdvice(fresh: boolean): string {
  return fresh ? 'stop whatever holds it or pick other ports with --base-port' : 'stop whatever holds it (this cluster was set up on these ports)';
}

function exitedMessage(dataDir: string, name: string, fresh: boolean): string {
  const reason = exitReason(logTail(dataDir, name, 40));
  const log = `${memberDataDir(dataDir, name)}.log`;
  if (/EADDRINUSE|address already in use/.test(reason)) {
    const port = /EADDRINUSE\D*?[\d.]+:(\d+)/.exec(reason)?.[1];
    return `Member ${name} could not listen: port ${port ?? '?'} is already in use; ${portAdvice(fresh)} (log: ${log})`;
  }
  return `Member ${name} exited during start-up: ${reason} (log: ${log})`;
}

/** Interrupt turns the first SIGINT/SIGTERM during start-up into a flag the wait loop checks. */
class Interrupt {
  signalled = false;
  readonly #on = (): void => {
    this.signalled = true;
  };
  constructor() {
    process.on('SIGINT', this.#on);
    process.on('SIGTERM', this.#on);
  }
  dispose(): void {
    process.off('SIGINT', this.#on);
    process.off('SIGTERM', this.#on);
  }
}

/** up starts (or resumes, or heals) the cluster; resolves once healthy (detach) or stopped (foreground). */
export async function up(given: UpOptions): Promise<void> {
  const dir = ensureDataDir(given.dataDir);
  if (!dir.ok) throw new UpError(dir.error);
  const existing = readClusterFile(given.dataDir);
  // A cluster started with --etcd-only stays so when resumed (cluster.json records it).
  const o: UpOptions = { ...given, etcdOnly: given.etcdOnly === true || existing?.etcdOnly === true };
  const range = checkPortRange(o.basePort, o.etcdOnly === true ? 2 * o.masters : PORT_SPAN);
  if (!range.ok) throw new UpError(range.error);
  if ((o.runtime ?? 'process') === 'process' && (o.nodes ?? 2) > MAX_PROCESS_NODES) {
    throw new UpError(`--nodes ${o.nodes} is more than the ${MAX_PROCESS_NODES} process-runtime nodes one cluster has pod addresses for; use --runtime simulated for more`);
  }
  const plans = plansFrom(existing, o);
  const fresh = existing === null;
  // A resumed cluster keeps what it was started with: TLS exactly when its file records it.
  const pki = (fresh ? o.insecure !== true : existing.etcdTls !== undefined) ? ensureEtcdPki(o.dataDir, plans.map((p) => p.name)) : undefined;
  const running = new Map<string, number[]>();
  for (const m of existing?.masters ?? []) {
    const pids = runningPids(kvOnly(m), o.dataDir);
    if (pids.length > 0) running.set(m.name, pids);
  }
  const toStart = plans.filter((p) => !running.has(p.name));
  if (toStart.length === 0 && existing !== null && (o.etcdOnly === true || controlPlaneWhole(existing, o.dataDir))) {
    throw new UpError(`The ${mastersWord(plans.length)} in ${o.dataDir} are already running; see them with ${commandHint('status', o.dataDir)}, stop them with ${commandHint('down', o.dataDir)}`);
  }
  const cpPorts = planPorts(plans, fresh ? o.basePort : basePortOf({ masters: plans }));
  const busy = await firstBusyPort([
    ...toStart.flatMap((p) => [{ url: p.clientURL, what: `${p.name}'s client port` }, { url: p.peerURL, what: `${p.name}'s peer port` }]),
    ...(fresh && o.etcdOnly !== true ? [...cpPorts.apiservers.flatMap((a) => [{ url: `http://127.0.0.1:${a.restPort}`, what: `${a.name}'s apiserver port` }, { url: `http://127.0.0.1:${a.grpcPort}`, what: `${a.name}'s apiserver gRPC port` }]), { url: `http://127.0.0.1:${cpPorts.lbPort}`, what: "the apiservers' load balancer port" }, ...metricsPortChecks(o.basePort, plans, o.nodes ?? 2, o.runtime ?? 'process')] : []),
  ]);
  if (busy !== null) throw new UpError(`Port ${new URL(busy.url).port} (${busy.what}) is already in use; ${portAdvice(fresh)}`);

  const names = (ps: readonly { name: string }[]): string => ps.map((p) => p.name).join(', ');
  if (fresh) process.stderr.write(`Starting a ${plans.length}-master cluster in ${o.dataDir}\n`);
  else if (running.size === 0) process.stderr.write(`Resuming the ${plans.length}-master cluster in ${o.dataDir}\n`);
  else if (toStart.length > 0) process.stderr.write(`Starting ${names(toStart)}, which ${toStart.length === 1 ? 'was' : 'were'} down (${[...running.keys()].join(', ')} already running)\n`);
  else process.stderr.write(`The etcd layer of ${o.dataDir} is running; starting the control-plane processes that are not\n`);

  const started = new Map<string, number>();
  // NB: a member resumed from its own data restarts as 'existing': its WAL says who it is. One
  // that replaced another (member replace) has an ID the cluster assigned, which a 'new' start
  // would refuse as not the one --initial-cluster derives.
  const stateOf = (p: MemberPlan): 'new' | 'existing' => (hasWal(memberDataDir(o.dataDir, p.name)) ? 'existing' : 'new');
  for (const p of toStart) started.set(p.name, startMemberProcess(plans, p, { dataDir: o.dataDir, extraArgs: o.memberArgs, initialClusterState: stateOf(p), ...(pki === undefined ? {} : { pki }) }));
  const pidsOf = (name: string): number[] => running.get(name) ?? [started.get(name)!];
  const probeFile: ClusterFile = {
    masters: plans.map((p) => ({ name: p.name, pids: pidsOf(p.name), clientURL: p.clientURL, peerURL: p.peerURL, metricsURLs: { kv: `${p.clientURL}/metrics` } })),
    etcdEndpoints: plans.map((p) => p.clientURL),
    ...(existing?.clusterID === undefined ? {} : { clusterID: existing.clusterID }),
    ...(pki === undefined ? {} : { etcdTls: pki.user }),
  };

  const interrupt = new Interrupt();
  const bar = new SingleBar({ format: 'members healthy [{bar}] {value}/{total} | {state}', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  bar.start(plans.length, 0, { state: 'starting processes' });
  const deadline = Date.now() + o.timeoutMs;
  let clusterID: string | undefined;
  try {
    for (;;) {
      if (interrupt.signalled) throw new UpError(`Interrupted; stopped the members this up started (${names(toStart)})`);
      const dead = toStart.find((p) => !isAlive(started.get(p.name)!));
      if (dead !== undefined) throw new UpError(exitedMessage(o.dataDir, dead.name, fresh));
      const states = await probeCluster(probeFile, o.dataDir);
      const s = summarize(states);
      bar.update(s.healthy, { state: s.leaderName === null ? 'electing a leader' : `leader ${s.leaderName}, term ${s.term}` });
      const ids = new Set(states.map((st) => st.status?.header.cluster_id));
      if (s.leaderName !== null && s.healthy === plans.length && ids.size === 1 && (await allPublished(probeFile))) {
        clusterID = states[0]?.status?.header.cluster_id;
        break;
      }
      if (Date.now() > deadline) {
        const bad = states.filter((st) => st.status === null || st.status.leader === '0').map((st) => `${st.name}: ${st.error ?? 'no leader known'}`);
        throw new UpError(`The cluster did not become healthy within ${o.timeoutMs / 1000}s (${bad.join('; ')}); logs are in ${o.dataDir}/<name>.log`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err: unknown) {
    bar.stop();
    interrupt.dispose();
    await stopPids([...started.values()]);
    // A new cluster that never came up leaves no half-initialised member data behind (only logs),
    // so the next `up` starts clean, on whatever ports it is given.
    if (fresh) for (const p of toStart) rmSync(memberDataDir(o.dataDir, p.name), { recursive: true, force: true });
    throw err;
  }
  bar.stop();
  const etcdFile: ClusterFile = { ...probeFile, ...(clusterID === undefined ? {} : { clusterID }) };
  if (o.etcdOnly === true) {
    interrupt.dispose();
    const f: ClusterFile = { ...etcdFile, etcdOnly: true };
    writeClusterFile(o.dataDir, f);
    printUsage(f, o);
    if (!o.detach) await foreground(f, o.dataDir, o.dashboardPort ?? null);
    return;
  }
  let cp: ControlPlaneStart;
  try {
    cp = await bringUpControlPlane(etcdFile, existing, o, interrupt);
  } catch (err: unknown) {
    interrupt.dispose();
    await stopPids([...started.values()]);
    throw err;
  }
  let comps: ComponentsStart;
  try {
    comps = await bringUpComponents(cp, existing, o, interrupt);
  } catch (err: unknown) {
    interrupt.dispose();
    await stopPids([...started.values(), ...cp.started]);
    throw err;
  }
  interrupt.dispose();
  const file: ClusterFile = { ...etcdFile, masters: comps.masters, nodes: comps.nodes, loadBalancer: cp.loadBalancer, kubeconfig: cp.kubeconfig };
  writeClusterFile(o.dataDir, file);
  printUsage(file, o);
  if (o.detach) return;
  await foreground(file, o.dataDir, o.dashboardPort ?? null);
}

/** hasWal tells whether a member's data directory holds a WAL (it has run before). */
function hasWal(memberDir: string): boolean {
  const wal = join(memberDir, 'member', 'wal');
  return existsSync(wal) && readdirSync(wal).length > 0;
}

/** kvOnly narrows a master to its kv member's pid (older cluster files list only that). */
function kvOnly(m: MasterEntry): MasterEntry {
  const kv = m.components?.kv;
  return kv === undefined ? { ...m, pids: m.pids.slice(0, 1) } : { ...m, pids: [kv] };
}

/** controlPlaneWhole tells whether every apiserver and the balancer of a cluster run. */
function controlPlaneWhole(f: ClusterFile, dataDir: string): boolean {
  const up = (pid: number | undefined): boolean => pid !== undefined && isClusterProcess(pid, dataDir);
  const masters = f.masters.every((m) => up(m.components?.apiserver) && up(m.components?.scheduler) && (!CONTROLLER_MANAGER_AVAILABLE || up(m.components?.['controller-manager'])));
  const lb = (f.loadBalancer?.pids ?? []).some((p) => isClusterProcess(p, dataDir));
  const nodes = (f.nodes ?? []).every((n) => n.pids.some((p) => isClusterProcess(p, dataDir)));
  return masters && lb && nodes;
}

/** allPidsOf lists every recorded process of a cluster: masters, nodes, the balancer. */
export function allPidsOf(f: ClusterFile): number[] {
  return [...f.masters.flatMap((m) => m.pids), ...(f.nodes ?? []).flatMap((n) => n.pids), ...(f.loadBalancer?.pids ?? [])];
}

async function bringUpControlPlane(etcdFile: ClusterFile, existing: ClusterFile | null, o: UpOptions, interrupt: Interrupt): Promise<ControlPlaneStart> {
  const cp = startControlPlane(o.dataDir, etcdFile, existing);
  const bar = new SingleBar({ format: 'apiservers ready [{bar}] {value}/{total} | {state}', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  bar.start(cp.masters.length, 0, { state: 'starting apiservers' });
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      if (interrupt.signalled) throw new UpError('Interrupted while the apiservers started; stopped what this up started');
      const r = await apiserversReady(cp);
      bar.update(r.ready, { state: r.ready === cp.masters.length ? 'ready' : 'bootstrapping' });
      if (r.dead !== null) {
        const log = join(o.dataDir, `${r.dead}-apiserver.log`);
        throw new UpError(`The apiserver of ${r.dead} exited during start-up: ${exitReason(logTailOf(log))} (log: ${log})`);
      }
      const lbDead = cp.loadBalancer.pids.every((p) => !isAlive(p));
      if (lbDead) throw new UpError(`The load balancer exited during start-up: ${exitReason(logTailOf(join(o.dataDir, 'lb.log')))} (log: ${join(o.dataDir, 'lb.log')})`);
      if (r.ready === cp.masters.length) break;
      if (Date.now() > deadline) throw new UpError(`The apiservers did not become ready within ${o.timeoutMs / 1000}s (${r.ready}/${cp.masters.length} ready); logs are in ${o.dataDir}/<name>-apiserver.log`);
      await new Promise((res) => setTimeout(res, 200));
    }
  } catch (err: unknown) {
    bar.stop();
    await stopPids(cp.started);
    throw err;
  }
  bar.stop();
  return cp;
}

async function bringUpComponents(cp: ControlPlaneStart, existing: ClusterFile | null, o: UpOptions, interrupt: Interrupt): Promise<ComponentsStart> {
  const nodes = o.nodes ?? 2;
  const comps = startComponents(cp.masters, existing?.nodes ?? [], { dataDir: o.dataDir, creds: cp.creds, nodes, runtime: o.runtime ?? 'process', controllerManager: CONTROLLER_MANAGER_AVAILABLE, networks: networksOf(basePortOf(cp)), metrics: metricsPorts(basePortOf(cp)) });
  if (nodes === 0) return comps;
  const bar = new SingleBar({ format: 'nodes ready [{bar}] {value}/{total} | {state}', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  bar.start(nodes, 0, { state: 'registering' });
  const deadline = Date.now() + o.timeoutMs;
  const url = cp.masters[0]?.apiserverURL ?? cp.loadBalancer.url;
  try {
    for (;;) {
      if (interrupt.signalled) throw new UpError('Interrupted while the nodes registered; stopped what this up started');
      const deadNode = comps.nodes.find((n) => n.pids.every((p) => !isAlive(p)));
      if (deadNode !== undefined) {
        const log = join(o.dataDir, o.runtime === 'simulated' ? 'nodes-sim.log' : `node-${deadNode.name}.log`);
        throw new UpError(`The node agent ${deadNode.name} exited during start-up: ${exitReason(logTailOf(log))} (log: ${log})`);
      }
      const ready = await readyNodes(url, cp.creds.pki.caPem, cp.creds.adminToken);
      bar.update(Math.min(ready, nodes), { state: ready >= nodes ? 'ready' : 'registering' });
      if (ready >= nodes) break;
      if (Date.now() > deadline) throw new UpError(`Only ${ready} of ${nodes} nodes became Ready within ${o.timeoutMs / 1000}s; logs are in ${o.dataDir}/node-*.log`);
      await new Promise((res) => setTimeout(res, 300));
    }
  } catch (err: unknown) {
    bar.stop();
    await stopPids(comps.started);
    throw err;
  }
  bar.stop();
  return comps;
}

function logTailOf(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-40).join('\n') : '(no log)';
}

function printUsage(file: ClusterFile, o: UpOptions): void {
  // NB: host:port, not URLs: etcdctl's endpoint status/health send a URL as the HTTP/2
  // :authority, which Node's HTTP/2 server refuses (see the README's compatibility notes).
  const endpoints = file.masters.map((p) => stripScheme(p.clientURL)).join(',');
  process.stdout.write(
    [
      '',
      `raftkube is up: ${mastersWord(file.masters.length)} (data in ${o.dataDir}, description in ${clusterFilePath(o.dataDir)})`,
      ...file.masters.map((p) => `  ${p.name}  etcd ${p.clientURL}  peer ${p.peerURL}${p.apiserverURL === undefined ? '' : `  apiserver ${p.apiserverURL}`}  pids ${p.pids.join(',')}`),
      '',
      ...(file.kubeconfig === undefined
        ? []
        : [
            `Use it with kubectl (through the load balancer ${file.loadBalancer?.url ?? ''}):`,
            `  export KUBECONFIG=${file.kubeconfig}`,
            '  kubectl get namespaces',
            '  kubectl create deployment web --image=busybox --replicas=3 -- sleep 3600',
            '',
          ]),
      'Use the etcd layer with etcdctl (v3 API):',
      `  ETCDCTL_API=3 etcdctl --endpoints ${endpoints}${etcdctlFlags(file)} endpoint status -w table`,
      `  ETCDCTL_API=3 etcdctl --endpoints ${endpoints}${etcdctlFlags(file)} put hello world`,
      ...(file.etcdTls === undefined ? [] : [`  (TLS with client certificates: the files are in ${dirname(file.etcdTls.caFile)}; curl needs --cacert, --cert and --key too)`]),
      'Prometheus metrics and health (etcd\'s /metrics, /health, /livez, /readyz) on each client URL:',
      `  ${file.masters.map((p) => `${p.clientURL}/metrics`).join('  ')}`,
      ...metricsLines(file),
      `Status: ${commandHint('status', o.dataDir)}    Stop: ${o.detach ? commandHint('down', o.dataDir) : 'Ctrl-C'}`,
      ...(o.detach ? [`Dashboard: ${commandHint('dashboard', o.dataDir)}`] : []),
      '',
    ].join('\n'),
  );
}

async function foreground(file: ClusterFile, dataDir: string, dashboardPort: number | null): Promise<void> {
  const dashboard = dashboardPort === null ? null : await serveDashboard(dataDir, dashboardPort);
  if (dashboard !== null) process.stdout.write(`Dashboard: ${dashboard.url}\n`);
  let stopping = false;
  let current = file;
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write('\nStopping the cluster ...\n');
      const pids = new Set([...allPidsOf(file), ...allPidsOf(readClusterFile(dataDir) ?? current)]);
      void stopPids([...pids].filter((p) => isClusterProcess(p, dataDir))).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const tty = process.stderr.isTTY;
  while (!stopping) {
    // NB: re-read cluster.json: `raftkube member replace` records a replaced member's new process there.
    current = readClusterFile(dataDir) ?? current;
    const line = statusLine(summarize(await probeCluster(current, dataDir)));
    if (!stopping) process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    await Promise.race([new Promise((r) => setTimeout(r, tty ? 1000 : 5000)), stopped]);
  }
  await stopped;
  await dashboard?.close();
  process.stderr.write('Stopped.\n');
}
