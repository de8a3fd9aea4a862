/**
 * vitest config for the planted-bug check (see check.ts): it runs only the fast-check properties
 * (test/raft/properties.test.ts), with every import of src/raft — from the simulator or the
 * test — redirected to the copy of the core in RAFT_CORE_DIR, where one bug has been planted.
 * Imports inside the copy are relative, so they stay inside it.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC_RAFT = join(REPO, 'src', 'raft');
const CORE_DIR = process.env['RAFT_CORE_DIR'];
if (CORE_DIR === undefined || CORE_DIR === '') {
  throw new Error('Set RAFT_CORE_DIR to a copy of src/raft (test/sim/planted/check.ts does this); this config runs the properties against it');
}
const core = resolve(CORE_DIR);

export default defineConfig({
  root: REPO,
  plugins: [
    {
      name: 'raftkube-planted-core',
      enforce: 'pre',
      resolveId(source: string, importer: string | undefined): string | null {
        if (importer === undefined || !source.startsWith('.')) return null;
        const abs = resolve(dirname(importer.split('?')[0]!), source);
        if (!abs.startsWith(SRC_RAFT + sep)) return null;
        return join(core, relative(SRC_RAFT, abs)).replace(/\.js$/, '.ts');
      },
    },
  ],
  test: {
    include: ['test/raft/properties.test.ts'],
    testTimeout: 900_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
