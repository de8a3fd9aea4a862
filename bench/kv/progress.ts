/**
 * progress: how a workload reports how far along a phase is. Workloads see only the Progress
 * interface; the CLI shows a cli-progress bar on a terminal and one line per phase otherwise.
 */
import { Presets, SingleBar } from 'cli-progress';

/** Progress receives the course of one phase at a time. */
export interface Progress {
  /** phase starts a phase: `label` names it, `total` is its operation bound, `durationMs` its time bound (0: none). */
  phase(label: string, total: number, durationMs: number): void;
  /** update reports operations done so far in the current phase. */
  update(done: number): void;
  /** done ends the current phase with a short result line. */
  done(summary: string): void;
  /** log prints a line without breaking the bar. */
  log(line: string): void;
}

/** silentProgress swallows everything (tests, --no-progress with --json only). */
export const silentProgress: Progress = { phase() {}, update() {}, done() {}, log() {} };

/**
 * TerminalProgress draws a bar on stderr when it is a terminal (per cent of whichever bound,
 * count or time, is nearer), and prints one line per finished phase either way.
 */
export class TerminalProgress implements Progress {
  readonly #out: NodeJS.WriteStream = process.stderr;
  readonly #bar: SingleBar | null;
  #label = '';
  #total = 1;
  #durationMs = 0;
  #t0 = 0;
  #active = false;

  constructor(o: { readonly bar: boolean }) {
    this.#bar = o.bar && this.#out.isTTY
      ? new SingleBar({ format: '{label} [{bar}] {percentage}% | {done} ops | {elapsed}s', stream: this.#out, hideCursor: true, clearOnComplete: true, barsize: 30 }, Presets.shades_classic)
      : null;
  }

  phase(label: string, total: number, durationMs: number): void {
    this.#label = label.padEnd(34);
    this.#total = Math.max(1, total);
    this.#durationMs = durationMs;
    this.#t0 = performance.now();
    this.#active = true;
    this.#bar?.start(100, 0, { label: this.#label, done: 0, elapsed: '0.0' });
  }

  update(done: number): void {
    if (!this.#active || this.#bar === null) return;
    const elapsed = performance.now() - this.#t0;
    const byCount = done / this.#total;
    const byTime = this.#durationMs > 0 ? elapsed / this.#durationMs : 0;
    this.#bar.update(Math.min(100, Math.floor(100 * Math.max(byCount, byTime))), { label: this.#label, done, elapsed: (elapsed / 1000).toFixed(1) });
  }

  done(summary: string): void {
    if (this.#active) this.#bar?.stop();
    this.#active = false;
    this.#out.write(`  ${this.#label} ${summary}\n`);
  }

  log(line: string): void {
    if (this.#active && this.#bar !== null) {
      this.#bar.stop();
      this.#out.write(`${line}\n`);
      this.#bar.start(100, 0, { label: this.#label, done: 0, elapsed: '0.0' });
      return;
    }
    this.#out.write(`${line}\n`);
  }
}
