/**
 * etcd-tls: etcdctl's TLS flags (--cacert, --cert, --key) for the raftkube commands that talk to
 * the etcd layer, read into the client's TLS options with errors that name the flag.
 */
import { EtcdTlsError, readEtcdTls, type EtcdTls } from '../kv/client/etcd-client.js';
import { CliError } from './cli-error.js';

/** EtcdctlTlsFlags are the parsed --cacert, --cert and --key. */
export interface EtcdctlTlsFlags {
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** etcdctlTls reads the files the flags name, or returns undefined when none is given. */
export function etcdctlTls(f: EtcdctlTlsFlags): EtcdTls | undefined {
  try {
    return readEtcdTls({ caFile: f.cacert, certFile: f.cert, keyFile: f.key });
  } catch (err: unknown) {
    if (err instanceof EtcdTlsError) throw new CliError(err.message);
    throw err;
  }
}
