/**
 * hints: how to spell a raftkube command in the hints the CLI prints ("Status: …", "Stop: …"),
 * so that each hint works when pasted as shown. Started through `npm run up`, the hint is an npm
 * script; with `raftkube` on the PATH, `raftkube`; otherwise `node <path to main.js>`.
 */
import { realpathSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';

/** DEFAULT_DATA_DIR is the data directory `up`, `down` and `status` use without --data-dir. */
export const DEFAULT_DATA_DIR = 'raftkube-data';

/** NPM_SCRIPTS are the package.json scripts that run a raftkube subcommand of the same name. */
const NPM_SCRIPTS = new Set(['up', 'down', 'status']);

function real(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/** HintEnv is what decides the spelling (the process's own by default; tests pass their own). */
export interface HintEnv {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly script: string | undefined;
}

function processHintEnv(): HintEnv {
  return { env: process.env, cwd: process.cwd(), script: process.argv[1] };
}

function onPath(env: NodeJS.ProcessEnv, script: string): boolean {
  const me = real(script);
  if (me === null) return false;
  return (env['PATH'] ?? '').split(delimiter).some((d) => d.length > 0 && real(join(d, 'raftkube')) === me);
}

/**
 * commandHint spells `raftkube <sub> [--data-dir DIR]` the way it can be run from here;
 * --data-dir is left out when it is the default one.
 */
export function commandHint(sub: string, dataDir: string, h: HintEnv = processHintEnv()): string {
  const dirArgs = resolve(h.cwd, DEFAULT_DATA_DIR) === resolve(h.cwd, dataDir) ? [] : ['--data-dir', dataDir];
  const viaNpm = h.env['npm_package_name'] === 'raftkube' && h.env['npm_lifecycle_event'] !== undefined;
  if (viaNpm) {
    const [script, args] = NPM_SCRIPTS.has(sub) ? [sub, dirArgs] : ['raftkube', [sub, ...dirArgs]];
    return args.length === 0 ? `npm run ${script}` : `npm run ${script} -- ${args.join(' ')}`;
  }
  const script = h.script ?? 'dist/src/cli/main.js';
  const rel = relative(h.cwd, script);
  const cmd = onPath(h.env, script) ? 'raftkube' : `node ${rel.length > 0 && !rel.startsWith('..') ? rel : script}`;
  return [cmd, sub, ...dirArgs].join(' ');
}
