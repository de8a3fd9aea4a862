/**
 * apiserver: `raftkube apiserver` — run one apiserver in this process, with kube-apiserver's
 * flag names where they exist (--etcd-servers, --secure-port, --bind-address, --tls-cert-file,
 * --tls-private-key-file, --token-auth-file, --service-cluster-ip-range, --advertise-address),
 * plus --grpc-port for the gRPC API.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createLogger, LOG_FORMAT_HELP, parseLogFormat, type LogFormat } from './log-format.js';
import { TokenFileAuthenticator } from '../control-plane/auth/tokens.js';
import { ApiServerStartError, startApiServer } from '../control-plane/apiserver/server.js';
import { EtcdTlsError, readEtcdTls, type EtcdTls } from '../kv/client/etcd-client.js';

/** ApiServerFlags are the parsed flags of `raftkube apiserver`. */
export interface ApiServerFlags {
  readonly name: string;
  readonly etcdServers: string;
  readonly etcdCafile?: string;
  readonly etcdCertfile?: string;
  readonly etcdKeyfile?: string;
  readonly bindAddress: string;
  readonly securePort: number;
  readonly grpcPort: number;
  readonly tlsCertFile?: string;
  readonly tlsPrivateKeyFile?: string;
  readonly tokenAuthFile: string;
  readonly serviceClusterIpRange?: string;
  readonly advertiseAddress?: string;
  readonly kubeletClientTokenFile?: string;
  readonly logLevel: string;
  readonly logFormat?: LogFormat;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new ApiServerStartError(`Cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** runApiServer starts the apiserver and stops it cleanly on SIGTERM or SIGINT. */
export async function runApiServer(f: ApiServerFlags, log: Logger = createLogger({ level: f.logLevel, base: { component: 'apiserver', master: f.name }, ...(f.logFormat === undefined ? {} : { format: f.logFormat }) })): Promise<void> {
  // The file is read again when an unknown token arrives and it has changed: node tokens minted
  // after the apiserver started (raftkube up --nodes on a running cluster) work at once.
  const tokens = TokenFileAuthenticator.open(f.tokenAuthFile);
  if (!tokens.ok) throw new ApiServerStartError(`--token-auth-file ${f.tokenAuthFile}: ${tokens.error}`);
  if ((f.tlsCertFile === undefined) !== (f.tlsPrivateKeyFile === undefined)) throw new ApiServerStartError('Give both --tls-cert-file and --tls-private-key-file, or neither (plain HTTP)');
  const tls = f.tlsCertFile === undefined || f.tlsPrivateKeyFile === undefined ? undefined : { certPem: readText(f.tlsCertFile, 'certificate'), keyPem: readText(f.tlsPrivateKeyFile, 'private key') };
  if (tls === undefined) log.warn('serving plain HTTP: give --tls-cert-file and --tls-private-key-file for HTTPS');
  let etcdTls: EtcdTls | undefined;
  try {
    etcdTls = readEtcdTls({ caFile: f.etcdCafile, certFile: f.etcdCertfile, keyFile: f.etcdKeyfile, flags: { ca: '--etcd-cafile', cert: '--etcd-certfile', key: '--etcd-keyfile' } });
  } catch (err: unknown) {
    if (err instanceof EtcdTlsError) throw new ApiServerStartError(err.message);
    throw err;
  }
  const server = await startApiServer({
    name: f.name,
    ...(etcdTls === undefined ? {} : { etcdTls }),
    etcdServers: f.etcdServers.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    bindAddress: f.bindAddress,
    securePort: f.securePort,
    grpcPort: f.grpcPort,
    ...(tls === undefined ? {} : { tls }),
    authenticator: tokens.value,
    ...(f.serviceClusterIpRange === undefined ? {} : { serviceCIDR: f.serviceClusterIpRange }),
    advertiseAddress: f.advertiseAddress ?? (f.bindAddress === '0.0.0.0' ? '127.0.0.1' : f.bindAddress),
    ...(f.kubeletClientTokenFile === undefined ? {} : { kubeletClientToken: readText(f.kubeletClientTokenFile, 'kubelet client token').trim() }),
    log,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** registerApiServerCommand adds `raftkube apiserver` to the CLI. */
export function registerApiServerCommand(program: Command): void {
  program
    .command('apiserver')
    .description('run one apiserver (Kubernetes REST API for kubectl, gRPC API for components) on the etcd layer')
    .requiredOption('--etcd-servers <urls>', 'etcd endpoints (comma-separated host:port, http://host:port or https://host:port)')
    .option('--etcd-cafile <file>', 'CA that signs the etcd members\' certificates (TLS to the etcd layer)')
    .option('--etcd-certfile <file>', 'client certificate presented to the etcd layer (its --client-cert-auth)')
    .option('--etcd-keyfile <file>', 'key of --etcd-certfile')
    .requiredOption('--token-auth-file <file>', 'bearer tokens: token,user,uid,"group1,group2" per line')
    .option('--name <name>', 'the master this apiserver belongs to (for logs)', 'apiserver')
    .option('--bind-address <ip>', 'address to listen on', '127.0.0.1')
    .option('--secure-port <port>', 'port of the Kubernetes REST API', port, 6443)
    .option('--grpc-port <port>', 'port of the gRPC API', port, 6444)
    .option('--tls-cert-file <file>', 'serving certificate (PEM); without it the REST API is plain HTTP')
    .option('--tls-private-key-file <file>', 'serving key (PEM)')
    .option('--service-cluster-ip-range <cidr>', 'loopback block ClusterIPs come from', '127.96.0.0/16')
    .option('--advertise-address <ip>', 'address published in the kubernetes Endpoints')
    .option('--kubelet-client-token-file <file>', 'the token node agents accept for their log endpoints (kubectl logs)')
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: ApiServerFlags) => {
      await runApiServer(o);
    });
}
