/**
 * local-cluster: starting, watching and stopping the members of a local cluster as separate
 * processes (`raftkube up` / `down` / `status`). Each member is `node <raftkube main> kv ...`
 * itself — no wrapper in between — so signals sent to the pids in cluster.json reach it.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { EtcdCallError, EtcdClient } from '../kv/client/etcd-client.js';
import type { StatusResponse } from '../kv/proto/index.js';
import { isAlive, type ClusterFile, type MasterEntry } from './cluster-file.js';
import { memberDataDir, runningPids } from './processes.js';
import { etcdTlsOf, memberTlsArgs, type EtcdPki } from './etcd-pki.js';

/** MemberPlan is what is needed to start one member. */
export interface MemberPlan {
  readonly name: string;
  readonly clientURL: string;
  readonly peerURL: string;
}

/** planMembers lays out n members on loopback from basePort (client, peer pairs), https:// with `tls`. */
export function planMembers(n: number, basePort: number, o: { readonly tls?: boolean } = {}): MemberPlan[] {
  const scheme = o.tls === true ? 'https' : 'http';
  return Array.from({ length: n }, (_, i) => ({
    name: `m${i + 1}`,
    clientURL: `${scheme}://127.0.0.1:${basePort + 2 * i}`,
    peerURL: `${scheme}://127.0.0.1:${basePort + 2 * i + 1}`,
  }));
}

/** StartOptions are the knobs `up` passes to every member. */
export interface StartOptions {
  readonly dataDir: string;
  readonly extraArgs?: readonly string[];
  /** initialClusterState is 'existing' for a member joining a running cluster (default 'new'). */
  readonly initialClusterState?: 'new' | 'existing';
  /** pki gives the member its certificates and turns on client and peer certificate authentication. */
  readonly pki?: EtcdPki;
}

/** memberArgs builds the `raftkube kv` command line of one member. */
export function memberArgs(plan: readonly MemberPlan[], m: MemberPlan, o: StartOptions): string[] {
  return [
    'kv',
    '--name', m.name,
    '--data-dir', memberDataDir(o.dataDir, m.name),
    '--listen-client-urls', m.clientURL,
    '--advertise-client-urls', m.clientURL,
    '--listen-peer-urls', m.peerURL,
    '--initial-cluster', plan.map((p) => `${p.name}=${p.peerURL}`).join(','),
    '--initial-cluster-state', o.initialClusterState ?? 'new',
    ...(o.pki === undefined ? [] : memberTlsArgs(o.pki, m.name)),
    ...(o.extraArgs ?? []),
  ];
}

/** mainScript is the command that runs raftkube in a child: node with this process's loaders. */
export function mainCommand(): { cmd: string; args: string[] } {
  const script = process.argv[1];
  if (script === undefined) throw new Error('Cannot tell which script runs raftkube (process.argv[1] is empty)');
  return { cmd: process.execPath, args: [...process.execArgv, script] };
}

/** HUGE_PAGES_TUNABLE is glibc's setting that has malloc ask for transparent huge pages (glibc 2.35 on). */
const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb';

/**
 * memberEnv is the environment a member starts with: `env` with glibc's malloc told to back its
 * regions with transparent huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, which madvises
 * them; with THP in `madvise` mode, as here, or `always`, the kernel grants 2 MiB pages). Memory first touched
 * costs a page fault per page, about 12 µs here; a restarted member touches hundreds of MB at once
 * (RocksDB replaying its log into memtables, the Raft WAL read back), so 2 MiB pages make its
 * restart faster (README, "Restart after a crash"). A setting of glibc.malloc.hugetlb already in
 * `env` is kept, so `GLIBC_TUNABLES=glibc.malloc.hugetlb=0 raftkube up` turns it off; a glibc
 * or kernel without the setting ignores it.
 */
export function memberEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const tunables = env['GLIBC_TUNABLES'] ?? '';
  if (tunables.split(':').some((t) => t.startsWith(`${HUGE_PAGES_TUNABLE}=`))) return env;
  return { ...env, GLIBC_TUNABLES: `${tunables === '' ? '' : `${tunables}:`}${HUGE_PAGES_TUNABLE}=1` };
}

/** startMember spawns one member detached, logging to DIR/<name>.log; returns its pid. */
export function startMemberProcess(plan: readonly MemberPlan[], m: MemberPlan, o: StartOptions): number {
  const logPath = join(o.dataDir, `${m.name}.log`);
  const fd = openSync(logPath, 'a');
  const { cmd, args } = mainCommand();
  const child = spawn(cmd, [...args, ...memberArgs(plan, m, o)], { detached: true, stdio: ['ignore', fd, fd], env: memberEnv() });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`Could not start member ${m.name}; see ${logPath}`);
  child.unref();
  return child.pid;
}

/** logTail returns the last lines of a member's log, for error messages. */
export function logTail(dataDir: string, name: string, lines = 15): string {
  const p = join(dataDir, `${name}.log`);
  if (!existsSync(p)) return '(no log)';
  return readFileSync(p, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * exitReason finds why a member stopped in its log: the one-line error `raftkube kv` prints
 * last ("raftkube: ..."), else the last error-level JSON line's message, else the last line.
 */
export function exitReason(logText: string): string {
  const lines = logText.trimEnd().split('\n').filter((l) => l.trim().length > 0);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (l.startsWith('raftkube: ')) return l.slice('raftkube: '.length);
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const j = JSON.parse(lines[i]!) as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
      if (typeof j.level === 'number' && j.level >= 50) {
        const why = typeof j.err?.message === 'string' ? `: ${j.err.message}` : '';
        return `${typeof j.msg === 'string' ? j.msg : 'error'}${why}`;
      }
    } catch {
      // not a JSON log line
    }
  }
  return lines.at(-1) ?? 'no output';
}

/** MemberState is one member's view as `status` reports it. */
export interface MemberState {
  readonly name: string;
  readonly endpoint: string;
  readonly pids: readonly number[];
  /** alive says a recorded pid is still this member's process (not merely some process). */
  readonly alive: boolean;
  readonly status: StatusResponse | null;
  /** error says, for people, why the member gave no usable status (null when it did). */
  readonly error: string | null;
}

/** humanError turns a failed status call into a short reason ("connection refused"). */
export function humanError(err: unknown): string {
  if (err instanceof EtcdCallError) {
    if (/ECONNREFUSED|connection refused/i.test(err.details)) return 'connection refused';
    if (err.code === grpcStatus.DEADLINE_EXCEEDED) return 'no answer within the deadline';
    if (err.code === grpcStatus.UNAVAILABLE) return `unreachable (${err.details.replace(/^No connection established\. Last error: /, '')})`;
    return err.details;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * probeCluster asks every member for its status (in parallel, short deadline). A member that
 * answers with another cluster ID than cluster.json records is reported with status null: it
 * is someone else's process on that port, not this member.
 */
export async function probeCluster(f: ClusterFile, dataDir: string): Promise<MemberState[]> {
  const tls = etcdTlsOf(f);
  const client = new EtcdClient(f.masters.map((m) => m.clientURL), { deadlineMs: 1500, ...(tls === undefined ? {} : { tls }) });
  try {
    return await Promise.all(
      f.masters.map(async (m: MasterEntry, i): Promise<MemberState> => {
        const alive = runningPids(m, dataDir).length > 0;
        const base = { name: m.name, endpoint: m.clientURL, pids: m.pids, alive };
        try {
          const status = await client.statusAt(i);
          if (f.clusterID !== undefined && status.header.cluster_id !== f.clusterID) {
            return { ...base, status: null, error: `another cluster answers on ${m.clientURL} (cluster ID ${status.header.cluster_id}, not ${f.clusterID})` };
          }
          return { ...base, status, error: null };
        } catch (err: unknown) {
          return { ...base, status: null, error: humanError(err) };
        }
      }),
    );
  } finally {
    client.close();
  }
}

/** Summary condenses member states into what the status line shows. */
export interface Summary {
  readonly leaderName: string | null;
  readonly term: number;
  readonly commit: number;
  readonly healthy: number;
  readonly total: number;
  /** down names the members that gave no status. */
  readonly down: readonly string[];
  /** learners names the members that answer as learners: joining, not yet promoted to voters. */
  readonly learners: readonly string[];
}

/** summarize finds the leader, counts healthy members and names those that are down. */
export function summarize(states: readonly MemberState[]): Summary {
  let leaderName: string | null = null;
  let term = 0;
  let commit = 0;
  let healthy = 0;
  const down: string[] = [];
  const learners: string[] = [];
  for (const s of states) {
    if (s.status === null) {
      down.push(s.name);
      continue;
    }
    if (s.status.isLearner) learners.push(s.name);
    if (s.status.leader !== '0') healthy++;
    if (s.status.raftTerm >= term) term = s.status.raftTerm;
    if (s.status.leader === s.status.header.member_id) {
      leaderName = s.name;
      commit = s.status.raftIndex;
    }
  }
  return { leaderName, term, commit, healthy, total: states.length, down, learners };
}

/** statusLine is the one-line summary `up` keeps on screen. */
export function statusLine(s: Summary): string {
  const down = s.down.length === 0 ? '' : ` (${s.down.join(', ')} down)`;
  const joining = s.learners.length === 0 ? '' : ` · ${s.learners.join(', ')} joining (learner)`;
  return `leader ${s.leaderName ?? 'none'} · term ${s.term} · commit ${s.commit} · ${s.healthy}/${s.total} healthy${down}${joining}`;
}

/** stopPids sends SIGTERM, waits up to graceMs, then SIGKILLs what is left. */
export async function stopPids(pids: readonly number[], graceMs = 10_000): Promise<void> {
  const signal = (p: number, s: NodeJS.Signals): void => {
    try {
      process.kill(p, s);
    } catch {
      // Gone between the check and the signal.
    }
  };
  for (const p of pids) if (isAlive(p)) signal(p, 'SIGTERM');
  let deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
  for (const p of pids) if (isAlive(p)) signal(p, 'SIGKILL');
  deadline = Date.now() + 5_000;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
  if (pids.some(isAlive)) throw new Error(`Processes ${pids.filter(isAlive).join(', ')} did not exit after SIGKILL`);
}
