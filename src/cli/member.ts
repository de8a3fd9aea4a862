/**
 * member: `raftkube member replace --data-dir DIR NAME` — replace a dead member of a cluster
 * started by `up` with a fresh one (empty data directory, same name and URLs, a new ID), through
 * the same steps as the chaos suite's member-replace (member-replace.ts), printing a line per
 * step. It refuses to replace a member that is alive and healthy unless --force, and refuses
 * when the other members have no leader (a replacement needs a working majority).
 */
import { appendFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CliError } from './cli-error.js';
import { isAlive, readClusterFile, writeClusterFile, type ClusterFile, type MasterEntry } from './cluster-file.js';
import { commandHint, DEFAULT_DATA_DIR } from './hints.js';
import { probeCluster, startMemberProcess, type MemberPlan } from './local-cluster.js';
import { replaceMember, REPLACE_STEPS, type Replacement } from './member-replace.js';
import { isClusterProcess, memberDataDir } from './processes.js';
import { ensureEtcdPki, etcdTlsOf } from './etcd-pki.js';

/** MemberReplaceOptions are `member replace`'s arguments. */
export interface MemberReplaceOptions {
  readonly dataDir: string;
  readonly name: string;
  /** force replaces a member even while it is alive and healthy. */
  readonly force: boolean;
  readonly timeoutMs: number;
  /** out receives the progress lines. */
  readonly out: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** kvPidOf is a master's kv member process as cluster.json records it. */
function kvPidOf(m: MasterEntry): number | undefined {
  return m.components?.kv ?? m.pids[0];
}

/** withKvPid records a master's new kv member process in place of `old`. */
function withKvPid(m: MasterEntry, old: number | undefined, pid: number): MasterEntry {
  return {
    ...m,
    pids: [pid, ...m.pids.filter((p) => p !== old)],
    ...(m.components === undefined ? {} : { components: { ...m.components, kv: pid } }),
  };
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** memberReplace replaces member `name` of the cluster in `dataDir`; resolves once its successor is a healthy voter. */
export async function memberReplace(o: MemberReplaceOptions): Promise<Replacement> {
  const f = readClusterFile(o.dataDir);
  if (f === null) throw new CliError(`No cluster in ${o.dataDir} (no cluster.json); member replace works on a cluster started by ${commandHint('up', o.dataDir)}`);
  const i = f.masters.findIndex((m) => m.name === o.name);
  const m = f.masters[i];
  if (m === undefined) throw new CliError(`No member ${o.name} in ${o.dataDir}; its members are ${f.masters.map((x) => x.name).join(', ')}`);
  const slot: MemberPlan = { name: m.name, clientURL: m.clientURL, peerURL: m.peerURL };
  const oldPid = kvPidOf(m);
  const running = oldPid !== undefined && isClusterProcess(oldPid, o.dataDir);

  const states = await probeCluster(f, o.dataDir);
  const mine = states[i]?.status ?? null;
  if (mine !== null && mine.leader !== '0' && !mine.isLearner && !o.force) {
    throw new CliError(
      `${o.name} is alive and healthy (pid ${oldPid ?? '?'}, ID ${BigInt(mine.header.member_id).toString(16)}, it knows the leader); ` +
        'member replace is for a dead or broken member. To replace it anyway (its data is thrown away and a new member rejoins empty), pass --force',
    );
  }
  const others = states.filter((_, j) => j !== i);
  if (!others.some((s) => s.status !== null && s.status.leader !== '0')) {
    throw new CliError(
      `None of the other members (${others.map((s) => s.name).join(', ')}) knows a leader: a replacement needs a working majority. ` +
        `See ${commandHint('status', o.dataDir)}; if the majority is lost for good, rebuild the cluster from a snapshot (raftkube snapshot restore)`,
    );
  }

  let n = 0;
  const total = REPLACE_STEPS.length;
  const tls = etcdTlsOf(f);
  const pki = f.etcdTls === undefined ? undefined : ensureEtcdPki(o.dataDir, [o.name]);
  return replaceMember(slot, {
    endpoints: others.map((s) => s.endpoint),
    ...(tls === undefined ? {} : { tls }),
    plans: f.masters.map((x) => ({ name: x.name, clientURL: x.clientURL, peerURL: x.peerURL })),
    kill: async () => {
      if (!running || oldPid === undefined) return `${o.name} is not running`;
      process.kill(oldPid, 'SIGKILL');
      if (!(await waitGone(oldPid, 10_000))) throw new Error(`${o.name} (pid ${oldPid}) did not exit after SIGKILL`);
      return `${o.name} (pid ${oldPid}) killed`;
    },
    wipe: () => rmSync(memberDataDir(o.dataDir, o.name), { recursive: true, force: true }),
    start: (membership, ids) => {
      appendFileSync(join(o.dataDir, `${o.name}.log`), `--- replaced: member ${ids.oldId} removed, its data directory emptied; starting its successor ${ids.newId} as a learner\n`);
      const pid = startMemberProcess(membership, slot, { dataDir: o.dataDir, initialClusterState: 'existing', ...(pki === undefined ? {} : { pki }) });
      // Re-read: `up` (or another command) may have rewritten the file since.
      const now: ClusterFile = readClusterFile(o.dataDir) ?? f;
      writeClusterFile(o.dataDir, { ...now, masters: now.masters.map((x) => (x.name === o.name ? withKvPid(x, oldPid, pid) : x)) });
      return `${o.name} started as a learner (pid ${pid}, log ${join(o.dataDir, `${o.name}.log`)})`;
    },
  }, {
    deadlineMs: o.timeoutMs,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    onStep: (step, detail) => o.out(`[${++n}/${total}] ${step}: ${detail}`),
  });
}

function positiveSeconds(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError('Must be a positive number of seconds.');
  return x;
}

/** registerMemberCommand adds `member replace` to the program. */
export function registerMemberCommand(program: Command): Command {
  const member = program.command('member').description('membership of a local cluster started by up');
  member
    .command('replace <name>')
    .description('replace a dead member by a fresh one with an empty data directory: remove it, add its successor as a learner, promote it once caught up')
    .option('--data-dir <dir>', 'the cluster data directory', DEFAULT_DATA_DIR)
    .option('--force', 'replace the member even if it is alive and healthy', false)
    .option('--timeout <seconds>', 'give up after this long', positiveSeconds, 120)
    .action(async (name: string, o: { dataDir: string; force: boolean; timeout: number }) => {
      const dataDir = resolve(o.dataDir);
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        const r = await memberReplace({ dataDir, name, force: o.force, timeoutMs: o.timeout * 1000, out: (l) => process.stderr.write(`${l}\n`), signal: abort.signal });
        process.stdout.write(`Replaced ${name}: member ${BigInt(r.oldId).toString(16)} removed, ${BigInt(r.newId).toString(16)} is a voting member. See ${commandHint('status', dataDir)}\n`);
      } catch (err: unknown) {
        if (err instanceof CliError) throw err;
        throw new CliError(`${err instanceof Error ? err.message : String(err)}; see ${join(dataDir, `${name}.log`)} and ${commandHint('status', dataDir)}`);
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
  return member;
}
