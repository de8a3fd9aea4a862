/**
 * network: the simulated, seeded network. A sent message is dropped, duplicated and delayed by
 * a random number of steps according to the current faults; messages due at the same step are
 * delivered in a shuffled order, so delays and shuffles together reorder traffic. Links can be
 * cut one way (asymmetric) or both ways (partitions); a cut is checked at delivery time, so a
 * message in flight when a partition starts is lost, as on a real network.
 */
import type { Rng } from '../../src/raft/rng.js';
import type { Message, NodeId } from '../../src/raft/types.js';
import { chance, shuffle } from './rand.js';

/** NetworkFaults is how unreliable the network is right now. Percentages are 0–100. */
export interface NetworkFaults {
  readonly dropPct: number;
  readonly dupPct: number;
  /** minDelay/maxDelay bound the delivery delay in steps (≥ 1: nothing arrives in the step it was sent). */
  readonly minDelay: number;
  readonly maxDelay: number;
}

/** RELIABLE is a network that loses nothing and delivers in the next step or the one after. */
export const RELIABLE: NetworkFaults = { dropPct: 0, dupPct: 0, minDelay: 1, maxDelay: 2 };

/**
 * Delivery is a message due at its destination, with the step it was sent at; `cut` marks one
 * lost to a cut link (the sender's transport would notice and report the peer unreachable).
 */
export interface Delivery {
  readonly msg: Message;
  readonly sentAt: number;
  readonly cut: boolean;
}

interface InFlight {
  readonly msg: Message;
  readonly sentAt: number;
  readonly deliverAt: number;
}

/** NetworkStats counts what the network did, for assertions and reports. */
export interface NetworkStats {
  sent: number;
  dropped: number;
  duplicated: number;
  cut: number;
  delivered: number;
}

/** SimNetwork carries messages between simulated nodes under the current faults and cuts. */
export class SimNetwork {
  readonly #rng: Rng;
  #queue: InFlight[] = [];
  readonly #cut = new Set<string>();
  #faults: NetworkFaults;
  readonly stats: NetworkStats = { sent: 0, dropped: 0, duplicated: 0, cut: 0, delivered: 0 };

  constructor(rng: Rng, faults: NetworkFaults = RELIABLE) {
    this.#rng = rng;
    this.#faults = faults;
  }

  /** faults returns the current fault settings. */
  get faults(): NetworkFaults {
    return this.#faults;
  }

  /** setFaults changes drop/dup/delay settings for messages sent from now on. */
  setFaults(f: NetworkFaults): void {
    if (f.minDelay < 1 || f.maxDelay < f.minDelay) throw new RangeError(`Bad delay range [${f.minDelay}, ${f.maxDelay}]; need 1 ≤ min ≤ max`);
    this.#faults = f;
  }

  /** send puts a message on the wire at step `now`; returns what happened to it. */
  send(msg: Message, now: number): 'dropped' | 'sent' | 'duplicated' {
    this.stats.sent++;
    const f = this.#faults;
    if (chance(this.#rng, f.dropPct)) {
      this.stats.dropped++;
      return 'dropped';
    }
    const copies = chance(this.#rng, f.dupPct) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = f.minDelay + this.#rng.int(f.maxDelay - f.minDelay + 1);
      this.#queue.push({ msg, sentAt: now, deliverAt: now + delay });
    }
    if (copies === 2) this.stats.duplicated++;
    return copies === 2 ? 'duplicated' : 'sent';
  }

  /**
   * due removes and returns, in shuffled order, the messages due at step `now`; those whose
   * link is cut are lost here and come back marked `cut`.
   */
  due(now: number): Delivery[] {
    const out: Delivery[] = [];
    const keep: InFlight[] = [];
    for (const f of this.#queue) {
      if (f.deliverAt > now) keep.push(f);
      else {
        const cut = this.isCut(f.msg.from, f.msg.to);
        if (cut) this.stats.cut++;
        else this.stats.delivered++;
        out.push({ msg: f.msg, sentAt: f.sentAt, cut });
      }
    }
    this.#queue = keep;
    return shuffle(this.#rng, out);
  }

  /** inFlight is the number of messages on the wire. */
  get inFlight(): number {
    return this.#queue.length;
  }

  /** cutLink cuts the one-way link from → to. */
  cutLink(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  /** restoreLink undoes cutLink(from, to). */
  restoreLink(from: NodeId, to: NodeId): void {
    this.#cut.delete(`${from}>${to}`);
  }

  /** isCut tells whether messages from → to are lost. */
  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cut.size > 0 && this.#cut.has(`${from}>${to}`);
  }

  /** partition cuts every link between nodes of different groups, both ways (after healing). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.heal();
    for (let g = 0; g < groups.length; g++) {
      for (let h = 0; h < groups.length; h++) {
        if (g === h) continue;
        for (const a of groups[g]!) for (const b of groups[h]!) this.cutLink(a, b);
      }
    }
  }

  /** isolate cuts `id` off from every node in `all`, both ways. */
  isolate(id: NodeId, all: readonly NodeId[]): void {
    for (const o of all) {
      if (o === id) continue;
      this.cutLink(id, o);
      this.cutLink(o, id);
    }
  }

  /** heal restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** cutLinks lists the cut links as "from>to", sorted (for traces). */
  cutLinks(): string[] {
    return [...this.#cut].sort();
  }
}
