/**
 * cgroups: resource limits for the process runtime's containers through Linux control groups —
 * memory (a process over its limit is killed by the kernel and reported OOMKilled), cpu (a CFS
 * quota) and pids — under a `raftkube` group of each controller, on cgroup v1 (memory, cpu and
 * pids hierarchies) or v2 (the unified hierarchy). Where neither is writable, limits are not
 * enforced and `Cgroups.available` says so.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityToMilli, quantityToValue } from '../control-plane/api/quantity.js';

/** Limits are a container's enforced limits. */
export interface Limits {
  readonly memoryBytes?: bigint;
  readonly cpuMilli?: bigint;
  readonly pids?: number;
}

/** CgroupHandle is one container run's group. */
export interface CgroupHandle {
  /** add moves a process (and the children it forks from then on) into the group. */
  add(pid: number): void;
  /** oomKilled says whether the kernel killed a process of the group for exceeding its memory limit. */
  oomKilled(): boolean;
  /** remove deletes the group (once its processes are gone). */
  remove(): void;
}

/** limitsOf reads a container's resources.limits (memory, cpu) as numbers; absent ones are left out. */
export function limitsOf(c: Container): Limits {
  const l = c.resources?.limits ?? {};
  const out: { memoryBytes?: bigint; cpuMilli?: bigint } = {};
  const mem = l['memory'] === undefined ? null : parseQuantity(l['memory']);
  if (mem?.ok === true) out.memoryBytes = quantityToValue(mem.value);
  const cpu = l['cpu'] === undefined ? null : parseQuantity(l['cpu']);
  if (cpu?.ok === true) out.cpuMilli = quantityToMilli(cpu.value);
  return out;
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}

const ROOT = '/sys/fs/cgroup';

/** Cgroups creates groups for container runs; see the module doc. */
export class Cgroups {
  readonly #mode: 'v1' | 'v2' | 'none';
  readonly #root: string;

  /** constructor probes `root` (default /sys/fs/cgroup) for a writable hierarchy. */
  constructor(root: string = ROOT) {
    this.#root = root;
    if (existsSync(join(root, 'cgroup.controllers')) && this.#probe(join(root, 'raftkube'))) this.#mode = 'v2';
    else if (existsSync(join(root, 'memory', 'cgroup.procs')) && this.#probe(join(root, 'memory', 'raftkube'))) this.#mode = 'v1';
    else this.#mode = 'none';
    if (this.#mode === 'v2') tryWrite(join(root, 'raftkube', 'cgroup.subtree_control'), '+memory +cpu +pids');
  }

  #probe(dir: string): boolean {
    try {
      mkdirSync(dir, { recursive: true });
      return true;
    } catch {
      return false;
    }
  }

  /** available says which hierarchy enforces limits, or 'none'. */
  get available(): 'v1' | 'v2' | 'none' {
    return this.#mode;
  }

  /** create makes a group named `id` with the limits set; null when limits cannot be enforced or none are asked. */
  create(id: string, limits: Limits): CgroupHandle | null {
    if (this.#mode === 'none' || (limits.memoryBytes === undefined && limits.cpuMilli === undefined && limits.pids === undefined)) return null;
    const dirs: string[] = [];
    const make = (dir: string): string => {
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
      return dir;
    };
    let memDir: string | null = null;
    if (this.#mode === 'v2') {
      const d = make(join(this.#root, 'raftkube', id));
      memDir = d;
      if (limits.memoryBytes !== undefined) tryWrite(join(d, 'memory.max'), String(limits.memoryBytes));
      if (limits.memoryBytes !== undefined) tryWrite(join(d, 'memory.swap.max'), '0');
      if (limits.cpuMilli !== undefined) tryWrite(join(d, 'cpu.max'), `${limits.cpuMilli * 100n} 100000`);
      if (limits.pids !== undefined) tryWrite(join(d, 'pids.max'), String(limits.pids));
    } else {
      if (limits.memoryBytes !== undefined) {
        memDir = make(join(this.#root, 'memory', 'raftkube', id));
        tryWrite(join(memDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      }
      if (limits.cpuMilli !== undefined && existsSync(join(this.#root, 'cpu'))) {
        const d = make(join(this.#root, 'cpu', 'raftkube', id));
        tryWrite(join(d, 'cpu.cfs_period_us'), '100000');
        tryWrite(join(d, 'cpu.cfs_quota_us'), String(limits.cpuMilli * 100n));
      }
      if (limits.pids !== undefined && existsSync(join(this.#root, 'pids'))) tryWrite(join(make(join(this.#root, 'pids', 'raftkube', id)), 'pids.max'), String(limits.pids));
    }
    const mode = this.#mode;
    return {
      add: (pid) => {
        for (const d of dirs) tryWrite(join(d, 'cgroup.procs'), String(pid));
      },
      oomKilled: () => {
        if (memDir === null) return false;
        try {
          const text = readFileSync(join(memDir, mode === 'v2' ? 'memory.events' : 'memory.oom_control'), 'utf8');
          const m = /oom_kill (\d+)/.exec(text);
          return m !== null && Number(m[1]) > 0;
        } catch {
          return false;
        }
      },
      remove: () => {
        for (const d of dirs) {
          try {
            rmdirSync(d);
          } catch {
            // Still busy or already gone; the next agent start may clean it.
          }
        }
      },
    };
  }
}
