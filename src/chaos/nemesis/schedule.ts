/**
 * schedule: the nemesis's plan, drawn from the seed alone — which fault, on which member, when,
 * for how long. Pure: the same seed, duration, fault list and cluster size always give the same
 * schedule, so a failing run can be replayed. Faults come one at a time: each is held a few
 * seconds, healed, and followed by a quiet gap in which the cluster can recover.
 */
import { seededRng, type Rng } from '../../raft/rng.js';

/** FAULT_KINDS are the faults `chaos run --faults` accepts. */
export const FAULT_KINDS = ['kill', 'pause', 'partition', 'delay', 'loss', 'leader-kill', 'leader-partition', 'member-replace', 'restart-all', 'fsync-fail', 'fsync-stall'] as const;

/** FaultKind names one kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** NETWORK_FAULTS need control over the network between members. */
export const NETWORK_FAULTS: readonly FaultKind[] = ['partition', 'delay', 'loss', 'leader-partition'];

/** DISK_FAULTS need members started with the test-only failpoints file. */
export const DISK_FAULTS: readonly FaultKind[] = ['fsync-fail', 'fsync-stall'];

/** UNSUPPORTED_FAULTS are accepted names that this version cannot inject yet. */
export const UNSUPPORTED_FAULTS: readonly FaultKind[] = [];

/** PartitionShape says how a partition splits the members. */
export type PartitionShape = 'isolate' | 'majority-minority' | 'bridge';

/** Fault is one planned fault with its targets (a leader is found when the fault starts). */
export type Fault =
  | { readonly kind: 'kill' | 'pause' | 'member-replace' | 'fsync-fail' | 'fsync-stall'; readonly member: number }
  | { readonly kind: 'leader-kill' | 'leader-partition' | 'restart-all' }
  | { readonly kind: 'partition'; readonly shape: PartitionShape; readonly cut: readonly (readonly [number, number])[]; readonly groups: readonly (readonly number[])[] }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'loss'; readonly percent: number };

/** ScheduledFault is a fault with its start and how long it is held (ms since the run started). */
export interface ScheduledFault {
  readonly seq: number;
  readonly atMs: number;
  readonly holdMs: number;
  readonly fault: Fault;
}

/** ScheduleOptions are what the plan depends on. */
export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly kinds: readonly FaultKind[];
  readonly members: number;
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** cutBetween lists every pair of members with one in a and the other in b. */
export function cutBetween(a: readonly number[], b: readonly number[]): [number, number][] {
  return a.flatMap((x) => b.map((y): [number, number] => (x < y ? [x, y] : [y, x])));
}

/** planPartition draws a partition of n members. */
export function planPartition(rng: Rng, n: number): Extract<Fault, { kind: 'partition' }> {
  const shapes: PartitionShape[] = ['isolate', 'majority-minority', 'bridge'];
  const shape = shapes[rng.int(shapes.length)]!;
  const order = shuffled(rng, n);
  if (shape === 'bridge') {
    // One member hears both sides; the sides do not hear each other.
    const [bridge, ...rest] = order;
    const half = Math.floor(rest.length / 2);
    const a = rest.slice(0, half);
    const b = rest.slice(half);
    return { kind: 'partition', shape, cut: cutBetween(a, b), groups: [[...a, bridge!], [bridge!, ...b]] };
  }
  const small = shape === 'isolate' ? 1 : Math.max(1, Math.floor((n - 1) / 2));
  const minority = order.slice(0, small);
  const majority = order.slice(small);
  return { kind: 'partition', shape, cut: cutBetween(minority, majority), groups: [minority, majority] };
}

function planFault(rng: Rng, kind: FaultKind, n: number): Fault {
  switch (kind) {
    case 'kill':
    case 'pause':
    case 'member-replace':
    case 'fsync-fail':
    case 'fsync-stall':
      return { kind, member: rng.int(n) };
    case 'partition':
      return planPartition(rng, n);
    case 'delay':
      return { kind, ms: between(rng, 50, 200) };
    case 'loss':
      return { kind, percent: between(rng, 10, 40) };
    case 'leader-kill':
    case 'leader-partition':
    case 'restart-all':
      return { kind };
  }
}

/** HOLD_MS is how long a fault is held; GAP_MS the quiet time after each heal; WARMUP_MS before the first. */
export const HOLD_MS = { min: 3000, max: 6000 } as const;
const GAP_MS = { min: 2000, max: 4000 } as const;
const WARMUP_MS = 2000;
/** TAIL_MS is the fault-free time at the end of the workload, so the last heal is measured too. */
const TAIL_MS = 2000;

/** planSchedule draws the whole schedule from the seed. */
export function planSchedule(o: ScheduleOptions): ScheduledFault[] {
  const rng = seededRng(o.seed);
  const out: ScheduledFault[] = [];
  if (o.kinds.length === 0) return out;
  let at = WARMUP_MS + rng.int(1000);
  for (;;) {
    const kind = o.kinds[rng.int(o.kinds.length)]!;
    const holdMs = between(rng, HOLD_MS.min, HOLD_MS.max);
    if (at + holdMs > o.durationMs - TAIL_MS) break;
    out.push({ seq: out.length + 1, atMs: at, holdMs, fault: planFault(rng, kind, o.members) });
    at += holdMs + between(rng, GAP_MS.min, GAP_MS.max);
  }
  return out;
}

/** describeFault is one line for people: "kill m2", "partition isolate: m1 | m2 m3". */
export function describeFault(f: Fault, names: readonly string[]): string {
  const name = (i: number): string => names[i] ?? `#${i}`;
  switch (f.kind) {
    case 'kill':
    case 'pause':
    case 'member-replace':
    case 'fsync-fail':
    case 'fsync-stall':
      return `${f.kind} ${name(f.member)}`;
    case 'partition':
      return `partition ${f.shape}: ${f.groups.map((g) => g.map(name).join(' ')).join(' | ')}`;
    case 'delay':
      return `delay ${f.ms} ms on every member`;
    case 'loss':
      return `loss ${f.percent}% on every member`;
    case 'leader-kill':
    case 'leader-partition':
    case 'restart-all':
      return f.kind;
  }
}

/** formatSchedule prints the schedule, one fault a line. */
export function formatSchedule(s: readonly ScheduledFault[], names: readonly string[]): string {
  if (s.length === 0) return '  (no faults)\n';
  return s.map((x) => `  #${x.seq} at ${(x.atMs / 1000).toFixed(1)}s for ${(x.holdMs / 1000).toFixed(1)}s: ${describeFault(x.fault, names)}\n`).join('');
}
