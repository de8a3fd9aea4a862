/**
 * harness: real raftkube clusters for the integration tests. A cluster is started with the CLI
 * (`raftkube up --detach`) in a temporary directory, on a block of loopback ports picked at
 * random and checked to be free, and stopped with `raftkube down` plus a kill of anything left.
 * Also: running etcdctl (one-shot with a timeout, or in the background), and `waitFor`, the only
 * way these tests wait: a bounded poll for a condition, never a fixed sleep.
 *
 * NB: member processes are detached (their own process group), so they outlive the test worker
 * unless killed. Every pid the harness learns of is recorded in `LIVE_PIDS` and SIGKILLed when the
 * worker exits, as a last resort should `afterAll` never run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, readClusterFile } from '../../src/cli/cluster-file.js';
import { stopPids as stopProcesses } from '../../src/cli/local-cluster.js';
import { ensureEtcdPki, etcdTlsOf, memberTlsArgs } from '../../src/cli/etcd-pki.js';
import type { EtcdTls } from '../../src/kv/client/etcd-client.js';

/** REPO_ROOT is the checkout the tests run from. */
export { isAlive };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** RAFTKUBE_MAIN is the built CLI (test/integration/global-setup.ts builds it). */
export const RAFTKUBE_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** ETCDCTL is the etcdctl binary the compatibility tests drive (override with $ETCDCTL). */
export const ETCDCTL = process.env['ETCDCTL'] ?? 'etcdctl';

const LIVE_PIDS = new Set<number>();
const LIVE_CHILDREN = new Set<ChildProcess>();
process.once('exit', () => {
  for (const pid of LIVE_PIDS) killQuietly(pid, 'SIGKILL');
  for (const c of LIVE_CHILDREN) c.kill('SIGKILL');
});

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** WaitOptions bound a poll. */
export interface WaitOptions {
  /** timeoutMs is how long to keep polling (default 15 s). */
  readonly timeoutMs?: number;
  /** intervalMs is the pause between two probes (default 100 ms). */
  readonly intervalMs?: number;
}

/**
 * waitFor polls `probe` until it returns something other than undefined, null or false, and
 * returns that. A probe that throws counts as "not yet"; on timeout the error names `what` and
 * carries the last probe error, so a failing test says what it was waiting for.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, o: WaitOptions = {}): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const intervalMs = o.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err: unknown) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last === undefined ? '' : `; last error: ${last instanceof Error ? last.message : JSON.stringify(last)}`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** CommandResult is how a finished command went. */
export interface CommandResult {
  /** code is the exit code, or null when a signal ended the command. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** timedOut says the harness killed the command at its deadline. */
  readonly timedOut: boolean;
}

/** RunOptions tune `runCommand`. */
export interface RunOptions {
  /** input is written to the command's stdin (which is then closed). */
  readonly input?: string | Buffer;
  /** timeoutMs kills the command (SIGKILL) after this long (default 30 s). */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** runCommand runs a command to completion (or its timeout) and captures its output. */
export function runCommand(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd ?? REPO_ROOT, env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    LIVE_CHILDREN.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      LIVE_CHILDREN.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      LIVE_CHILDREN.delete(child);
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading its input
    child.stdin.end(o.input ?? '');
  });
}

/** EtcdctlOptions choose the endpoints and stdin of an etcdctl run. */
export interface EtcdctlOptions extends RunOptions {
  /** endpoints as host:port, without a scheme (see the README on `:authority`). */
  readonly endpoints: readonly string[];
}

function etcdctlArgs(args: readonly string[], o: EtcdctlOptions): string[] {
  return [`--endpoints=${o.endpoints.join(',')}`, '--dial-timeout=5s', '--command-timeout=20s', ...args];
}

/** etcdctl runs etcdctl (v3 API) once against the given endpoints. */
export function etcdctl(args: readonly string[], o: EtcdctlOptions): Promise<CommandResult> {
  return runCommand(ETCDCTL, etcdctlArgs(args, o), { ...o, env: { ETCDCTL_API: '3', ...o.env } });
}

/** describeResult renders a command result for an assertion message. */
export function describeResult(r: CommandResult): string {
  return `exit ${r.code ?? 'signal'}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** BackgroundCommand is a long-running command (watch, keep-alive) whose output grows. */
export class BackgroundCommand {
  readonly #child: ChildProcess;
  #stdout = '';
  #stderr = '';
  readonly #closed: Promise<number | null>;

  constructor(cmd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    LIVE_CHILDREN.add(child);
    child.stdout?.on('data', (b: Buffer) => (this.#stdout += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (this.#stderr += b.toString('utf8')));
    this.#closed = new Promise((r) => {
      child.on('close', (code) => {
        LIVE_CHILDREN.delete(child);
        r(code);
      });
      child.on('error', () => {
        LIVE_CHILDREN.delete(child);
        r(null);
      });
    });
  }

  /** stdout is everything the command printed so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** stderr is everything the command logged so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** exited tells whether the command has ended. */
  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** stop ends the command (SIGTERM, then SIGKILL after 5 s) and waits until it is gone. */
  async stop(): Promise<void> {
    if (!this.exited) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#closed;
    clearTimeout(timer);
  }
}

/** startEtcdctl starts etcdctl in the background (watch, lease keep-alive). */
export function startEtcdctl(args: readonly string[], o: EtcdctlOptions): BackgroundCommand {
  return new BackgroundCommand(ETCDCTL, etcdctlArgs(args, o), { ETCDCTL_API: '3' });
}

/**
 * parseJsonLossless parses etcdctl's JSON output keeping 64-bit integers (member, cluster and
 * lease IDs) exact: any integer literal of 16 or more digits becomes a decimal string.
 */
export function parseJsonLossless(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((r) => {
    const srv = createServer();
    srv.once('error', () => r(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => r(true)));
  });
}

// NB: test clusters take their ports below the kernel's ephemeral range (32768 and up here), so
// that no outgoing connection or port-0 listener can take a port a cluster is about to bind, and
// each vitest worker draws from its own slice, so that two test files running at once never
// pick overlapping blocks (a block is checked free when drawn, but bound only later).
const PORT_RANGE_START = 20_000;
const PORT_RANGE_SIZE = 12_000;
const PORT_SLICES = 4;

/** freePortBlock finds `count` consecutive free loopback ports, starting at an even port, in this worker's slice of 20000–31999. */
export async function freePortBlock(count: number): Promise<number> {
  const worker = Number(process.env['VITEST_POOL_ID'] ?? '1');
  const size = PORT_RANGE_SIZE / PORT_SLICES;
  const start = PORT_RANGE_START + ((Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % PORT_SLICES) * size;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = start + 2 * Math.floor(Math.random() * ((size - count) / 2));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`Found no block of ${count} free ports in ${start}-${start + size - 1} after 50 tries; is something holding many loopback ports?`);
}

/** ClusterMember is one master as cluster.json describes it. */
export interface ClusterMember {
  readonly name: string;
  readonly pids: readonly number[];
  readonly clientURL: string;
  readonly peerURL: string;
}

function readMembers(dataDir: string): ClusterMember[] {
  const p = join(dataDir, 'cluster.json');
  if (!existsSync(p)) return [];
  const raw = JSON.parse(readFileSync(p, 'utf8')) as { masters?: unknown };
  if (!Array.isArray(raw.masters)) throw new Error(`${p} has no masters array`);
  return raw.masters.map((m: unknown, i): ClusterMember => {
    const e = m as Partial<Record<keyof ClusterMember, unknown>>;
    if (typeof e.name !== 'string' || typeof e.clientURL !== 'string' || typeof e.peerURL !== 'string' || !Array.isArray(e.pids)) {
      throw new Error(`${p}: masters[${i}] is malformed`);
    }
    return { name: e.name, clientURL: e.clientURL, peerURL: e.peerURL, pids: e.pids.filter((x): x is number => typeof x === 'number') };
  });
}

/** hostPort strips the scheme of a URL: http://127.0.0.1:2379 → 127.0.0.1:2379. */
export function hostPort(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '');
}

/** ClusterOptions shape a test cluster. */
export interface ClusterOptions {
  /** masters is the member count (default 3). */
  readonly masters?: number;
  /** spareMembers reserves ports for members added later (default 1). */
  readonly spareMembers?: number;
  /** attempts is how many port blocks to try before giving up (default 3). */
  readonly attempts?: number;
  /** extraArgs are passed on to `raftkube up` (e.g. --snapshot-count). */
  readonly extraArgs?: readonly string[];
  /**
   * controlPlane starts the apiservers and their load balancer too (default false: the etcd
   * layer alone, `up --etcd-only`, which is all the etcd-layer tests need).
   */
  readonly controlPlane?: boolean;
  /** nodes is how many node agents a control-plane cluster runs (default 0). */
  readonly nodes?: number;
  /** runtime is how those nodes run pods (default process). */
  readonly runtime?: 'process' | 'simulated';
  /**
   * tls runs the etcd layer with TLS and client certificates, as `up` does by default (default
   * false here: `up --insecure`, so the compatibility tests reach it with plain clients).
   */
  readonly tls?: boolean;
}

/** ExtraMember is a member process a test started by hand (`raftkube kv`). */
export interface ExtraMember {
  readonly name: string;
  readonly pid: number;
  readonly clientURL: string;
  readonly peerURL: string;
}

/**
 * TestCluster is a running local cluster: its members, their endpoints, the ports kept for
 * extra members, and `stop`, which must be called from afterAll.
 */
export class TestCluster {
  readonly dataDir: string;
  readonly basePort: number;
  readonly members: readonly ClusterMember[];
  readonly #extra = new Map<string, ExtraMember>();

  constructor(dataDir: string, basePort: number, members: readonly ClusterMember[]) {
    this.dataDir = dataDir;
    this.basePort = basePort;
    this.members = members;
  }

  /** clientURLs are the members' client URLs (http://host:port). */
  get clientURLs(): string[] {
    return this.members.map((m) => m.clientURL);
  }

  /** endpoints are the members' client addresses as etcdctl wants them (host:port). */
  get endpoints(): string[] {
    return this.members.map((m) => hostPort(m.clientURL));
  }

  /** pids are the processes of the original members. */
  get pids(): number[] {
    return this.members.flatMap((m) => m.pids);
  }

  /** spareURLs are the client and peer URLs reserved for the i-th extra member (0-based). */
  spareURLs(i: number): { clientURL: string; peerURL: string } {
    const port = this.basePort + 2 * (this.members.length + i);
    const scheme = this.#file()?.etcdTls === undefined ? 'http' : 'https';
    return { clientURL: `${scheme}://127.0.0.1:${port}`, peerURL: `${scheme}://127.0.0.1:${port + 1}` };
  }

  #file(): ReturnType<typeof readClusterFile> {
    return readClusterFile(this.dataDir);
  }

  /** tlsOption is `{ tls }` for an EtcdClient of a TLS cluster (the user's certificate), else `{}`. */
  get tlsOption(): { tls?: EtcdTls } {
    const f = this.#file();
    const tls = f === null ? undefined : etcdTlsOf(f);
    return tls === undefined ? {} : { tls };
  }

  /** etcdctlTls are etcdctl's --cacert/--cert/--key for a TLS cluster (none for an insecure one). */
  etcdctlTls(): string[] {
    const t = this.#file()?.etcdTls;
    return t === undefined ? [] : ['--cacert', t.caFile, '--cert', t.certFile, '--key', t.keyFile];
  }

  /** startMember starts one more member joining the running cluster (after `member add`). */
  startMember(name: string, o: { clientURL: string; peerURL: string; initialCluster: string }): ExtraMember {
    const log = openSync(join(this.dataDir, `${name}.log`), 'a');
    const args = [
      RAFTKUBE_MAIN, 'kv',
      '--name', name,
      '--data-dir', join(this.dataDir, name),
      '--listen-client-urls', o.clientURL,
      '--listen-peer-urls', o.peerURL,
      '--initial-cluster', o.initialCluster,
      '--initial-cluster-state', 'existing',
      ...(this.#file()?.etcdTls === undefined ? [] : memberTlsArgs(ensureEtcdPki(this.dataDir, [name]), name)),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`Could not start member ${name}; see ${this.logPath(name)}`);
    child.unref();
    LIVE_PIDS.add(child.pid);
    const m: ExtraMember = { name, pid: child.pid, clientURL: o.clientURL, peerURL: o.peerURL };
    this.#extra.set(name, m);
    return m;
  }

  /** stopMember stops a member started with startMember and waits until it is gone. */
  async stopMember(name: string): Promise<void> {
    const m = this.#extra.get(name);
    if (m === undefined) return;
    await stopPids([m.pid]);
    this.#extra.delete(name);
  }

  /** logPath is where a member logs. */
  logPath(name: string): string {
    return join(this.dataDir, `${name}.log`);
  }

  /** logTail is the end of a member's log, for failure messages. */
  logTail(name: string, lines = 20): string {
    const p = this.logPath(name);
    if (!existsSync(p)) return '(no log)';
    return readFileSync(p, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** deadMembers names the original members whose process is gone. */
  deadMembers(): string[] {
    return this.members.filter((m) => !m.pids.some(isAlive)).map((m) => m.name);
  }

  /** stop stops extra members, runs `raftkube down`, kills what is left and removes the data. */
  async stop(): Promise<void> {
    await stopPids([...this.#extra.values()].map((m) => m.pid));
    this.#extra.clear();
    const down = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'down', '--data-dir', this.dataDir], { timeoutMs: 30_000 });
    await stopPids(this.pids, 1_000);
    const left = this.pids.filter(isAlive);
    if (left.length > 0) throw new Error(`Members still running after down (pids ${left.join(', ')}):\n${describeResult(down)}`);
    if (process.env['RAFTKUBE_KEEP_TEST_DATA'] === undefined) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** stopPids stops processes as `raftkube down` does (SIGTERM, grace, SIGKILL) and forgets them. */
export async function stopPids(pids: readonly number[], graceMs = 10_000): Promise<void> {
  await stopProcesses(pids, graceMs);
  for (const p of pids) LIVE_PIDS.delete(p);
}

/**
 * startCluster brings up a cluster with `raftkube up --detach` in a fresh temporary directory;
 * if that fails (a port taken meanwhile, say) it cleans up and retries on another port block.
 */
export async function startCluster(o: ClusterOptions = {}): Promise<TestCluster> {
  const masters = o.masters ?? 3;
  // NB: with the control plane, up uses base+20.. for the apiservers and base+40 for the balancer.
  const ports = o.controlPlane === true ? 41 : 2 * (masters + (o.spareMembers ?? 1));
  const failures: string[] = [];
  if (!existsSync(RAFTKUBE_MAIN)) throw new Error(`${RAFTKUBE_MAIN} is missing; run npm run build (the vitest globalSetup should have)`);
  for (let attempt = 1; attempt <= (o.attempts ?? 3); attempt++) {
    const basePort = await freePortBlock(ports);
    const dataDir = mkdtempSync(join(tmpdir(), 'raftkube-it-'));
    const args = [RAFTKUBE_MAIN, 'up', '--masters', String(masters), '--data-dir', dataDir, '--base-port', String(basePort), '--detach', '--timeout', '45', ...(o.controlPlane === true ? ['--nodes', String(o.nodes ?? 0), '--runtime', o.runtime ?? 'process'] : ['--etcd-only']), ...(o.tls === true ? [] : ['--insecure']), ...(o.extraArgs ?? [])];
    const r = await runCommand(process.execPath, args, { timeoutMs: 60_000 });
    const members = readMembers(dataDir);
    for (const m of members) for (const p of m.pids) LIVE_PIDS.add(p);
    if (r.code === 0 && members.length === masters) return new TestCluster(dataDir, basePort, members);
    failures.push(`attempt ${attempt} (ports ${basePort}-${basePort + ports - 1}): ${describeResult(r)}`);
    await stopPids(members.flatMap((m) => m.pids), 2_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  throw new Error(`Could not start a ${masters}-member cluster:\n${failures.join('\n')}`);
}
