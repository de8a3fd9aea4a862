/**
 * service-ip-repair: mends ClusterIP allocations that disagree with the Services, as
 * kube-apiserver's repair loop does. They disagree only when an apiserver stops between its two
 * writes: a create takes the address and then writes the Service, a delete removes the Service and
 * then frees the address. Killed in between, it leaves an allocation no Service holds, and the
 * address is never handed out again (for the `kubernetes` Service's fixed address, every later
 * start-up fails).
 *
 * - An allocation no Service holds is released only when the next sweep finds it again at the
 *   same revision: a create between its two writes is never undone, however slow, as long as it
 *   finishes within one sweep interval.
 * - A Service whose address has no allocation gets one back at once: every apiserver takes the
 *   address before it writes the Service, so at one revision this never happens in passing.
 *
 * Every apiserver may sweep; the releases are conditional on the revision read, so two sweeping
 * at once release nothing twice.
 */
import type { KubeObject, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import { resourceRoot } from '../../storage/keys.js';
import { isObject } from './meta.js';
import type { ServiceIPAllocator } from './service-ips.js';
import type { ObjectStorePort, PortError } from './storage-port.js';

const SERVICES = { group: '', plural: 'services', namespaced: true } as const;

/** RepairReport says what one sweep changed. */
export interface RepairReport {
  /** released are addresses no Service held in this sweep or the one before, now free again. */
  readonly released: readonly string[];
  /** restored are addresses a Service holds whose allocation was missing, taken again for it. */
  readonly restored: readonly string[];
  /** suspects is how many allocations no Service holds yet, to be released by the next sweep if unchanged. */
  readonly suspects: number;
}

/** addressesOf lists the addresses a stored Service holds (spec.clusterIPs, else spec.clusterIP). */
function addressesOf(svc: KubeObject): string[] {
  const spec = isObject(svc['spec']) ? svc['spec'] : {};
  const ips = Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'] : [spec['clusterIP']];
  return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

/** ClusterIPRepair compares allocations with Services, sweep by sweep; it remembers the suspects of the last sweep. */
export class ClusterIPRepair {
  readonly #store: ObjectStorePort;
  readonly #ips: ServiceIPAllocator;
  #suspects = new Map<string, number>();

  constructor(store: ObjectStorePort, ips: ServiceIPAllocator) {
    this.#store = store;
    this.#ips = ips;
  }

  /** sweep reads every allocation and every Service at one revision and mends what disagrees. */
  async sweep(): Promise<Result<RepairReport, PortError>> {
    const taken = await this.#ips.allocations();
    if (!taken.ok) return taken;
    const services = await this.#services(taken.value.revision);
    if (!services.ok) return services;
    const held = new Map<string, KubeObject>();
    for (const svc of services.value) {
      for (const ip of addressesOf(svc)) if (this.#ips.contains(ip)) held.set(ip, svc);
    }
    const released: string[] = [];
    const suspects = new Map<string, number>();
    for (const a of taken.value.items) {
      if (held.has(a.ip)) continue;
      if (this.#suspects.get(a.ip) !== a.revision) {
        suspects.set(a.ip, a.revision);
        continue;
      }
      const r = await this.#ips.releaseAt(a.ip, a.revision);
      if (!r.ok) return err(r.error);
      if (r.value === 'released') released.push(a.ip);
    }
    const allocated = new Set(taken.value.items.map((a) => a.ip));
    const restored: string[] = [];
    for (const [ip, svc] of held) {
      if (allocated.has(ip)) continue;
      const r = await this.#ips.reserve(ip, { service: `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`, uid: svc.metadata.uid ?? '' });
      if (r.ok) restored.push(ip);
      else if (r.error.kind !== 'taken' && r.error.kind !== 'outside') return err(r.error as PortError);
    }
    this.#suspects = suspects;
    return ok({ released, restored, suspects: suspects.size });
  }

  async #services(revision: number): Promise<Result<KubeObject[], PortError>> {
    const out: KubeObject[] = [];
    let continueKey: string | undefined;
    do {
      const page = await this.#store.list(resourceRoot(SERVICES), { limit: 500, revision, ...(continueKey === undefined ? {} : { continueKey }) });
      if (!page.ok) return page;
      out.push(...page.value.items);
      continueKey = page.value.continueKey ?? undefined;
    } while (continueKey !== undefined);
    return ok(out);
  }
}

/** REPAIR_INTERVAL_MS is how often an apiserver sweeps (kube-apiserver's repair runs every 3 minutes). */
export const REPAIR_INTERVAL_MS = 60_000;

/**
 * startRepairLoop sweeps every `intervalMs` (the next sweep is timed from the end of the last, so
 * sweeps never overlap) and hands each outcome to `report`; the returned function stops it.
 */
export function startRepairLoop(repair: Pick<ClusterIPRepair, 'sweep'>, intervalMs: number, report: (r: Result<RepairReport, PortError>) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const next = (): void => {
    timer = setTimeout(() => {
      const done = (r: Result<RepairReport, PortError>): void => {
        if (stopped) return;
        report(r);
        next();
      };
      repair.sweep().then(done, (e: unknown) => done(err({ kind: 'internal', message: e instanceof Error ? e.message : String(e) })));
    }, intervalMs);
    timer.unref();
  };
  next();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}
