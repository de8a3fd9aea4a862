/**
 * failpoints: test-only fault injection inside a member process. A member started with
 * RAFTKUBE_TEST_FAILPOINTS_FILE=<path> reads that file at start and again on every SIGUSR2;
 * without the variable nothing here runs and no signal handler is installed. The file holds
 * `name=value` lines; an empty or missing file arms nothing. After each read the member copies
 * the text it armed to `<path>.applied`, so whoever changed the file can wait until the change is
 * in force (`writeFailpoints` and `failpointsArmed` below): Node runs a signal handler once for
 * several signals that arrive together, so a quick arm-then-disarm could otherwise pass unseen.
 * Known failpoints:
 *
 * - `fsync=fail`: every durable sync fails (EIO). The member logs it and exits non-zero: after
 *   a failed sync nothing written since the last good one can be trusted.
 * - `fsync=stall`: every durable sync waits until the failpoint is cleared. Nothing that waits
 *   for it (acknowledgements, applies, votes) happens meanwhile; see src/raft/wal/fsync-failpoint.ts.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
    let text: string;
    try {
      text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      parsed = parseFailpoints(text);
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
    try {
      // NB: the failpoint guards durable syncs only; this receipt needs none (a crash loses it, and the restart re-reads the file).
      const tmp = `${appliedFile(path)}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, appliedFile(path));
    } catch (err: unknown) {
      log.error({ err, path }, 'could not write the failpoints receipt; the failpoints are armed all the same');
    }
  };
  log.warn({ path }, `${FAILPOINTS_FILE_ENV} is set: failpoints are read from ${path} now and on SIGUSR2 (test-only)`);
  process.on('SIGUSR2', load);
  load();
  return () => {
    process.off('SIGUSR2', load);
    setFsyncFailpoint(null);
  };
}

/** appliedFile is where a member started with the failpoints file `path` copies the text it last armed. */
function appliedFile(path: string): string {
  return `${path}.applied`;
}

let changes = 0;

/**
 * writeFailpoints writes a member's failpoints file (`failpoint` is a `name=value` line, or null
 * for none) under a line that tells this change from every other, and returns the text written:
 * `failpointsArmed` waits for the member's receipt of exactly that text.
 */
export function writeFailpoints(path: string, failpoint: string | null): string {
  changes += 1;
  const text = `# change ${process.pid}.${changes}\n${failpoint === null ? '' : `${failpoint}\n`}`;
  writeFileSync(path, text);
  return text;
}

/** FailpointsReceipt says how the wait for a member's receipt ended. */
export type FailpointsReceipt = 'armed' | 'exited';

/**
 * failpointsArmed waits until the member has armed `text` (what `writeFailpoints` returned),
 * after it was sent SIGUSR2: 'armed' once its receipt says so, 'exited' if `alive` turns false
 * first (a restart reads the file anyway). Rejects after `timeoutMs`, saying what was waited for.
 */
export async function failpointsArmed(path: string, text: string, o: { readonly timeoutMs: number; readonly alive: () => boolean; readonly member: string }): Promise<FailpointsReceipt> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    let receipt: string | null = null;
    try {
      receipt = readFileSync(appliedFile(path), 'utf8');
    } catch {
      // no receipt yet
    }
    if (receipt === text) return 'armed';
    if (!o.alive()) return 'exited';
    if (Date.now() > deadline) throw new Error(`Member ${o.member} did not arm its failpoints within ${o.timeoutMs / 1000} s of SIGUSR2 (its receipt ${appliedFile(path)} says ${receipt === null ? 'nothing' : JSON.stringify(receipt)}); see its log`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
