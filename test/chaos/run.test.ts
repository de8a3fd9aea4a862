/**
 * `raftkube chaos run` end to end, as CI runs it: short runs of a few seeds on 3 members with
 * the kv workload and kill, pause (and, where network namespaces can be made, partition) must
 * pass every check and leave a complete report, as must runs with every network fault through
 * the TCP proxy (--net proxy, which needs no root); the same suite against a deliberately broken
 * cluster (members that serve linearizable reads from local state) must report the violation.
 * Every run must stop its members and remove its namespaces and temporary directory.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planSchedule, type FaultKind } from '../../src/chaos/nemesis/schedule.js';
import { freePortBlock, RAFTKUBE_MAIN, REPO_ROOT, runCommand, waitFor } from '../integration/harness.js';
import { chaosRun as runChaos, describeRun, expectCleanedUp, netnsAvailable, type ChaosRun } from './harness.js';

const NETNS = netnsAvailable();
const reports = mkdtempSync(join(tmpdir(), 'raftkube-chaos-test-'));

afterAll(() => {
  rmSync(reports, { recursive: true, force: true });
});

/** chaosRun runs `raftkube chaos run ARGS` with its report in this file's scratch directory. */
function chaosRun(name: string, args: readonly string[]): Promise<ChaosRun> {
  return runChaos(reports, name, args);
}

const FAULTS: FaultKind[] = NETNS ? ['kill', 'pause', 'partition'] : ['kill', 'pause'];

describe('chaos run', () => {
  for (const seed of [1, 2, 3]) {
    it(`passes every check with seed ${seed} (${FAULTS.join(', ')}) and writes the whole report`, async () => {
      const r = await chaosRun(`seed-${seed}`, ['--masters', '3', '--duration', '15s', '--seed', String(seed), '--faults', FAULTS.join(','), '--workload', 'kv']);
      expect(r.result.code, describeRun(r)).toBe(0);
      for (const f of ['history.jsonl', 'watch.jsonl', 'schedule.json', 'verdicts.json', 'availability.json', 'final-state.json', 'timeline.svg', 'summary.txt']) {
        expect(existsSync(join(r.dir, f)), f).toBe(true);
      }
      // The schedule is the seed's, and every fault in it was injected and healed.
      const schedule = JSON.parse(readFileSync(join(r.dir, 'schedule.json'), 'utf8')) as { planned: unknown; applied: { seq: number; healNs: number | null; error?: string }[] };
      expect(schedule.planned).toEqual(planSchedule({ seed, durationMs: 15_000, kinds: FAULTS, members: 3 }));
      expect(schedule.applied.length).toBeGreaterThan(0);
      for (const a of schedule.applied) {
        expect(a.error).toBeUndefined();
        expect(a.healNs).not.toBeNull();
      }
      const verdicts = JSON.parse(readFileSync(join(r.dir, 'verdicts.json'), 'utf8')) as { exitCode: number; verdicts: { check: string; result: string }[] };
      expect(verdicts.exitCode).toBe(0);
      expect(verdicts.verdicts.map((v) => [v.check, v.result])).toEqual([['recovery', 'pass'], ['linearizability', 'pass'], ['lost writes', 'pass'], ['watch', 'pass']]);
      const history = readFileSync(join(r.dir, 'history.jsonl'), 'utf8').trim().split('\n');
      expect(history.filter((l) => l.includes('"type":"ok"')).length).toBeGreaterThan(100);
      expect(readFileSync(join(r.dir, 'timeline.svg'), 'utf8')).toContain('<svg');
      expect(r.result.stdout).toContain('during faults:');
      expectCleanedUp(r);
    }, 300_000);
  }

  // Member replacement on loopback, through the proxy and, where namespaces can be made, in
  // them: seed 3 replaces m1 twice (the same slot and URLs, a new ID each time), seed 12
  // replaces m3 and then m2.
  const replaceRuns = [
    { net: 'loopback', seed: 3, faults: ['member-replace', 'kill'] },
    ...(NETNS ? [{ net: 'netns', seed: 12, faults: ['member-replace', 'partition'] }] : []),
    { net: 'proxy', seed: 12, faults: ['member-replace', 'partition'] },
  ] as const;
  for (const { net, seed, faults } of replaceRuns) {
    it(`replaces members by fresh ones (${net}, seed ${seed}) and passes every check`, async () => {
      const r = await chaosRun(`replace-${net}`, ['--masters', '3', '--duration', '20s', '--seed', String(seed), '--faults', faults.join(','), '--net', net]);
      expect(r.result.code, describeRun(r)).toBe(0);
      const schedule = JSON.parse(readFileSync(join(r.dir, 'schedule.json'), 'utf8')) as { applied: { kind: string; members: string[]; healNs: number | null; error?: string; replaced?: { oldId: string; newId: string } }[] };
      const replaced = schedule.applied.filter((a) => a.kind === 'member-replace');
      expect(replaced.length).toBe(2);
      const seen = new Set<string>();
      for (const a of replaced) {
        expect(a.error, JSON.stringify(a)).toBeUndefined();
        expect(a.healNs).not.toBeNull();
        expect(a.replaced, JSON.stringify(a)).toBeDefined();
        expect(a.replaced!.newId).not.toBe(a.replaced!.oldId);
        // A member ID is never used twice, even when the same slot is replaced twice.
        seen.add(a.replaced!.oldId);
        expect(seen.has(a.replaced!.newId)).toBe(false);
        seen.add(a.replaced!.newId);
        // The successor joined the running cluster from an empty data directory.
        const log = readFileSync(join(r.dir, `${a.members[0]}.log`), 'utf8');
        expect(log).toContain(`--- replaced: member ${a.replaced!.oldId} removed`);
        // Through the proxy, the successor dials its peers through the same links as before.
        if (net === 'proxy') expect(log.split(`--- replaced: member ${a.replaced!.oldId} removed`)[1]).toContain('RAFTKUBE_TEST_PEER_DIAL is set');
      }
      if (replaced[0]!.members[0] === replaced[1]!.members[0]) expect(replaced[1]!.replaced!.oldId).toBe(replaced[0]!.replaced!.newId);
      const verdicts = JSON.parse(readFileSync(join(r.dir, 'verdicts.json'), 'utf8')) as { verdicts: { check: string; result: string }[] };
      expect(verdicts.verdicts.map((v) => [v.check, v.result])).toEqual([['recovery', 'pass'], ['linearizability', 'pass'], ['lost writes', 'pass'], ['watch', 'pass']]);
      expect(readFileSync(join(r.dir, 'summary.txt'), 'utf8')).toMatch(/member-replace m\d \(member \d+ replaced by \d+\)/);
      expectCleanedUp(r);
    }, 300_000);
  }

  // Disk faults with a replacement between them: seed 13 fails m1's fsyncs, replaces m2 and
  // stalls m3's fsyncs (loopback); seed 7 replaces m3, fails m1's fsyncs and then stalls them (netns).
  const diskRuns = [
    { net: 'loopback', seed: 13 },
    ...(NETNS ? [{ net: 'netns', seed: 7 }] : []),
  ] as const;
  for (const { net, seed } of diskRuns) {
    it(`survives fsync failures and stalls and a member replacement (${net}, seed ${seed}) and passes every check`, async () => {
      const faults = ['member-replace', 'fsync-fail', 'fsync-stall'];
      const r = await chaosRun(`disk-${net}`, ['--masters', '3', '--duration', '25s', '--seed', String(seed), '--faults', faults.join(','), '--net', net]);
      expect(r.result.code, describeRun(r)).toBe(0);
      const schedule = JSON.parse(readFileSync(join(r.dir, 'schedule.json'), 'utf8')) as { applied: { kind: string; members: string[]; healNs: number | null; error?: string; outcome?: string; replaced?: unknown }[] };
      expect(schedule.applied.map((a) => a.kind).sort()).toEqual([...faults].sort());
      for (const a of schedule.applied) {
        expect(a.error, JSON.stringify(a)).toBeUndefined();
        expect(a.healNs).not.toBeNull();
      }
      // The member whose fsync failed stopped itself, saying why; it did not go on serving.
      const failed = schedule.applied.find((a) => a.kind === 'fsync-fail')!;
      expect(failed.outcome).toBe('the member stopped: exit code 2');
      expect(readFileSync(join(r.dir, `${failed.members[0]}.log`), 'utf8')).toMatch(/"level":60.*EIO: i\/o error, fsync of .*injected by the test-only fsync failpoint/);
      const stalled = schedule.applied.find((a) => a.kind === 'fsync-stall')!;
      expect(readFileSync(join(r.dir, `${stalled.members[0]}.log`), 'utf8')).toContain('test failpoint fsync=off');
      expect(schedule.applied.find((a) => a.kind === 'member-replace')?.replaced).toBeDefined();
      const verdicts = JSON.parse(readFileSync(join(r.dir, 'verdicts.json'), 'utf8')) as { verdicts: { check: string; result: string }[] };
      expect(verdicts.verdicts.map((v) => [v.check, v.result])).toEqual([['recovery', 'pass'], ['linearizability', 'pass'], ['lost writes', 'pass'], ['watch', 'pass']]);
      expectCleanedUp(r);
    }, 300_000);
  }

  // The proxy mode needs no root, so it runs everywhere. 25 s hold three faults: two seeds
  // between them inject all four network faults (4: leader-partition, partition, loss; 12:
  // partition, delay, loss).
  const PROXY_FAULTS: FaultKind[] = ['partition', 'leader-partition', 'delay', 'loss'];
  for (const seed of [4, 12]) {
    it(`passes every check with seed ${seed} through the TCP proxy (--net proxy: ${PROXY_FAULTS.join(', ')}) and says so in the report`, async () => {
      const r = await chaosRun(`proxy-${seed}`, ['--net', 'proxy', '--masters', '3', '--duration', '25s', '--seed', String(seed), '--faults', PROXY_FAULTS.join(','), '--workload', 'kv']);
      expect(r.result.code, describeRun(r)).toBe(0);
      const schedule = JSON.parse(readFileSync(join(r.dir, 'schedule.json'), 'utf8')) as { netMode: string; planned: unknown; applied: { kind: string; healNs: number | null; error?: string }[] };
      expect(schedule.netMode).toContain('fault-injecting TCP proxy on every link between members');
      expect(readFileSync(join(r.dir, 'summary.txt'), 'utf8')).toContain('fault-injecting TCP proxy');
      expect(schedule.planned).toEqual(planSchedule({ seed, durationMs: 25_000, kinds: PROXY_FAULTS, members: 3 }));
      expect(schedule.applied.length).toBe(3);
      for (const a of schedule.applied) {
        expect(a.error).toBeUndefined();
        expect(a.healNs).not.toBeNull();
      }
      const verdicts = JSON.parse(readFileSync(join(r.dir, 'verdicts.json'), 'utf8')) as { exitCode: number; verdicts: { check: string; result: string }[] };
      expect(verdicts.verdicts.map((v) => [v.check, v.result])).toEqual([['recovery', 'pass'], ['linearizability', 'pass'], ['lost writes', 'pass'], ['watch', 'pass']]);
      // Each member was told to dial the others through the proxy.
      expect(readFileSync(join(r.dir, 'm1.log'), 'utf8')).toContain('RAFTKUBE_TEST_PEER_DIAL is set');
      expectCleanedUp(r);
    }, 300_000);
  }

  it('falls back from namespaces to the TCP proxy under --net auto when namespaces cannot be set up (not root)', async () => {
    // As root, the run drops to nobody, who may not make namespaces; otherwise it runs as is.
    const seed = 1;
    expect(planSchedule({ seed, durationMs: 12_000, kinds: ['partition'], members: 3 }).length).toBeGreaterThan(0);
    const open = mkdtempSync(join(tmpdir(), 'raftkube-chaos-nobody-'));
    chmodSync(open, 0o777);
    try {
      const dir = join(open, 'report');
      const basePort = await freePortBlock(10);
      const argv = [RAFTKUBE_MAIN, 'chaos', 'run', '--report', dir, '--base-port', String(basePort), '--masters', '3', '--duration', '12s', '--seed', String(seed), '--faults', 'partition'];
      const asRoot = process.getuid?.() === 0;
      const result = asRoot
        ? await runCommand('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...argv], { timeoutMs: 240_000 })
        : await runCommand(process.execPath, argv, { timeoutMs: 240_000 });
      const r = { result, dir };
      expect(result.code, describeRun(r)).toBe(0);
      expect(result.stderr).toContain('Network namespaces could not be set up');
      const schedule = JSON.parse(readFileSync(join(dir, 'schedule.json'), 'utf8')) as { netMode: string; applied: { kind: string; error?: string }[] };
      expect(schedule.netMode).toContain('fault-injecting TCP proxy');
      expect(schedule.applied.map((a) => [a.kind, a.error])).toEqual(schedule.applied.map(() => ['partition', undefined]));
      expect(readFileSync(join(dir, 'summary.txt'), 'utf8')).toContain('network faults went through the TCP proxy');
      expectCleanedUp(r);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  }, 300_000);

  // Namespaces where they can be made, and the TCP proxy everywhere.
  for (const net of [...(NETNS ? ['netns'] : []), 'proxy']) {
    it(`reports the violation of a cluster that serves reads from local state (${net})`, async () => {
      // A leader cut off from its peers keeps answering reads from its frozen state while the
      // others elect a new leader and take writes: with local reads that is a stale read every
      // time.
      const r = await chaosRun(`broken-${net}`, ['--net', net, '--duration', '20s', '--faults', 'leader-partition', '--seed', '5', '--keys', '3', '--unsafe-stale-reads-for-testing']);
      expect(r.result.code, describeRun(r)).toBe(1);
      const verdicts = JSON.parse(readFileSync(join(r.dir, 'verdicts.json'), 'utf8')) as { verdicts: { check: string; result: string }[] };
      expect(verdicts.verdicts.find((v) => v.check === 'linearizability')?.result).toBe('violation');
      expect(readFileSync(join(r.dir, 'summary.txt'), 'utf8')).toContain('is not linearizable');
      expectCleanedUp(r);
    }, 300_000);
  }

  it('heals, stops the cluster and exits 2 when interrupted (Ctrl-C)', async () => {
    const dir = join(reports, 'interrupted');
    const basePort = await freePortBlock(10);
    const child = spawn(process.execPath, [RAFTKUBE_MAIN, 'chaos', 'run', '--report', dir, '--base-port', String(basePort), '--duration', '60s', '--seed', '8', '--faults', 'kill,pause'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor('the workload to run', () => /ok [1-9]/.test(stderr), { timeoutMs: 120_000 });
      child.kill('SIGINT');
      const code = await Promise.race([closed, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000))]);
      expect(code, stderr.slice(-2000)).toBe(2);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toContain('Interrupted');
    expect(readFileSync(join(dir, 'summary.txt'), 'utf8')).toContain('interrupted');
    expectCleanedUp({ result: { code: 2, stdout, stderr, timedOut: false }, dir });
  }, 300_000);

  it('refuses bad flags with exit 2 and a message saying what to do', async () => {
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'chaos', 'run', '--faults', 'kill,explode'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown fault "explode"');
  });
});
