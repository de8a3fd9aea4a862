/**
 * cluster: a minimal in-process cluster for measuring the Raft core alone — no disk, no
 * network, no faults: every Ready is "persisted" into MemoryStorage and its messages are
 * delivered in order. The simulator in test/sim is the one that breaks things.
 */
import { MemoryStorage, RawNode, nodeId, seededRng, type Message, type NodeId, type Ready } from '../../src/raft/index.js';

/** BenchNode is one member with its storage and applied count. */
export interface BenchNode {
  readonly id: NodeId;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  applied: number;
}

/** BenchCluster wires N nodes together with a synchronous in-order message queue. */
export class BenchCluster {
  readonly nodes: BenchNode[];
  #queue: Message[] = [];
  #readies = 0;
  #messages = 0;

  constructor(size: number, seed = 1) {
    const voters = Array.from({ length: size }, (_, i) => nodeId(i + 1));
    this.nodes = voters.map((id, i) => {
      const storage = MemoryStorage.withConf({ voters, learners: [] });
      const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(seed * 31 + i), maxInflightMsgs: 256 });
      return { id, node, storage, applied: 0 };
    });
  }

  get readies(): number {
    return this.#readies;
  }

  get messages(): number {
    return this.#messages;
  }

  /** leader returns the current leader, if any. */
  leader(): BenchNode | undefined {
    return this.nodes.find((n) => n.node.status().role === 'leader');
  }

  #handle(n: BenchNode, rd: Ready): void {
    if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    for (const m of rd.messages) this.#queue.push(m);
    for (const m of rd.messagesAfterPersist) this.#queue.push(m);
    n.applied += rd.committedEntries.length;
    n.node.advance(rd);
    this.#readies++;
  }

  /** stabilize processes readies and messages until nothing is left to do. */
  stabilize(): void {
    for (;;) {
      let progressed = false;
      for (const n of this.nodes) {
        if (n.node.hasReady()) {
          this.#handle(n, n.node.ready());
          progressed = true;
        }
      }
      if (this.#queue.length > 0) {
        const q = this.#queue;
        this.#queue = [];
        this.#messages += q.length;
        for (const m of q) this.nodes[m.to - 1]!.node.step(m);
        progressed = true;
      }
      if (!progressed) return;
    }
  }

  /** elect campaigns node 1 and settles the election. */
  elect(): BenchNode {
    this.nodes[0]!.node.campaign();
    this.stabilize();
    const l = this.leader();
    if (l === undefined) throw new Error('No leader after campaign');
    return l;
  }
}
