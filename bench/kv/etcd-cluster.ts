/**
 * etcd-cluster: a throwaway etcd cluster on loopback for the comparison — N members in a
 * temporary data directory, started with etcd's own flags, waited on until healthy with a
 * bounded poll of Status, and always stopped (gracefully, then with SIGKILL) with its
 * directory removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { isRunning, portFree } from './procs.js';
import { pollUntil, sleep, type MemberHandle, type Target } from './target.js';

/** EtcdMemberPlan is one member's name and URLs. */
export interface EtcdMemberPlan {
  readonly name: string;
  readonly clientURL: string;
  readonly peerURL: string;
}

/** planEtcdMembers lays out n members from basePort: member i uses base+2i (client) and base+2i+1 (peer). */
export function planEtcdMembers(n: number, basePort: number): EtcdMemberPlan[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `bench-etcd-${i + 1}`,
    clientURL: `http://127.0.0.1:${basePort + 2 * i}`,
    peerURL: `http://127.0.0.1:${basePort + 2 * i + 1}`,
  }));
}

/** etcdArgs is the command line of one member (etcd 3.4 flags). */
export function etcdArgs(plan: readonly EtcdMemberPlan[], m: EtcdMemberPlan, dataDir: string, token: string): string[] {
  return [
    '--name', m.name,
    '--data-dir', join(dataDir, m.name),
    '--listen-client-urls', m.clientURL,
    '--advertise-client-urls', m.clientURL,
    '--listen-peer-urls', m.peerURL,
    '--initial-advertise-peer-urls', m.peerURL,
    '--initial-cluster', plan.map((p) => `${p.name}=${p.peerURL}`).join(','),
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
  ];
}

/** etcdVersion asks the binary for its version ("3.4.23"), or null. */
export function etcdVersion(bin: string): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /etcd Version:\s*(\S+)/.exec(r.stdout)?.[1] ?? null;
}

/** findFreeBase returns the first base (base, base+100, ...) whose 2n ports are all free. */
async function findFreeBase(base: number, n: number): Promise<number> {
  for (let b = base; b + 2 * n < 65536 && b < base + 2000; b += 100) {
    let free = true;
    for (let p = b; p < b + 2 * n && free; p++) free = await portFree(p);
    if (free) return b;
  }
  throw new Error(`No ${2 * n} free loopback ports from ${base}; pass another --etcd-base-port`);
}

/** StartEtcdOptions say what to start. */
export interface StartEtcdOptions {
  readonly members: number;
  readonly bin: string;
  readonly basePort: number;
  readonly signal?: AbortSignal;
  /** healthyTimeoutMs bounds the wait for a leader (default 30 s). */
  readonly healthyTimeoutMs?: number;
}

/** LocalEtcdCluster is a running throwaway etcd cluster; stop() it, always. */
export class LocalEtcdCluster {
  readonly dataDir: string;
  readonly plan: readonly EtcdMemberPlan[];
  readonly #pids: number[];
  #stopped = false;

  private constructor(dataDir: string, plan: readonly EtcdMemberPlan[]) {
    this.dataDir = dataDir;
    this.plan = plan;
    this.#pids = plan.map(() => 0);
  }

  /** start launches the members and resolves once every one answers Status and agrees on a leader. */
  static async start(o: StartEtcdOptions): Promise<LocalEtcdCluster> {
    if (!existsSync(o.bin)) throw new Error(`etcd not found at ${o.bin}; install it (apt-get install etcd-server) or pass --etcd-bin`);
    const base = await findFreeBase(o.basePort, o.members);
    const plan = planEtcdMembers(o.members, base);
    const c = new LocalEtcdCluster(mkdtempSync(join(tmpdir(), 'raftkube-bench-etcd-')), plan);
    try {
      const token = `raftkube-bench-${process.pid}-${Date.now().toString(36)}`;
      plan.forEach((m, i) => {
        const logPath = c.logPath(m.name);
        mkdirSync(join(c.dataDir, m.name), { recursive: true });
        const fd = openSync(logPath, 'a');
        try {
          // Not detached: a Ctrl-C on the terminal reaches etcd too, so it cannot outlive us.
          const child = spawn(o.bin, etcdArgs(plan, m, c.dataDir, token), { stdio: ['ignore', fd, fd] });
          child.on('error', () => {}); // seen by the liveness check in waitHealthy
          if (child.pid === undefined) throw new Error(`Could not start ${o.bin}`);
          c.#pids[i] = child.pid;
        } finally {
          closeSync(fd);
        }
      });
      await c.waitHealthy(o.healthyTimeoutMs ?? 30_000, o.signal);
      return c;
    } catch (err: unknown) {
      await c.stop();
      throw err;
    }
  }

  /** endpoints are the members' client URLs. */
  get endpoints(): string[] {
    return this.plan.map((m) => m.clientURL);
  }

  /** pids are the members' current pids. */
  get pids(): readonly number[] {
    return this.#pids;
  }

  logPath(name: string): string {
    return join(this.dataDir, `${name}.log`);
  }

  /** target describes the cluster to the workloads. */
  target(): Target {
    const members: MemberHandle[] = this.plan.map((m, i) => ({
      name: m.name,
      clientURL: m.clientURL,
      logPath: this.logPath(m.name),
      pids: () => [this.#pids[i] ?? 0],
      replacePid: (oldPid: number, newPid: number) => {
        if (this.#pids[i] === oldPid) this.#pids[i] = newPid;
      },
    }));
    return { system: 'etcd', endpoints: this.endpoints, members, restartDetached: false };
  }

  /** waitHealthy polls Status on every member until all answer and name the same leader. */
  async waitHealthy(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const client = new EtcdClient(this.endpoints, { deadlineMs: 1_000 });
    try {
      await pollUntil(`etcd cluster in ${this.dataDir} to elect a leader`, async () => {
        this.#pids.forEach((pid, i) => {
          if (!isRunning(pid)) {
            const name = this.plan[i]?.name ?? `#${i}`;
            throw new Error(`etcd member ${name} exited during startup:\n${this.#tail(name)}`);
          }
        });
        const leaders = await Promise.all(this.plan.map((_, i) => client.statusAt(i).then((s) => s.leader, () => null)));
        const first = leaders[0];
        return first !== null && first !== undefined && first !== '0' && leaders.every((l) => l === first) ? true : undefined;
      }, { timeoutMs, intervalMs: 100, ...(signal === undefined ? {} : { signal }) });
    } finally {
      client.close();
    }
  }

  /** stop terminates every member (SIGTERM, then SIGKILL after 5 s) and removes the data. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    for (const pid of this.#pids) signal(pid, 'SIGTERM');
    const deadline = performance.now() + 5_000;
    while (this.#pids.some(isRunning) && performance.now() < deadline) await sleep(50);
    this.killNow();
  }

  /** killNow is the synchronous last resort (process exit): SIGKILL everything, remove the data. */
  killNow(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const pid of this.#pids) signal(pid, 'SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  #tail(name: string): string {
    try {
      return readFileSync(this.logPath(name), 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
