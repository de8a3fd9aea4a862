/**
 * up: `raftkube up --masters 3|5` — start a local HA cluster, show progress until a leader is
 * elected and every member is healthy, print how to use it, then either return (--detach) or
 * keep a live status line until Ctrl-C stops everything.
 */
import { SingleBar, Presets } from 'cli-progress';
import { EtcdClient } from '../kv/client/etcd-client.js';
import { clusterFilePath, isAlive, readClusterFile, writeClusterFile, type ClusterFile } from './cluster-file.js';
import { logTail, planMembers, probeCluster, startMemberProcess, stopPids, summarize, type MemberPlan } from './local-cluster.js';

/** UpOptions are `up`'s flags. */
export interface UpOptions {
  readonly masters: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly detach: boolean;
  readonly timeoutMs: number;
  readonly memberArgs: readonly string[];
}

/** UpError is a failure to bring the cluster up, with what to do about it. */
export class UpError extends Error {
  override readonly name = 'UpError';
}

function plansFrom(existing: ClusterFile | null, o: UpOptions): MemberPlan[] {
  if (existing === null) return planMembers(o.masters, o.basePort);
  if (existing.masters.length !== o.masters) {
    throw new UpError(`${clusterFilePath(o.dataDir)} holds a ${existing.masters.length}-master cluster, not ${o.masters}; use --masters ${existing.masters.length} or another --data-dir`);
  }
  return existing.masters.map((m) => ({ name: m.name, clientURL: m.clientURL, peerURL: m.peerURL }));
}

/** allPublished tells whether every member has published its client URLs (so any can forward). */
async function allPublished(file: ClusterFile): Promise<boolean> {
  const client = new EtcdClient(file.masters.map((m) => m.clientURL), { deadlineMs: 1500 });
  try {
    const r = await client.memberList();
    return r.members.length >= file.masters.length && r.members.every((m) => m.clientURLs.length > 0);
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** up starts (or resumes) the cluster; resolves once healthy (detach) or stopped (foreground). */
export async function up(o: UpOptions): Promise<void> {
  const existing = readClusterFile(o.dataDir);
  if (existing !== null) {
    const running = existing.masters.filter((m) => m.pids.some(isAlive));
    if (running.length > 0) {
      throw new UpError(`A cluster is already running from ${o.dataDir} (${running.map((m) => m.name).join(', ')}); stop it with: raftkube down --data-dir ${o.dataDir}`);
    }
  }
  const plans = plansFrom(existing, o);
  const resumed = existing !== null;
  process.stderr.write(`${resumed ? 'Resuming' : 'Starting'} a ${plans.length}-master cluster in ${o.dataDir}\n`);
  const pids = new Map<string, number>();
  for (const p of plans) pids.set(p.name, startMemberProcess(plans, p, { dataDir: o.dataDir, extraArgs: o.memberArgs }));
  const file: ClusterFile = {
    masters: plans.map((p) => ({ name: p.name, pids: [pids.get(p.name)!], clientURL: p.clientURL, peerURL: p.peerURL })),
    etcdEndpoints: plans.map((p) => p.clientURL),
  };
  writeClusterFile(o.dataDir, file);
  const allPids = [...pids.values()];

  const bar = new SingleBar({ format: 'members healthy [{bar}] {value}/{total} | {state}', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  bar.start(plans.length, 0, { state: 'starting processes' });
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      const dead = file.masters.find((m) => !m.pids.some(isAlive));
      if (dead !== undefined) {
        throw new UpError(`Member ${dead.name} exited during start-up. Its log ends with:\n${logTail(o.dataDir, dead.name)}`);
      }
      const states = await probeCluster(file);
      const s = summarize(states);
      bar.update(s.healthy, { state: s.leaderName === null ? 'electing a leader' : `leader ${s.leaderName}, term ${s.term}` });
      if (s.leaderName !== null && s.healthy === plans.length && (await allPublished(file))) break;
      if (Date.now() > deadline) {
        const bad = states.filter((st) => st.status === null || st.status.leader === '0').map((st) => `${st.name}: ${st.error ?? 'no leader known'}`);
        throw new UpError(`The cluster did not become healthy within ${o.timeoutMs / 1000}s:\n  ${bad.join('\n  ')}\nLogs are in ${o.dataDir}/<name>.log`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err: unknown) {
    bar.stop();
    await stopPids(allPids);
    throw err;
  }
  bar.stop();
  // NB: host:port, not URLs: etcdctl's endpoint status/health send a URL as the HTTP/2
  // :authority, which Node's HTTP/2 server refuses (see the README's compatibility notes).
  const endpoints = plans.map((p) => p.clientURL.replace(/^https?:\/\//, '')).join(',');
  process.stdout.write(
    [
      '',
      `raftkube is up: ${plans.length} masters (data in ${o.dataDir}, description in ${clusterFilePath(o.dataDir)})`,
      ...plans.map((p) => `  ${p.name}  client ${p.clientURL}  peer ${p.peerURL}  pid ${pids.get(p.name)}`),
      '',
      'Use it with etcdctl (v3 API):',
      `  ETCDCTL_API=3 etcdctl --endpoints ${endpoints} endpoint status -w table`,
      `  ETCDCTL_API=3 etcdctl --endpoints ${endpoints} put hello world`,
      `Status: raftkube status --data-dir ${o.dataDir}    Stop: ${o.detach ? `raftkube down --data-dir ${o.dataDir}` : 'Ctrl-C'}`,
      '',
    ].join('\n'),
  );
  if (o.detach) return;
  await foreground(file, allPids);
}

async function foreground(file: ClusterFile, pids: readonly number[]): Promise<void> {
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write('\nStopping the cluster ...\n');
      void stopPids(pids).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const tty = process.stderr.isTTY;
  while (!stopping) {
    const s = summarize(await probeCluster(file));
    const alive = file.masters.filter((m) => m.pids.some(isAlive)).length;
    const line = `leader ${s.leaderName ?? 'none'} · term ${s.term} · commit ${s.commit} · ${s.healthy}/${s.total} healthy · ${alive}/${s.total} running`;
    if (!stopping) process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    await Promise.race([new Promise((r) => setTimeout(r, tty ? 1000 : 5000)), stopped]);
  }
  await stopped;
  process.stderr.write('Stopped.\n');
}
