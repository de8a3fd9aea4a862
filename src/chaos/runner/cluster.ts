/**
 * cluster: the chaos run's own cluster — kv members as separate processes (each `node
 * <raftkube main> kv ...` itself, so signals reach it), on loopback or each in its own network
 * namespace. The nemesis kills, pauses and restarts members through it. cluster.json is kept
 * current in the data directory, so `raftkube down --data-dir DIR` stops whatever a crashed run
 * left behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, writeClusterFile, type ClusterFile } from '../../cli/cluster-file.js';
import { mainCommand, memberArgs, planMembers, probeCluster, stopPids, summarize, type MemberPlan, type Summary } from '../../cli/local-cluster.js';
import type { NetnsNetwork } from '../nemesis/netns.js';

/** ChaosClusterOptions say what to start. */
export interface ChaosClusterOptions {
  readonly dataDir: string;
  readonly masters: number;
  /** basePort is the first loopback port (ignored in namespaces, where every member has its own address). */
  readonly basePort: number;
  readonly network: NetnsNetwork | null;
  /** memberArgs are added to every member's command line. */
  readonly memberArgs: readonly string[];
  /** env is added to every member's environment. */
  readonly env: Readonly<Record<string, string>>;
}

async function until(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** ChaosCluster is the set of member processes of one run. */
export class ChaosCluster {
  readonly plans: readonly MemberPlan[];
  readonly #o: ChaosClusterOptions;
  readonly #pids: (number | null)[];
  readonly #paused = new Set<number>();

  constructor(o: ChaosClusterOptions) {
    this.#o = o;
    const net = o.network;
    this.plans = net === null
      ? planMembers(o.masters, o.basePort)
      : net.members.map((m, i) => ({ name: `m${i + 1}`, clientURL: `http://${m.address}:2379`, peerURL: `http://${m.address}:2380` }));
    this.#pids = this.plans.map(() => null);
  }

  get names(): string[] {
    return this.plans.map((p) => p.name);
  }

  get clientURLs(): string[] {
    return this.plans.map((p) => p.clientURL);
  }

  /** startAll starts every member that is not running. */
  startAll(): void {
    for (let i = 0; i < this.plans.length; i++) if (!this.running(i)) this.#spawn(i);
    this.#writeFile();
  }

  running(i: number): boolean {
    const pid = this.#pids[i];
    return pid !== null && pid !== undefined && isAlive(pid);
  }

  #spawn(i: number): void {
    const plan = this.plans[i]!;
    const { cmd, args } = mainCommand();
    const full = [...args, ...memberArgs(this.plans, plan, { dataDir: this.#o.dataDir, extraArgs: this.#o.memberArgs })];
    const c = this.#o.network === null ? { cmd, args: full } : this.#o.network.wrap(i, cmd, full);
    const fd = openSync(join(this.#o.dataDir, `${plan.name}.log`), 'a');
    const child = spawn(c.cmd, c.args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...this.#o.env } });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`Could not start member ${plan.name}; see its log in ${this.#o.dataDir}`);
    child.unref();
    this.#pids[i] = child.pid;
  }

  /** kill sends SIGKILL to member i and waits until it is gone. */
  async kill(i: number): Promise<void> {
    const pid = this.#pids[i];
    if (pid === null || pid === undefined || !isAlive(pid)) return;
    process.kill(pid, 'SIGKILL');
    this.#paused.delete(i);
    if (!(await until(() => !isAlive(pid), 10_000))) throw new Error(`Member ${this.plans[i]!.name} (pid ${pid}) did not exit after SIGKILL`);
  }

  /** restart starts member i again if it is not running. */
  restart(i: number): void {
    if (this.running(i)) return;
    this.#spawn(i);
    this.#writeFile();
  }

  /** pause stops member i with SIGSTOP. */
  pause(i: number): void {
    const pid = this.#pids[i];
    if (pid === null || pid === undefined || !isAlive(pid)) return;
    process.kill(pid, 'SIGSTOP');
    this.#paused.add(i);
  }

  /** resume continues member i with SIGCONT. */
  resume(i: number): void {
    const pid = this.#pids[i];
    this.#paused.delete(i);
    if (pid === null || pid === undefined || !isAlive(pid)) return;
    process.kill(pid, 'SIGCONT');
  }

  /** summary asks every member for its status. */
  async summary(): Promise<Summary> {
    return summarize(await probeCluster(this.#file(), this.#o.dataDir));
  }

  /** leader returns the index of the member that says it leads, or null. */
  async leader(): Promise<number | null> {
    const s = await this.summary();
    return s.leaderName === null ? null : this.names.indexOf(s.leaderName);
  }

  /** waitHealthy waits until every member answers and knows the leader. */
  async waitHealthy(timeoutMs: number, isStopping: () => boolean = () => false): Promise<Summary | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.summary();
      if (s.leaderName !== null && s.healthy === this.plans.length) return s;
      if (Date.now() > deadline || isStopping()) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** stop continues paused members and stops every member (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    for (const i of [...this.#paused]) this.resume(i);
    await stopPids(this.#pids.filter((p): p is number => p !== null), 5_000);
  }

  #file(): ClusterFile {
    return {
      masters: this.plans.map((p, i) => ({ name: p.name, pids: this.#pids[i] === null ? [] : [this.#pids[i]!], clientURL: p.clientURL, peerURL: p.peerURL })),
      etcdEndpoints: this.clientURLs,
      etcdOnly: true,
    };
  }

  #writeFile(): void {
    writeClusterFile(this.#o.dataDir, this.#file());
  }
}
