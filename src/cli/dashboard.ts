/**
 * dashboard: `raftkube dashboard --cluster-file DIR|FILE [--port N]`, the live web page of a
 * local cluster (src/dashboard), served on loopback until Ctrl-C; and `serveDashboard`, which
 * `raftkube up` uses to serve the same page while it runs in the foreground.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { Collector } from '../dashboard/collector.js';
import { DashboardServer } from '../dashboard/server.js';
import { CliError } from './cli-error.js';
import { clusterFilePath, readClusterFile } from './cluster-file.js';
import { commandHint, DEFAULT_DATA_DIR } from './hints.js';
import { MAX_PORT } from './preflight.js';

/** COLLECT_INTERVAL_MS is how often the members are asked; the control plane every CONTROL_PLANE_EVERY rounds. */
const COLLECT_INTERVAL_MS = 1000;
const CONTROL_PLANE_EVERY = 3;

/** Dashboard is a served page; close stops serving and collecting. */
export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

/** serveDashboard collects from the cluster in dataDir and serves the page on 127.0.0.1:port (0: any free port). */
export async function serveDashboard(dataDir: string, port: number): Promise<Dashboard> {
  const collector = new Collector({ dataDir, intervalMs: COLLECT_INTERVAL_MS, controlPlaneEvery: CONTROL_PLANE_EVERY });
  const server = new DashboardServer(collector, { title: `raftkube — ${basename(resolve(dataDir))}` });
  let url: string;
  try {
    url = await server.listen(port);
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'EADDRINUSE' ? `Port ${port} is taken; give the dashboard another with --dashboard-port (0 picks a free one)` : `The dashboard could not listen on port ${port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  collector.start();
  return {
    url,
    close: async () => {
      await server.close();
      await collector.stop();
    },
  };
}

/** dataDirOf accepts a cluster directory or its cluster.json. */
export function dataDirOf(path: string): string {
  const p = resolve(path);
  return existsSync(p) && statSync(p).isFile() ? dirname(p) : p;
}

/** portOrZero parses a --port flag that may be 0 (any free port). */
export function portOrZero(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_PORT) throw new InvalidArgumentError(`Must be a port number from 0 (any free port) to ${MAX_PORT}.`);
  return n;
}

/** registerDashboardCommand adds `dashboard` to the program. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a live web page of a local cluster on loopback: members, roles, terms, lag, leader changes, commit rate, control plane')
    .option('--cluster-file <path>', `the cluster's cluster.json, or its directory (default: ${DEFAULT_DATA_DIR})`)
    .option('--data-dir <dir>', 'the cluster data directory (the same as --cluster-file DIR)')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', portOrZero, 0)
    .action(async (o: { clusterFile?: string; dataDir?: string; port: number }) => {
      const dir = dataDirOf(o.clusterFile ?? o.dataDir ?? DEFAULT_DATA_DIR);
      if (readClusterFile(dir) === null) throw new CliError(`No cluster in ${dir} (no ${basename(clusterFilePath(dir))}); start one with ${commandHint('up', dir)}`);
      const d = await serveDashboard(dir, o.port);
      process.stdout.write(`Dashboard: ${d.url}  (Ctrl-C stops it)\n`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void d.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
