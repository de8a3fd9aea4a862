/**
 * members-cpu: what the kernel counted for the members' processes during a phase — their CPU
 * time, their time ready to run but waiting for a CPU, and how many times they were given one
 * (Linux schedstat, summed over every thread of each member's process: /proc/PID/task/TID/
 * schedstat). Both systems are read the same way, so a phase line can say, per request, how much
 * CPU each system's members spent and how long their threads queued for the machine's cores.
 * Where the kernel lets this process read them (/proc/PID/io: the same user, or root), it adds the
 * members' read-like and write-like system calls per request (socket and file alike; fdatasync is
 * in neither): a third of a member's CPU is the kernel's.
 *
 * NB: a thread that exits during the phase takes its counts with it; a member whose process
 * changed (restarted) or vanished during the phase gives no figure (null), not a partial one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseSchedstat, type Schedstat } from '../../src/kv/server/cpu-wait.js';
import { argvOrNull, memberPid } from './procs.js';
import type { Target } from './target.js';

/** MembersCpu is what the members did during a phase, per request. */
export interface MembersCpu {
  /** processes counts the member processes read. */
  readonly processes: number;
  /** cpuMsPerOp is the members' CPU time per request, every thread's. */
  readonly cpuMsPerOp: number;
  /** waitMsPerOp is the members' threads' run-queue wait per request. */
  readonly waitMsPerOp: number;
  /** runsPerOp counts the times per request a member thread was given a CPU. */
  readonly runsPerOp: number;
  /** cores is the members' CPU time over the phase's wall time. */
  readonly cores: number;
  /** syscalls is the members' read-like and write-like system calls per request (null: /proc/PID/io unreadable). */
  readonly syscalls: SyscallsPerOp | null;
}

/** IoCounts are a process's read-like (read, readv, recv...) and write-like (write, writev, send...) system calls so far (syscr, syscw). */
export interface IoCounts {
  readonly reads: number;
  readonly writes: number;
}

/** SyscallsPerOp is IoCounts per request over a phase. */
export type SyscallsPerOp = IoCounts;

/** parseProcIo reads syscr and syscw from /proc/PID/io text (null: either missing). */
export function parseProcIo(text: string): IoCounts | null {
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}: (\\d+)$`, 'm').exec(text);
    return m === null ? null : Number(m[1]);
  };
  const reads = field('syscr');
  const writes = field('syscw');
  return reads === null || writes === null ? null : { reads, writes };
}

/** readProcessIo reads a process's system-call counts (every thread's, exited ones included; null: gone or not ours to read). */
export function readProcessIo(pid: number): IoCounts | null {
  try {
    return parseProcIo(readFileSync(`/proc/${pid}/io`, 'latin1'));
  } catch {
    return null;
  }
}

/** readProcessSched sums schedstat over every thread of a process (null: gone, or the kernel does not say). */
export function readProcessSched(pid: number): Schedstat | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let cpuNs = 0;
  let waitNs = 0;
  let runs = 0;
  let read = 0;
  for (const tid of tasks) {
    let s: Schedstat | null;
    try {
      s = parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1'));
    } catch {
      continue; // the thread exited between the listing and the read
    }
    if (s === null) continue;
    cpuNs += s.cpuNs;
    waitNs += s.waitNs;
    runs += s.runs;
    read++;
  }
  return read === 0 ? null : { cpuNs, waitNs, runs };
}

/** MembersClock reads the members' counters at a phase's start; stop() turns the difference into per-request figures. */
export class MembersClock {
  private constructor(
    readonly pids: readonly number[],
    readonly start: readonly Schedstat[],
    readonly startIo: readonly IoCounts[] | null,
  ) {}

  /** open reads every member's counters now (null: the members are unknown, or one cannot be read). */
  static open(target: Pick<Target, 'members'> | undefined): MembersClock | null {
    const members = target?.members;
    if (members === undefined || members === null || members.length === 0) return null;
    const pids: number[] = [];
    for (const m of members) {
      const pid = memberPid(m.pids(), argvOrNull);
      if (pid === null) return null;
      pids.push(pid);
    }
    const start = readEach(pids, readProcessSched);
    return start === null ? null : new MembersClock(pids, start, readEach(pids, readProcessIo));
  }

  /** stop reads the counters again and divides what happened by `ops` requests over `wallMs` (null: a member is gone or there were no requests). */
  stop(ops: number, wallMs: number): MembersCpu | null {
    const end = readEach(this.pids, readProcessSched);
    if (end === null || ops <= 0 || wallMs <= 0) return null;
    const sum = (f: (s: Schedstat) => number): number => end.reduce((a, s, i) => a + f(s) - f(this.start[i]!), 0);
    const cpuNs = sum((s) => s.cpuNs);
    return { processes: this.pids.length, cpuMsPerOp: cpuNs / 1e6 / ops, waitMsPerOp: sum((s) => s.waitNs) / 1e6 / ops, runsPerOp: sum((s) => s.runs) / ops, cores: cpuNs / 1e6 / wallMs, syscalls: this.#syscalls(ops) };
  }

  #syscalls(ops: number): SyscallsPerOp | null {
    const start = this.startIo;
    const end = start === null ? null : readEach(this.pids, readProcessIo);
    if (start === null || end === null) return null;
    const sum = (f: (c: IoCounts) => number): number => end.reduce((a, c, i) => a + f(c) - f(start[i]!), 0);
    return { reads: sum((c) => c.reads) / ops, writes: sum((c) => c.writes) / ops };
  }
}

/** readEach reads every process with `read`, or gives null if any one cannot be read. */
function readEach<T>(pids: readonly number[], read: (pid: number) => T | null): T[] | null {
  const out: T[] = [];
  for (const pid of pids) {
    const v = read(pid);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

/** describeMembersCpu is a phase line's part: the members' CPU and their wait for one, per request. */
export function describeMembersCpu(m: MembersCpu | null, per = 'request'): string {
  if (m === null) return '';
  const calls = m.syscalls === null ? '' : `, ${m.syscalls.reads.toFixed(1)} reads and ${m.syscalls.writes.toFixed(1)} writes`;
  return `, members ${m.cpuMsPerOp.toFixed(2)} ms of CPU and ${m.waitMsPerOp.toFixed(2)} ms waiting for one per ${per} (${m.runsPerOp.toFixed(1)} runs on a CPU${calls}, ${m.cores.toFixed(2)} cores)`;
}
