/**
 * cpu-wait: how long a thread waited for a CPU while it was ready to run — the kernel's run-queue
 * delay (Linux schedstat: /proc/thread-self/schedstat, its second field, in nanoseconds). On a
 * machine of two cores shared by the members, the bench client and other work, a message can
 * reach a process that is runnable but not running; this says how long. The bench client reads
 * it around each request, and a member around each point it traces (`raftkube bench kv --trace`).
 *
 * The file is opened once per thread and re-read at offset 0 (about a microsecond a read).
 * Elsewhere than Linux, or without schedstat, the figure is absent (null), not zero.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** CpuWaitClock reads this thread's total run-queue wait; open it on the thread it measures. */
export class CpuWaitClock {
  readonly #fd: number;
  readonly #buf = Buffer.alloc(96);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** open returns a clock for the calling thread, or null where the kernel does not say. */
  static open(): CpuWaitClock | null {
    let fd: number;
    try {
      fd = openSync(SCHEDSTAT, 'r');
    } catch {
      return null;
    }
    const clock = new CpuWaitClock(fd);
    if (clock.waitedNs() === null) {
      clock.close();
      return null;
    }
    return clock;
  }

  /** waitedNs is the thread's run-queue wait so far, in nanoseconds (null if the file cannot be read). */
  waitedNs(): number | null {
    let n: number;
    try {
      n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    } catch {
      return null;
    }
    return parseSchedstatWait(this.#buf.toString('latin1', 0, n));
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Schedstat is what the kernel counted for one thread. */
export interface Schedstat {
  /** cpuNs is the time it ran on a CPU. */
  readonly cpuNs: number;
  /** waitNs is the time it waited on a run queue, ready to run. */
  readonly waitNs: number;
  /** runs counts the times it was given a CPU (timeslices). */
  readonly runs: number;
}

/** parseSchedstat reads the three numbers of a schedstat file (null if it is not three safe integers). */
export function parseSchedstat(text: string): Schedstat | null {
  const m = /^(\d+) (\d+) (\d+)\s*$/.exec(text);
  if (m === null) return null;
  const [cpuNs, waitNs, runs] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return Number.isSafeInteger(cpuNs) && Number.isSafeInteger(waitNs) && Number.isSafeInteger(runs) ? { cpuNs, waitNs, runs } : null;
}

/** parseSchedstatWait takes the run-queue wait (the second of three numbers) from schedstat text. */
export function parseSchedstatWait(text: string): number | null {
  return parseSchedstat(text)?.waitNs ?? null;
}
