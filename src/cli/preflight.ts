/**
 * preflight: checks `up` makes before it starts anything, so a bad data directory or a taken
 * port gives one clear line at once instead of a member's log after a timeout.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';

/** Checked is an expected outcome: ok, or an error a person can act on. */
export type Checked = { readonly ok: true } | { readonly ok: false; readonly error: string };

const OK: Checked = { ok: true };

/**
 * ensureDataDir makes sure dir is a writable directory, creating it and its missing parents.
 * NB: not mkdirSync(..., {recursive: true}): on Node 20 that loops forever under /proc.
 */
export function ensureDataDir(dir: string): Checked {
  const abs = resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  while (!existsSync(cur)) {
    missing.unshift(cur);
    const parent = dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  if (existsSync(cur) && !statSync(cur).isDirectory()) {
    return { ok: false, error: `${cur} is a file, not a directory; pick another --data-dir` };
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err: unknown) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return { ok: false, error: `Cannot create the data directory ${abs} (${code} at ${d}); pick a --data-dir you can write to` };
    }
  }
  try {
    accessSync(abs, constants.W_OK);
  } catch {
    return { ok: false, error: `The data directory ${abs} is not writable; pick a --data-dir you can write to` };
  }
  return OK;
}

/** portIsFree tells whether host:port can be listened on right now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((r) => {
    const srv = createServer();
    srv.once('error', () => r(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => r(true)));
  });
}

/** PortUse names one port a process is about to listen on. */
export interface PortUse {
  readonly url: string;
  /** what says whose port it is, e.g. "m1's client URL". */
  readonly what: string;
}

/** firstBusyPort returns the first of the URLs whose port is taken, or null when all are free. */
export async function firstBusyPort(uses: readonly PortUse[]): Promise<PortUse | null> {
  for (const u of uses) {
    const url = new URL(u.url);
    if (!(await portIsFree(url.hostname, Number(url.port)))) return u;
  }
  return null;
}

/** MAX_PORT is the highest TCP port. */
export const MAX_PORT = 65_535;

/** checkPortRange tells whether count ports from base all exist. */
export function checkPortRange(base: number, count: number): Checked {
  if (!Number.isSafeInteger(base) || base < 1 || base + count - 1 > MAX_PORT) {
    return { ok: false, error: `--base-port must leave room for ${count} ports (1 to ${MAX_PORT - count + 1}), got ${base}` };
  }
  return OK;
}
