/**
 * `raftkube chaos run --workload both` end to end: the control plane (apiservers, schedulers,
 * controller managers, simulated nodes) runs above the members, every master's processes are
 * killed and paused together, and after healing every kv and every k8s check must pass: the
 * Deployments converge to what the history allows, no object is lost, no pod is bound twice
 * and no lease term has two leaders.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chaosRun, describeRun, expectCleanedUp, verdictsOf } from './harness.js';

const reports = mkdtempSync(join(tmpdir(), 'raftkube-chaos-k8s-test-'));

afterAll(() => {
  rmSync(reports, { recursive: true, force: true });
});

describe('chaos run with the k8s workload', () => {
  it('passes every kv and k8s check while whole masters are killed and paused', async () => {
    const r = await chaosRun(reports, 'both', ['--masters', '3', '--duration', '25s', '--seed', '11', '--faults', 'kill,pause,leader-kill', '--workload', 'both', '--net', 'loopback'], { ports: 41, timeoutMs: 400_000 });
    expect(r.result.code, describeRun(r)).toBe(0);
    expect(verdictsOf(r.dir).pairs).toEqual([
      ['recovery', 'pass'], ['linearizability', 'pass'], ['lost writes', 'pass'], ['watch', 'pass'],
      ['deployments converge', 'pass'], ['no object lost', 'pass'], ['no pod bound twice', 'pass'], ['one leader per term', 'pass'],
    ]);
    // The k8s requests were recorded, in the history format, and some succeeded.
    const lines = readFileSync(join(r.dir, 'k8s-history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; f: string });
    expect(lines.filter((l) => l.type === 'ok' && l.f === 'scale').length).toBeGreaterThan(5);
    expect(lines.filter((l) => l.type === 'ok' && l.f === 'create-configmap').length).toBeGreaterThan(5);
    // A fault on a master hit its control-plane processes too: their logs are in the report.
    for (const f of ['m1-apiserver.log', 'm2-scheduler.log', 'm3-controller-manager.log', 'nodes-sim.log', 'lb.log']) expect(existsSync(join(r.dir, f)), f).toBe(true);
    const summary = readFileSync(join(r.dir, 'summary.txt'), 'utf8');
    expect(summary).toContain('workload: both');
    expect(summary).toMatch(/k8s requests \(in the figures above\): [1-9]\d* ok/);
    expectCleanedUp(r);
  }, 420_000);
});
