/**
 * failpoints: test-only fault injection inside a member process. A member started with
 * RAFTKUBE_TEST_FAILPOINTS_FILE=<path> reads that file at start and again on every SIGUSR2;
 * without the variable nothing here runs and no signal handler is installed. The file holds
 * `name=value` lines; an empty or missing file arms nothing. Known failpoints:
 *
 * - `fsync=fail`: every durable sync fails (EIO). The member logs it and exits non-zero: after
 *   a failed sync nothing written since the last good one can be trusted.
 * - `fsync=stall`: every durable sync waits until the failpoint is cleared. Nothing that waits
 *   for it (acknowledgements, applies, votes) happens meanwhile; see src/raft/wal/fsync-failpoint.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { setFsyncFailpoint, type FsyncFailpointMode } from '../../raft/wal/index.js';

/** FAILPOINTS_FILE_ENV names the environment variable that enables failpoints (test-only). */
export const FAILPOINTS_FILE_ENV = 'RAFTKUBE_TEST_FAILPOINTS_FILE';

/** Failpoints are the armed failpoints (null: off). */
export interface Failpoints {
  readonly fsync: FsyncFailpointMode | null;
}

/** parseFailpoints reads the file's text; unknown names or values are errors that say what is allowed. */
export function parseFailpoints(text: string): { ok: true; value: Failpoints } | { ok: false; error: string } {
  let fsync: FsyncFailpointMode | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, value] = line.split('=', 2).map((s) => s.trim());
    if (name !== 'fsync') return { ok: false, error: `unknown failpoint "${name}" (known: fsync)` };
    if (value === 'fail' || value === 'stall') fsync = value;
    else if (value === 'off' || value === '') fsync = null;
    else return { ok: false, error: `fsync=${value ?? ''} is not a failpoint value (use fail, stall or off)` };
  }
  return { ok: true, value: { fsync } };
}

/**
 * installTestFailpoints arms the failpoints named in the file that `env` points at, and re-reads
 * it on SIGUSR2. Does nothing (returns null) when the variable is not set. Call it before the
 * member starts, so a signal never finds the process without its handler.
 */
export function installTestFailpoints(env: NodeJS.ProcessEnv, log: Logger): (() => void) | null {
  const path = env[FAILPOINTS_FILE_ENV];
  if (path === undefined || path === '') return null;
  let current: FsyncFailpointMode | null = null;
  const load = (): void => {
    let parsed: ReturnType<typeof parseFailpoints>;
    try {
      parsed = parseFailpoints(existsSync(path) ? readFileSync(path, 'utf8') : '');
    } catch (err: unknown) {
      log.error({ err, path }, 'could not read the failpoints file; failpoints unchanged');
      return;
    }
    if (!parsed.ok) {
      log.error({ path }, `bad failpoints file: ${parsed.error}; failpoints unchanged`);
      return;
    }
    const next = parsed.value.fsync;
    if (next !== current) log.warn({ failpoint: 'fsync', value: next ?? 'off' }, `test failpoint fsync=${next ?? 'off'}`);
    current = next;
    setFsyncFailpoint(next, { onHold: (what) => log.warn({ failpoint: 'fsync' }, `fsync failpoint: a sync of ${what} is held until the failpoint is cleared`) });
  };
  log.warn({ path }, `${FAILPOINTS_FILE_ENV} is set: failpoints are read from ${path} now and on SIGUSR2 (test-only)`);
  process.on('SIGUSR2', load);
  load();
  return () => {
    process.off('SIGUSR2', load);
    setFsyncFailpoint(null);
  };
}
