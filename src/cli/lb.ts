/**
 * lb: `raftkube lb` — run the TCP load balancer in front of the apiservers in this process.
 */
import type { Command } from 'commander';
import { createLogger, LOG_FORMAT_HELP, parseLogFormat, type LogFormat } from './log-format.js';
import { parseBackend, TcpBalancer } from '../control-plane/lb/tcp-balancer.js';

/** registerLbCommand adds `raftkube lb` to the CLI. */
export function registerLbCommand(program: Command): void {
  program
    .command('lb')
    .description('run a TCP load balancer in front of the apiservers (kubectl keeps working when a master dies)')
    .requiredOption('--listen <host:port>', 'address to accept connections on')
    .requiredOption('--backends <list>', 'apiserver addresses, host:port comma-separated')
    .option('--cluster-dir <dir>', 'the data directory of the cluster it serves (lets down and status recognise it)')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: { listen: string; backends: string; clusterDir?: string; logFormat?: LogFormat }) => {
      const log = createLogger({ base: { component: 'lb' }, ...(o.logFormat === undefined ? {} : { format: o.logFormat }) });
      const listen = parseBackend(o.listen);
      const lb = new TcpBalancer({
        backends: o.backends.split(',').filter((s) => s.trim() !== '').map(parseBackend),
        onEvent: (e) => log.info({ backend: `${e.backend.host}:${e.backend.port}`, why: e.why }, `backend ${e.kind}`),
      });
      const port = await lb.listen(listen.port, listen.host);
      log.info({ port, backends: o.backends }, 'load balancer serving');
      const stop = (): void => {
        void lb.close().then(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
