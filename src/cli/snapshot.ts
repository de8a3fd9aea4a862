/**
 * snapshot: `raftkube snapshot save|status|restore` — etcd's disaster-recovery commands
 * (`etcdctl snapshot save`, `etcdutl snapshot status|restore`) for raftkube's snapshot files.
 * `save` writes exactly what `etcdctl snapshot save` writes (the Maintenance.Snapshot stream);
 * `restore` builds one member's data directory of a new cluster from such a file
 * (src/kv/member/restore.ts); `status` prints its hash, revision, key count and size.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { EtcdCallError, EtcdClient, type EtcdTls } from '../kv/client/etcd-client.js';
import { etcdctlTls, type EtcdctlTlsFlags } from './etcd-tls.js';
import { checkURL, ConfigError, DEFAULTS, parseInitialCluster } from '../kv/member/config.js';
import { restoreMemberDataDir } from '../kv/member/restore.js';
import { SnapshotError } from '../kv/mvcc/maintenance.js';
import { inspectSnapshotFile, type SnapshotFileStatus } from '../kv/mvcc/snapshot-file.js';
import { CliError } from './cli-error.js';

/** WriteOut is `snapshot status`'s output format (etcdutl's -w). */
export type WriteOut = 'simple' | 'json' | 'table';

function writeOut(v: string): WriteOut {
  if (v !== 'simple' && v !== 'json' && v !== 'table') throw new InvalidArgumentError('Must be simple, json or table.');
  return v;
}

/** humanBytes renders a size as etcdutl does (SI units: "25 kB", "1.2 MB"). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let e = 0;
  let v = n;
  while (v >= 1000 && e < units.length - 1) {
    v /= 1000;
    e++;
  }
  if (e === 0) return `${n} B`;
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[e]!}`;
}

/** formatSnapshotStatus renders `snapshot status` in etcdutl's formats. */
export function formatSnapshotStatus(s: SnapshotFileStatus, w: WriteOut): string {
  const hash = s.hash.toString(16);
  switch (w) {
    case 'json':
      return `${JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize })}\n`;
    case 'simple':
      return `${hash}, ${s.revision}, ${s.totalKey}, ${humanBytes(s.totalSize)}\n`;
    case 'table': {
      const header = ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'];
      const row = [hash, String(s.revision), String(s.totalKey), humanBytes(s.totalSize)];
      const widths = header.map((h, i) => Math.max(h.length, row[i]!.length));
      const line = `+${widths.map((n) => '-'.repeat(n + 2)).join('+')}+`;
      // Numbers right-aligned, text left-aligned, as etcdutl's table.
      const cells = (c: readonly string[], numeric: boolean): string => `|${c.map((x, i) => ` ${numeric && (i === 1 || i === 2) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)} `).join('|')}|`;
      return `${[line, cells(header, false), line, cells(row, true), line].join('\n')}\n`;
    }
  }
}

/** asCliError turns the expected failures of a snapshot command into one-line errors. */
function asCliError(err: unknown, file: string): unknown {
  if (err instanceof SnapshotError) return new CliError(`${file}: ${err.message}`);
  if (err instanceof ConfigError) return new CliError(err.message);
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CliError(`${file} does not exist; give the path of a file written by snapshot save`);
  return err;
}

/** saveSnapshot streams a member's snapshot into `file` (through file.part), verifies it and returns its status. */
export async function saveSnapshot(file: string, endpoints: readonly string[], tls?: EtcdTls): Promise<SnapshotFileStatus> {
  const client = new EtcdClient(endpoints, { deadlineMs: 10_000, ...(tls === undefined ? {} : { tls }) });
  const part = `${file}.part`;
  try {
    // NB: a snapshot is one member's point-in-time state (as etcdctl, ask one member): the first
    // endpoint that answers gives it.
    let lastErr: unknown = null;
    for (let i = 0; i < endpoints.length; i++) {
      try {
        await client.statusAt(i);
      } catch (err: unknown) {
        lastErr = err;
        continue;
      }
      const out = createWriteStream(part);
      try {
        for await (const chunk of client.snapshotAt(i)) {
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        out.end();
        await finished(out);
      } catch (err: unknown) {
        out.destroy();
        await rm(part, { force: true });
        throw err;
      }
      const status = await inspectSnapshotFile(part);
      await rename(part, file);
      return status;
    }
    const why = lastErr instanceof EtcdCallError ? lastErr.details : lastErr instanceof Error ? lastErr.message : String(lastErr);
    const tlsHint = tls !== undefined || endpoints.some((e) => e.startsWith('https://')) ? ' and the TLS flags (--cacert, and --cert with --key for members that demand a client certificate)' : '';
    throw new CliError(`No endpoint of ${endpoints.join(',')} answered (${why}); check --endpoints${tlsHint}`);
  } finally {
    client.close();
  }
}

function urlList(v: string, flag: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const u of list) checkURL(u, flag);
  return list;
}

/** registerSnapshotCommand adds `snapshot save|status|restore` to the program. */
export function registerSnapshotCommand(program: Command): Command {
  const snapshot = program.command('snapshot').description('save, inspect and restore snapshots of the etcd layer (etcdctl/etcdutl snapshot)');
  snapshot
    .command('save <file>')
    .description("save a member's snapshot to a file (the same file `etcdctl snapshot save` writes)")
    .option('--endpoints <list>', 'members to ask, host:port or URLs (the first that answers gives the snapshot)', '127.0.0.1:2379')
    .option('--cacert <file>', 'CA that signs the members\' certificates (TLS; as etcdctl)')
    .option('--cert <file>', 'client certificate, for members with --client-cert-auth')
    .option('--key <file>', 'key of --cert')
    .action(async (file: string, o: { endpoints: string } & EtcdctlTlsFlags) => {
      const endpoints = o.endpoints.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      try {
        const s = await saveSnapshot(resolve(file), endpoints, etcdctlTls(o));
        process.stdout.write(`Snapshot saved at ${file} (revision ${s.revision}, ${s.totalKey} keys, ${humanBytes(s.totalSize)}, hash ${s.hash.toString(16)})\n`);
      } catch (err: unknown) {
        throw asCliError(err, file);
      }
    });
  snapshot
    .command('status <file>')
    .description("verify a snapshot file and print its hash (HashKV's, as `etcdctl endpoint hashkv` shows), revision, key count and size")
    .option('-w, --write-out <format>', 'simple, json or table', writeOut, 'simple' as WriteOut)
    .option('--skip-hash-check', 'accept a file without (or with a wrong) trailing SHA-256', false)
    .action(async (file: string, o: { writeOut: WriteOut; skipHashCheck: boolean }) => {
      try {
        process.stdout.write(formatSnapshotStatus(await inspectSnapshotFile(file, { skipHashCheck: o.skipHashCheck }), o.writeOut));
      } catch (err: unknown) {
        throw asCliError(err, file);
      }
    });
  snapshot
    .command('restore <file>')
    .description('build the data directory of one member of a new cluster from a snapshot (etcdutl snapshot restore); run once per member, then start each with `raftkube kv`')
    .requiredOption('--name <name>', 'the member this data directory is for')
    .requiredOption('--initial-cluster <list>', 'name=peerURL,... of every member of the new cluster')
    .option('--initial-cluster-token <token>', 'token of the new cluster', DEFAULTS.initialClusterToken)
    .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs (default: its entry in --initial-cluster)")
    .option('--data-dir <dir>', 'where to write it; must not exist or be empty (default: ./<name>.raftkube)')
    .option('--skip-hash-check', 'accept a file without (or with a wrong) trailing SHA-256; the image\'s own checksum is checked regardless', false)
    .action(async (file: string, o: { name: string; initialCluster: string; initialClusterToken: string; initialAdvertisePeerUrls?: string; dataDir?: string; skipHashCheck: boolean }) => {
      try {
        const initialCluster = parseInitialCluster(o.initialCluster);
        const dataDir = resolve(o.dataDir ?? `${o.name}.raftkube`);
        const r = await restoreMemberDataDir({
          snapshotPath: file,
          name: o.name,
          initialCluster,
          initialClusterToken: o.initialClusterToken,
          ...(o.initialAdvertisePeerUrls === undefined ? {} : { initialAdvertisePeerURLs: urlList(o.initialAdvertisePeerUrls, '--initial-advertise-peer-urls') }),
          dataDir,
          skipHashCheck: o.skipHashCheck,
        });
        const token = o.initialClusterToken === DEFAULTS.initialClusterToken ? '' : ` --initial-cluster-token ${o.initialClusterToken}`;
        const peer = initialCluster.find((m) => m.name === o.name)?.peerURLs.join(',') ?? '';
        process.stdout.write(
          `Restored ${file} (revision ${r.snapshot.revision}, ${r.snapshot.totalKey} keys) into ${dataDir}: member ${o.name} (ID ${r.memberId}) of a new cluster (ID ${r.clusterId})\n` +
            `Start it with: raftkube kv --name ${o.name} --data-dir ${dataDir} --listen-peer-urls ${peer} --listen-client-urls <its client URL> --initial-cluster ${o.initialCluster}${token}\n`,
        );
      } catch (err: unknown) {
        throw asCliError(err, file);
      }
    });
  return snapshot;
}
