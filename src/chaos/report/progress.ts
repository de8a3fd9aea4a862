/**
 * progress: the chaos run's live status on the terminal — one line rewritten in place on a
 * terminal, a line every few seconds otherwise (CI logs) — plus event lines that do not break it.
 */

/** RunProgress receives the run's status and events. */
export interface RunProgress {
  /** status replaces the live line. */
  status(line: string): void;
  /** log prints a line above the live one. */
  log(line: string): void;
  /** close ends the live line. */
  close(): void;
}

/** silentRunProgress shows nothing (tests that drive the runner in-process). */
export const silentRunProgress: RunProgress = { status() {}, log() {}, close() {} };

/** TerminalRunProgress writes to stderr. */
export class TerminalRunProgress implements RunProgress {
  readonly #out: NodeJS.WriteStream = process.stderr;
  readonly #tty: boolean;
  #live = '';
  #lastPlain = 0;

  constructor() {
    this.#tty = this.#out.isTTY === true;
  }

  status(line: string): void {
    if (this.#tty) {
      this.#live = line;
      this.#out.write(`\r\x1b[K${line.slice(0, (this.#out.columns || 120) - 1)}`);
      return;
    }
    const now = Date.now();
    if (now - this.#lastPlain >= 5000) {
      this.#lastPlain = now;
      this.#out.write(`${line}\n`);
    }
  }

  log(line: string): void {
    if (this.#tty && this.#live !== '') this.#out.write('\r\x1b[K');
    this.#out.write(`${line}\n`);
    if (this.#tty && this.#live !== '') this.status(this.#live);
  }

  close(): void {
    if (this.#tty && this.#live !== '') this.#out.write('\r\x1b[K');
    this.#live = '';
  }
}
