/**
 * golden: each scenario script in scripts/ runs against the real Raft core and its transcript
 * of Readies and messages must equal the checked-in .golden file. Regenerate explicitly with
 * `GOLDEN_UPDATE=1 npx vitest run test/golden` and read every diff before committing it.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Interpreter } from './interpreter.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scripts');
const update = process.env['GOLDEN_UPDATE'] === '1';

describe('golden Raft scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.script')).sort()) {
    it(file.replace(/\.script$/, ''), () => {
      const transcript = Interpreter.transcript(readFileSync(join(dir, file), 'utf8'));
      const goldenPath = join(dir, file.replace(/\.script$/, '.golden'));
      if (update) writeFileSync(goldenPath, transcript);
      expect(existsSync(goldenPath), `${goldenPath} is missing; run with GOLDEN_UPDATE=1 and review it`).toBe(true);
      expect(transcript).toBe(readFileSync(goldenPath, 'utf8'));
    });
  }
});
