/**
 * run: `npm run bench:check-perf [-- --data-dir DIR] [--load s|m|l|xl]` — etcd's own
 * performance check (`etcdctl check perf`) against a running raftkube cluster, with its PASS or
 * FAIL verdict, the machine's load average and the exact command, as a bench/RESULTS.md entry.
 * The verdict depends on the machine (a busy one fails the 0.5 s slowest-request threshold),
 * which is why it is a benchmark and not a test: test/integration only checks that check perf
 * runs against raftkube and reports its figures.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readClusterFile } from '../../src/cli/cluster-file.js';
import { describeCheckPerf, parseCheckPerf } from './parse.js';

function fail(msg: string): never {
  process.stderr.write(`bench check-perf: ${msg}\n`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: 'raftkube-data' },
    load: { type: 'string', default: 's' },
    etcdctl: { type: 'string', default: process.env['ETCDCTL'] ?? 'etcdctl' },
  },
});
const dataDir = resolve(values['data-dir']);
const file = readClusterFile(dataDir);
if (file === null) fail(`No cluster in ${dataDir}; start one with npm run up -- --detach (or pass --data-dir)`);
if (!['s', 'm', 'l', 'xl'].includes(values.load)) fail(`--load must be s, m, l or xl, got ${values.load}`);

// NB: host:port endpoints (see the README's compatibility notes on :authority).
const endpoints = file.etcdEndpoints.map((u) => u.replace(/^https?:\/\//, '')).join(',');
const args = [`--endpoints=${endpoints}`, 'check', 'perf', '--load', values.load];
const loadBefore = loadavg()[0]!;
process.stderr.write(`Running etcdctl check perf --load ${values.load} against ${file.masters.length} members (about a minute) ...\n`);
const r = spawnSync(values.etcdctl, args, { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 300_000 });
if (r.error !== undefined) fail(`Could not run ${values.etcdctl}: ${r.error.message}; install etcdctl (apt-get install etcd-client) or pass --etcdctl`);
const loadAfter = loadavg()[0]!;
const report = parseCheckPerf(r.stdout);
if (report.verdict === null) fail(`etcdctl check perf did not finish (exit ${r.status ?? 'signal'}): ${r.stderr.trim()}`);

const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
const fmt = (x: number | undefined, digits: number): string => (x === undefined ? '-' : x.toFixed(digits));
process.stdout.write(
  [
    `### ${date} UTC — etcdctl check perf --load ${values.load}, ${file.masters.length} members: ${report.verdict}`,
    '',
    `Machine: ${cpus().length} cores, Node ${process.version}, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after.`,
    `Command: \`ETCDCTL_API=3 etcdctl ${args.join(' ')}\` (\`npm run bench:check-perf\`).`,
    '',
    '| figure | value | etcdctl threshold | verdict |',
    '|---|---:|---|---|',
    `| throughput | ${fmt(report.throughput?.value, 0)} writes/s | ≥ 90% of the load's target | ${report.throughput?.pass === true ? 'PASS' : 'FAIL'} |`,
    `| slowest request | ${fmt(report.slowestSeconds?.value, 3)} s | ≤ 0.5 s | ${report.slowestSeconds?.pass === true ? 'PASS' : 'FAIL'} |`,
    `| latency stddev | ${fmt(report.stddevSeconds?.value, 3)} s | ≤ 0.1 s | ${report.stddevSeconds?.pass === true ? 'PASS' : 'FAIL'} |`,
    '',
    describeCheckPerf(report),
    '',
  ].join('\n'),
);
process.exitCode = report.verdict === 'PASS' ? 0 : 1;
