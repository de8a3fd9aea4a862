/**
 * cluster: the chaos run's own cluster — kv members as separate processes (each `node
 * <raftkube main> kv ...` itself, so signals reach it), on loopback or each in its own network
 * namespace; in the proxy mode they run on loopback and memberEnv tells each where to dial the
 * others. The nemesis kills, pauses and restarts members through it. cluster.json is kept
 * current in the data directory, so `raftkube down --data-dir DIR` stops whatever a crashed run
 * left behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, writeClusterFile, type ClusterFile } from '../../cli/cluster-file.js';
import { startComponentProcess } from '../../cli/control-plane-up.js';
import { mainCommand, memberArgs, memberEnv, planMembers, probeCluster, stopPids, summarize, type MemberPlan, type Summary } from '../../cli/local-cluster.js';
import { memberDataDir } from '../../cli/processes.js';
import { replaceMember, type Replacement, type ReplaceOptions } from '../../cli/member-replace.js';
import { EtcdClient } from '../../kv/client/etcd-client.js';
import { FAILPOINTS_FILE_ENV, failpointsArmed, writeFailpoints } from '../../kv/member/failpoints.js';
import type { NetnsNetwork } from '../nemesis/netns.js';


/**
 * FAILPOINT_ANSWER_MS bounds the wait for a member to answer before it is signalled to read its
 * failpoints: one that was just restarted (by the previous fault's heal) may take many seconds
 * to start serving on two busy cores, and an unanswering member has no SIGUSR2 handler yet.
 */
const FAILPOINT_ANSWER_MS = 30_000;
/**
 * Companion is a process that belongs beside a member: a master's apiserver, scheduler and
 * controller manager go down, pause and come back with its kv member, as they would on a real
 * master machine. A companion of no member (the load balancer, the node agents) is left alone
 * by faults. Each is `raftkube <args>`, logging to DIR/<name>.log.
 */
export interface Companion {
  readonly name: string;
  readonly args: readonly string[];
}

interface RunningCompanion {
  readonly spec: Companion;
  pid: number | null;
}

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
  /** memberEnv is added to member i's environment (the proxy mode's dial map), read at each start. */
  readonly memberEnv?: (i: number) => Readonly<Record<string, string>>;
  /** failpoints starts every member with its own test-only failpoints file (for the fsync faults). */
  readonly failpoints?: boolean;
}

/** FsyncFailpoint is what a member's failpoints file can arm. */
export type FsyncFailpoint = 'fsync=fail' | 'fsync=stall';

async function until(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export type { Replacement, ReplaceOptions, ReplaceStep } from '../../cli/member-replace.js';

/** ChaosCluster is the set of member processes of one run. */
export class ChaosCluster {
  readonly plans: readonly MemberPlan[];
  readonly #o: ChaosClusterOptions;
  readonly #pids: (number | null)[];
  readonly #paused = new Set<number>();
  /** #replacing holds the members being replaced: nothing else starts them meanwhile. */
  readonly #replacing = new Set<number>();
  /**
   * #joined holds, for a member that replaced another, the membership it joined with: it is
   * always started with `--initial-cluster-state existing` (never bootstrapped anew, even when
   * killed before it wrote anything).
   */
  readonly #joined: (readonly MemberPlan[] | null)[];
  /** #companions[i] are member i's companions; #others belong to no member. */
  readonly #companions: RunningCompanion[][];
  readonly #others: RunningCompanion[] = [];
  /** #exits says how each member's last process ended (null while it runs or before it started). */
  readonly #exits: (string | null)[];
  /** #armed holds the members whose failpoints file arms something. */
  readonly #armed = new Set<number>();

  constructor(o: ChaosClusterOptions) {
    this.#o = o;
    const net = o.network;
    this.plans = net === null
      ? planMembers(o.masters, o.basePort)
      : net.members.map((m, i) => ({ name: `m${i + 1}`, clientURL: `http://${m.address}:2379`, peerURL: `http://${m.address}:2380` }));
    this.#pids = this.plans.map(() => null);
    this.#joined = this.plans.map(() => null);
    this.#companions = this.plans.map(() => []);
    this.#exits = this.plans.map(() => null);
  }

  /** attach starts companions of member i (or, with i null, of no member) and keeps them with it. */
  attach(i: number | null, specs: readonly Companion[]): void {
    const list = i === null ? this.#others : this.#companions[i]!;
    for (const spec of specs) {
      const c: RunningCompanion = { spec, pid: null };
      list.push(c);
      this.#startCompanion(c);
    }
    this.#writeFile();
  }

  #startCompanion(c: RunningCompanion): void {
    if (c.pid !== null && isAlive(c.pid)) return;
    c.pid = startComponentProcess(this.#o.dataDir, c.spec.name, c.spec.args);
  }

  /** companionNames lists every companion's log name (for copying logs into a report). */
  get companionNames(): string[] {
    return [...this.#companions.flat(), ...this.#others].map((c) => c.spec.name);
  }

  #alivePids(list: readonly RunningCompanion[]): number[] {
    return list.map((c) => c.pid).filter((p): p is number => p !== null && isAlive(p));
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
    const joined = this.#joined[i];
    const full = [...args, ...memberArgs(joined ?? this.plans, plan, { dataDir: this.#o.dataDir, extraArgs: this.#o.memberArgs, ...(joined === null || joined === undefined ? {} : { initialClusterState: 'existing' as const }) })];
    const c = this.#o.network === null ? { cmd, args: full } : this.#o.network.wrap(i, cmd, full);
    const fd = openSync(join(this.#o.dataDir, `${plan.name}.log`), 'a');
    const env = { ...memberEnv(), ...this.#o.env, ...this.#o.memberEnv?.(i), ...(this.#o.failpoints === true ? { [FAILPOINTS_FILE_ENV]: this.#failpointsFile(i) } : {}) };
    const child = spawn(c.cmd, c.args, { detached: true, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`Could not start member ${plan.name}; see its log in ${this.#o.dataDir}`);
    child.unref();
    this.#pids[i] = child.pid;
    this.#exits[i] = null;
    child.on('exit', (code, signal) => {
      if (this.#pids[i] === child.pid) this.#exits[i] = signal === null ? `exit code ${code}` : `killed by ${signal}`;
    });
  }

  /** kill sends SIGKILL to member i and waits until it is gone. */
  async kill(i: number): Promise<void> {
    const pid = this.#pids[i];
    const pids = [...(pid === null || pid === undefined || !isAlive(pid) ? [] : [pid]), ...this.#alivePids(this.#companions[i]!)];
    this.#paused.delete(i);
    for (const p of pids) process.kill(p, 'SIGKILL');
    if (!(await until(() => pids.every((p) => !isAlive(p)), 10_000))) throw new Error(`Member ${this.plans[i]!.name} (pids ${pids.join(', ')}) did not exit after SIGKILL`);
  }

  /** restart starts member i again if it is not running (and not being replaced: the replacement starts it). */
  restart(i: number): void {
    if (!this.running(i) && !this.#replacing.has(i)) this.#spawn(i);
    for (const c of this.#companions[i]!) this.#startCompanion(c);
    this.#writeFile();
  }

  /** pause stops member i with SIGSTOP. */
  pause(i: number): void {
    const pid = this.#pids[i];
    const pids = [...(pid === null || pid === undefined || !isAlive(pid) ? [] : [pid]), ...this.#alivePids(this.#companions[i]!)];
    for (const p of pids) process.kill(p, 'SIGSTOP');
    if (pids.length > 0) this.#paused.add(i);
  }

  /** resume continues member i with SIGCONT. */
  resume(i: number): void {
    const pid = this.#pids[i];
    this.#paused.delete(i);
    const pids = [...(pid === null || pid === undefined || !isAlive(pid) ? [] : [pid]), ...this.#alivePids(this.#companions[i]!)];
    for (const p of pids) process.kill(p, 'SIGCONT');
  }

  #failpointsFile(i: number): string {
    return join(this.#o.dataDir, `${this.plans[i]!.name}.failpoints`);
  }

  /** waitExit waits (at most timeoutMs) for member i's process to end and says how it ended ("exit code 2", "killed by SIGKILL"), or null if it still runs. */
  async waitExit(i: number, timeoutMs: number): Promise<string | null> {
    // NB: the exit status arrives with the child's exit event, a moment after the pid is gone.
    if (!(await until(() => !this.running(i) && this.#exits[i] !== null, timeoutMs))) return null;
    return this.#exits[i] ?? null;
  }

  /**
   * setFailpoint arms member i's fsync failpoint (null disarms it): it writes the member's
   * failpoints file, which the member reads when it starts, and — if it runs — sends SIGUSR2
   * so it reads it now, then waits for its receipt: when this returns, the change is in force.
   * NB: the signal goes only to a member that answers: it installs its SIGUSR2 handler before it
   * serves, and without the handler SIGUSR2 would end the process.
   */
  async setFailpoint(i: number, fp: FsyncFailpoint | null): Promise<void> {
    if (this.#o.failpoints !== true) throw new Error('BUG: the members were started without failpoints files');
    const text = writeFailpoints(this.#failpointsFile(i), fp);
    if (fp === null) this.#armed.delete(i);
    else this.#armed.add(i);
    const pid = this.#pids[i];
    if (pid === null || pid === undefined || !isAlive(pid)) return;
    const me = new EtcdClient([this.plans[i]!.clientURL], { deadlineMs: 1000 });
    try {
      const deadline = Date.now() + FAILPOINT_ANSWER_MS;
      for (;;) {
        try {
          await me.statusAt(0);
          break;
        } catch (err: unknown) {
          if (Date.now() > deadline) throw new Error(`Member ${this.plans[i]!.name} did not answer within ${FAILPOINT_ANSWER_MS / 1000} s, so it was not told of its failpoints (${err instanceof Error ? err.message : String(err)})`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      me.close();
    }
    if (this.#pids[i] !== pid || !isAlive(pid)) return;
    process.kill(pid, 'SIGUSR2');
    await failpointsArmed(this.#failpointsFile(i), text, { timeoutMs: FAILPOINT_ANSWER_MS, alive: () => this.#pids[i] === pid && isAlive(pid), member: this.plans[i]!.name });
  }

  /** clearFailpoints disarms every armed failpoint. */
  async clearFailpoints(): Promise<void> {
    for (const i of [...this.#armed]) await this.setFailpoint(i, null);
  }

  /** replacing says whether member i is being replaced right now. */
  replacing(i: number): boolean {
    return this.#replacing.has(i);
  }

  /**
   * replaceMember replaces member i by a fresh one with an empty data directory, as an operator
   * replaces a failed etcd member: SIGKILL it, remove it through the Cluster API (on the live
   * members), wipe its data directory, add its successor as a learner, start it with
   * `--initial-cluster-state existing` and the current membership, and promote it once it has
   * caught up (the leader refuses until then; retried). Done when the successor is a voting
   * member that answers and knows the leader. Each step retries until `deadlineMs`. The
   * protocol is src/cli/member-replace.ts (shared with `raftkube member replace`); this supplies
   * the process steps.
   *
   * The successor keeps the slot's name and URLs (but not its ID). Keeping the client URL means
   * cluster.json and the workload's endpoint list stay right without being told. This is the one place a new member's process and links
   * come into being, so a network mode that needs to know about them hooks in here.
   */
  async replaceMember(i: number, o: ReplaceOptions): Promise<Replacement> {
    const plan = this.plans[i];
    if (plan === undefined) throw new RangeError(`No member ${i}`);
    if (this.#replacing.has(i)) throw new Error(`Member ${plan.name} is already being replaced`);
    this.#replacing.add(i);
    try {
      return await replaceMember(plan, {
        endpoints: this.plans.filter((_, j) => j !== i).map((p) => p.clientURL),
        plans: this.plans,
        kill: async () => {
          await this.kill(i);
          return `${plan.name} killed`;
        },
        wipe: () => {
          // From here on the slot only ever joins: an empty data directory started as 'new' would
          // bootstrap a cluster of its own under the removed member's ID.
          this.#joined[i] = this.plans;
          rmSync(memberDataDir(this.#o.dataDir, plan.name), { recursive: true, force: true });
        },
        start: (membership, ids) => {
          this.#joined[i] = membership;
          this.#note(i, `--- replaced: member ${ids.oldId} removed, its data directory emptied; starting its successor ${ids.newId} as a learner`);
          this.#spawn(i);
          // The master's other processes come back with its new member.
          for (const c of this.#companions[i]!) this.#startCompanion(c);
          this.#writeFile();
          return `${plan.name} started (pid ${this.#pids[i]})`;
        },
      }, o);
    } finally {
      this.#replacing.delete(i);
    }
  }

  /** #note appends a line to member i's log, so its log says where one process ends and its successor begins. */
  #note(i: number, line: string): void {
    const fd = openSync(join(this.#o.dataDir, `${this.plans[i]!.name}.log`), 'a');
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
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
    // Companions first: an apiserver outliving its members only logs errors until it is stopped.
    await stopPids([...this.#companions.flat(), ...this.#others].map((c) => c.pid).filter((p): p is number => p !== null), 5_000);
    await stopPids(this.#pids.filter((p): p is number => p !== null), 5_000);
  }

  #file(): ClusterFile {
    return {
      masters: this.plans.map((p, i) => ({
        name: p.name,
        pids: [...(this.#pids[i] === null ? [] : [this.#pids[i]!]), ...this.#companions[i]!.map((c) => c.pid).filter((x): x is number => x !== null)],
        clientURL: p.clientURL,
        peerURL: p.peerURL,
      })),
      etcdEndpoints: this.clientURLs,
      ...(this.#others.length === 0 ? {} : { nodes: this.#others.map((c) => ({ name: c.spec.name, pids: c.pid === null ? [] : [c.pid] })) }),
      etcdOnly: this.#others.length === 0 && this.#companions.every((l) => l.length === 0),
    };
  }

  #writeFile(): void {
    writeClusterFile(this.#o.dataDir, this.#file());
  }
}
