/**
 * component: what the control plane's long-running components (scheduler, controller manager,
 * node agent) share on the command line — one ApiClient from --apiservers, --token or
 * --token-file and --ca-file, and running until SIGTERM/SIGINT with a clean stop.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Result } from '../control-plane/api/types.js';
import { ApiClient } from '../control-plane/client/api-client.js';
import type { Registry } from 'prom-client';
import { parseBindAddress, processRegistry, serveMetrics, type MetricsServer } from '../control-plane/metrics.js';
import { CliError } from './cli-error.js';
import { keepAlive } from './keep-alive.js';

/** ClientFlags are the connection flags every component takes. */
export interface ClientFlags {
  readonly apiservers: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly tlsServerName?: string;
}

/** readText reads a file a flag names, or throws a CliError that says which and why. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new CliError(`Cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * componentClient builds the ApiClient the flags describe. `tokenOf` turns the token file's text
 * into the token (a component may pick its own line of a token CSV).
 */
export function componentClient(f: ClientFlags, log: Logger, tokenOf: (text: string) => Result<string, string>): ApiClient {
  const endpoints = f.apiservers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (endpoints.length === 0) throw new CliError('Give --apiservers as host:port[,host:port...] (the apiservers’ gRPC addresses, grpcAddress in cluster.json)');
  if (f.token !== undefined && f.tokenFile !== undefined) throw new CliError('Give --token or --token-file, not both');
  let token = f.token;
  if (f.tokenFile !== undefined) {
    const t = tokenOf(readText(f.tokenFile, 'token file'));
    if (!t.ok) throw new CliError(`--token-file ${f.tokenFile}: ${t.error}`);
    token = t.value;
  }
  if (token === undefined) log.warn('no --token or --token-file: calls are anonymous and the apiserver will likely refuse them');
  const caPem = f.caFile === undefined ? undefined : readText(f.caFile, 'CA certificate');
  return new ApiClient({
    endpoints,
    ...(token === undefined ? {} : { token }),
    ...(caPem === undefined ? {} : { caPem }),
    ...(f.tlsServerName === undefined ? {} : { tlsServerName: f.tlsServerName }),
  });
}

/** METRICS_BIND_ADDRESS_HELP describes the --metrics-bind-address flag every component takes. */
export const METRICS_BIND_ADDRESS_HELP = 'host:port to serve /metrics (process and Node.js runtime) and /healthz on, over plain HTTP (off when not given)';

/**
 * startComponentMetrics serves the process's metrics on --metrics-bind-address when it is given
 * (as Kubernetes components do), or returns null.
 */
export async function startComponentMetrics(address: string | undefined, log: Logger, registry: Registry = processRegistry()): Promise<MetricsServer | null> {
  if (address === undefined || address === '') return null;
  const a = parseBindAddress(address);
  if (!a.ok) throw new CliError(a.error);
  let server: MetricsServer;
  try {
    server = await serveMetrics(registry, a.host, a.port);
  } catch (e: unknown) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  log.info({ address: `${a.host}:${server.port}` }, 'serving metrics');
  return server;
}

/**
 * runUntilSignalled keeps the process alive until SIGTERM or SIGINT, then runs `stop` once and
 * exits (0 after a clean stop, 1 otherwise). NB: a standby component waits only on unref'd
 * timers, so without the keep-alive it would exit on its own.
 */
export function runUntilSignalled(log: Logger, what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `stopping: ${what}`);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  keepAlive();
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
