/**
 * bugs: classic Raft bugs, each as a textual patch to a copy of src/raft (never to the real
 * core: production code carries no bug switches). A patch names the file, the exact text it
 * replaces and the replacement; plantBug refuses to plant a bug whose anchor text is missing or
 * ambiguous, so a refactor of the core cannot silently turn a planted bug into no bug at all.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Patch is one exact-text replacement in a file of src/raft (path relative to src/raft). */
export interface Patch {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** PlantedBug is a named bug: what it breaks (with the paper section) and how it is planted. */
export interface PlantedBug {
  readonly name: string;
  readonly breaks: string;
  readonly patches: readonly Patch[];
}

/** PLANTED_BUGS are the bugs the fast-check properties must catch on their own. */
export const PLANTED_BUGS: readonly PlantedBug[] = [
  {
    name: 'vote-without-up-to-date-check',
    breaks: 'a vote is granted to a candidate whose log is behind the voter’s (§5.4.1)',
    patches: [
      {
        file: 'raft.ts',
        find: 'if (canVote && this.#log.isUpToDate(m.index, m.logTerm)) {',
        replace: 'if (canVote) {',
      },
    ],
  },
  {
    name: 'figure-8-commit-by-counting',
    breaks: 'a leader commits an entry of an earlier term because a quorum holds it (§5.4.2, Figure 8)',
    patches: [
      {
        file: 'raft.ts',
        find: '    if (this.#log.term(mci) !== this.#term) return false;\n',
        replace: '',
      },
    ],
  },
  {
    name: 'read-index-without-heartbeat',
    breaks: 'a leader answers ReadIndex with its commit index without a heartbeat round confirming it still leads (thesis §6.4)',
    patches: [
      {
        file: 'raft.ts',
        find: '    s.readOnly.add(this.#log.committed, from, context);\n    this.#ackRead(s, this.id, context);\n    this.#bcastHeartbeat(context);\n',
        replace: '    this.#answerRead(from, this.#log.committed, context);\n',
      },
    ],
  },
];

/** AnchorMissing is thrown when a patch's anchor text is not found exactly once. */
export class AnchorMissing extends Error {
  override readonly name = 'AnchorMissing';
  constructor(readonly bug: string, readonly file: string, readonly found: number) {
    super(
      `Cannot plant bug ${bug}: its anchor text occurs ${found} times in src/raft/${file} (need exactly 1). ` +
        'The core changed; update the patch in test/sim/planted/bugs.ts.',
    );
  }
}

function occurrences(text: string, find: string): number {
  let n = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) n++;
  return n;
}

/** plantBug applies every patch of `bug` to the copy of src/raft in `coreDir`. */
export function plantBug(coreDir: string, bug: PlantedBug): void {
  for (const p of bug.patches) {
    const path = join(coreDir, p.file);
    const text = readFileSync(path, 'utf8');
    const found = occurrences(text, p.find);
    if (found !== 1) throw new AnchorMissing(bug.name, p.file, found);
    const patched = text.replace(p.find, () => p.replace);
    if (patched === text) throw new AnchorMissing(bug.name, p.file, 0);
    writeFileSync(path, patched);
  }
}
