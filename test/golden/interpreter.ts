/**
 * interpreter: runs golden Raft scenario scripts (in the spirit of etcd-io/raft's datadriven
 * interaction tests) against the real core, printing every Ready and message it handles. The
 * transcript is compared with a checked-in .golden file; `GOLDEN_UPDATE=1` rewrites them, and
 * every diff is read before it is committed.
 *
 * Commands (one per line, `#` starts a comment):
 *   add-nodes N [pre-vote=true|false] [check-quorum=true|false] [seed=S]
 *   campaign ID                 tick ID [N]            tick-all [N]
 *   run-ticks N                 (tick every node once, then stabilize; N times)
 *   propose ID TEXT             read-index ID CTX      transfer-leader FROM TO
 *   forward ID TEXT             (propose on any node: a follower forwards to the leader)
 *   deliver [drop=A-B,...]      (one round of pending messages; listed links drop)
 *   process-ready ID            stabilize              (readies and messages until quiet)
 *   partition A,B|C,D,E         heal
 *   compact ID INDEX            (snapshot the applied state at INDEX, drop the log before it)
 *   status ID                   log ID
 */
import { MemoryStorage, RawNode, logIndex, nodeId, seededRng, type Entry, type Message, type NodeId, type Ready } from '../../src/raft/index.js';

interface GNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly node: RawNode;
  applied: string[];
}

function text(d: Uint8Array): string {
  return new TextDecoder().decode(d);
}

function fmtEntry(e: Entry): string {
  return `${e.term}/${e.index} ${e.type === 'normal' ? 'EntryNormal' : 'EntryConfChange'} ${JSON.stringify(e.type === 'normal' ? text(e.data) : `<${e.data.byteLength} bytes>`)}`;
}

function fmtCtx(c: Uint8Array | null): string {
  return c === null ? '' : ` Context:${JSON.stringify(text(c))}`;
}

/** fmtMessage prints one message in a stable, readable form. */
export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} Log:${m.logTerm}/${m.index} Commit:${m.commit}${m.entries.length > 0 ? ` Entries:[${m.entries.map(fmtEntry).join(', ')}]` : ''}`;
    case 'app-resp':
      return `${head} Index:${m.index}${m.reject ? ` Rejected (Hint: ${m.rejectHint}/${m.logTerm})` : ''}`;
    case 'vote':
    case 'pre-vote':
      return `${head} Log:${m.logTerm}/${m.index}${m.force ? ' Force' : ''}`;
    case 'vote-resp':
    case 'pre-vote-resp':
      return `${head}${m.reject ? ' Rejected' : ''}`;
    case 'heartbeat':
      return `${head} Commit:${m.commit}${fmtCtx(m.context)}`;
    case 'heartbeat-resp':
      return `${head}${fmtCtx(m.context)}`;
    case 'snap':
      return `${head} Snapshot: Index:${m.snapshot.metadata.index} Term:${m.snapshot.metadata.term} Voters:[${m.snapshot.metadata.confState.voters.join(',')}]`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head}${fmtCtx(m.context)}`;
    case 'read-index-resp':
      return `${head} Index:${m.index}${fmtCtx(m.context)}`;
    case 'prop':
      return `${head} Entries:[${m.entries.map((e) => JSON.stringify(text(e.data))).join(', ')}]`;
  }
}

function fmtReady(rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState !== null) out.push(`Lead:${rd.softState.leader} State:${rd.softState.role}`);
  if (rd.hardState !== null) out.push(`HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`);
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map((e) => `  ${fmtEntry(e)}`));
  if (rd.snapshot !== null) out.push(`Snapshot Index:${rd.snapshot.metadata.index} Term:${rd.snapshot.metadata.term}`);
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map((e) => `  ${fmtEntry(e)}`));
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map((m) => `  ${fmtMessage(m)}`));
  if (rd.messagesAfterPersist.length > 0) out.push('MessagesAfterPersist:', ...rd.messagesAfterPersist.map((m) => `  ${fmtMessage(m)}`));
  if (rd.readStates.length > 0) out.push(...rd.readStates.map((r) => `ReadState Index:${r.index}${fmtCtx(r.context)}`));
  if (rd.droppedProposals.length > 0) out.push(`DroppedProposals: ${rd.droppedProposals.map((d) => `${d.term}/${d.index}`).join(' ')}`);
  return out;
}

/** Interpreter holds the nodes, the pending messages and the partition of one script run. */
export class Interpreter {
  readonly #nodes = new Map<number, GNode>();
  #pending: Message[] = [];
  #cut = new Set<string>();
  readonly #out: string[] = [];

  #node(id: string | undefined): GNode {
    const n = this.#nodes.get(Number(id));
    if (n === undefined) throw new Error(`No node ${id}`);
    return n;
  }

  #emit(...lines: string[]): void {
    this.#out.push(...lines);
  }

  #blocked(m: Message): boolean {
    return this.#cut.has(`${m.from}-${m.to}`);
  }

  #processReady(n: GNode): boolean {
    if (!n.node.hasReady()) return false;
    const rd = n.node.ready();
    this.#emit(`> ${n.id} handling Ready`, ...fmtReady(rd).map((l) => `  ${l}`));
    if (rd.snapshot !== null) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = text(rd.snapshot.data).split('\n').filter((s) => s.length > 0);
    }
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    for (const m of [...rd.messages, ...rd.messagesAfterPersist]) this.#pending.push(m);
    for (const e of rd.committedEntries) if (e.type === 'normal' && e.data.byteLength > 0) n.applied.push(text(e.data));
    n.node.advance(rd);
    return true;
  }

  #deliver(drop: ReadonlySet<string>): boolean {
    if (this.#pending.length === 0) return false;
    const msgs = this.#pending;
    this.#pending = [];
    for (const m of msgs) {
      const key = `${m.from}-${m.to}`;
      if (drop.has(key) || this.#blocked(m)) {
        this.#emit(`  dropped: ${fmtMessage(m)}`);
        continue;
      }
      this.#node(String(m.to)).node.step(m);
    }
    return true;
  }

  #stabilize(): void {
    for (let round = 0; round < 1000; round++) {
      let progressed = false;
      for (const n of this.#nodes.values()) progressed = this.#processReady(n) || progressed;
      if (this.#pending.length > 0) {
        this.#emit('> delivering messages');
        this.#deliver(new Set());
        progressed = true;
      }
      if (!progressed) return;
    }
    throw new Error('stabilize did not reach a fixed point in 1000 rounds');
  }

  /** run executes one command line and records its output. */
  run(line: string): void {
    const [cmd = '', ...args] = line.trim().split(/\s+/);
    const opt = (name: string, def: string): string => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? def;
    switch (cmd) {
      case 'add-nodes': {
        const n = Number(args[0]);
        const voters = Array.from({ length: n }, (_, i) => nodeId(this.#nodes.size + i + 1));
        const seed = Number(opt('seed', '1'));
        for (const id of voters) {
          const storage = MemoryStorage.withConf({ voters, learners: [] });
          const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(seed * 100 + id), preVote: opt('pre-vote', 'true') === 'true', checkQuorum: opt('check-quorum', 'true') === 'true', maxInflightMsgs: 8 });
          this.#nodes.set(id, { id, storage, node, applied: [] });
        }
        return;
      }
      case 'campaign':
        this.#node(args[0]).node.campaign();
        return;
      case 'tick': {
        const n = this.#node(args[0]);
        for (let i = 0; i < Number(args[1] ?? '1'); i++) n.node.tick();
        return;
      }
      case 'tick-all':
        for (let i = 0; i < Number(args[0] ?? '1'); i++) for (const n of this.#nodes.values()) n.node.tick();
        return;
      case 'propose': {
        const r = this.#node(args[0]).node.propose(new TextEncoder().encode(args.slice(1).join(' ')));
        this.#emit(r.ok ? `  proposed at ${r.term}/${r.index}` : `  refused: ${r.reason} (leader hint ${r.leaderHint})`);
        return;
      }
      case 'forward': {
        const r = this.#node(args[0]).node.forwardBatch([new TextEncoder().encode(args.slice(1).join(' '))]);
        this.#emit(r.ok ? `  ${r.forwarded ? 'forwarded to the leader' : 'appended as leader'}` : `  refused: ${r.reason}`);
        return;
      }
      case 'read-index': {
        const r = this.#node(args[0]).node.readIndex(new TextEncoder().encode(args[1] ?? ''));
        this.#emit(r.ok ? '  read index requested' : `  refused: ${r.reason}`);
        return;
      }
      case 'transfer-leader': {
        const r = this.#node(args[0]).node.transferLeader(nodeId(Number(args[1])));
        this.#emit(r.ok ? '  transfer started' : `  refused: ${r.reason}`);
        return;
      }
      case 'run-ticks':
        // Tick every node once and settle, N times: time passing with the network working.
        for (let i = 0; i < Number(args[0] ?? '1'); i++) {
          for (const n of this.#nodes.values()) n.node.tick();
          this.#stabilize();
        }
        return;
      case 'deliver': {
        const drop = new Set(opt('drop', '').split(',').filter((s) => s.length > 0));
        this.#deliver(drop);
        return;
      }
      case 'process-ready':
        this.#processReady(this.#node(args[0]));
        return;
      case 'stabilize':
        this.#stabilize();
        return;
      case 'partition': {
        const groups = args.join('').split('|').map((g) => g.split(',').map(Number));
        this.#cut.clear();
        for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.#cut.add(`${x}-${y}`);
        return;
      }
      case 'heal':
        this.#cut.clear();
        return;
      case 'compact': {
        const n = this.#node(args[0]);
        const at = Number(args[1]);
        const state = new TextEncoder().encode(n.applied.join('\n'));
        n.storage.createSnapshot(logIndex(at), n.node.confState(), state);
        n.storage.compact(logIndex(at));
        this.#emit(`  ${n.id} compacted to ${at}`);
        return;
      }
      case 'status': {
        const s = this.#node(args[0]).node.status();
        this.#emit(`  ${s.id}: ${s.role} term=${s.term} vote=${s.vote} lead=${s.leader} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}`);
        return;
      }
      case 'log': {
        const n = this.#node(args[0]);
        this.#emit(`  ${n.id} applied: [${n.applied.join(', ')}]`);
        return;
      }
      default:
        throw new Error(`Unknown golden command: ${line}`);
    }
  }

  /** transcript runs a whole script and returns its transcript. */
  static transcript(script: string): string {
    const it = new Interpreter();
    for (const raw of script.split('\n')) {
      const line = raw.trim();
      if (line.length === 0) continue;
      if (line.startsWith('#')) {
        it.#emit(line);
        continue;
      }
      it.#emit(`$ ${line}`);
      it.run(line);
    }
    return `${it.#out.join('\n')}\n`;
  }
}
