/**
 * netns: members in their own network namespaces, joined by a bridge, so network faults are
 * real packet drops on each member's interface. Every member's egress goes through an HTB
 * qdisc with three classes: 1:1 (normal, the default), 1:2 (a `pfifo limit 0` leaf: every
 * packet classified there is dropped) and u32/bpf filters that steer packets into 1:2.
 *
 * - a partition cuts pairs of members: a u32 filter on each side sends packets to the other's
 *   address into the drop class;
 * - loss: a classic-BPF filter draws a random number per packet and drops the given fraction;
 * - delay: a netem leaf on 1:1 where the kernel has netem, otherwise (kernels without it) the
 *   class is capped to a slow rate, which delays packets by queueing — the report says which.
 *
 * Client traffic from the runner (on the bridge's address) is left alone by partitions, so the
 * workload can still reach a member that is cut off from its peers.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** NetworkFaults is what the nemesis needs from the network between members. */
export interface NetworkFaults {
  /** mode says for the report how faults are injected. */
  readonly mode: string;
  /** cut drops every packet between the members of each pair (both directions). */
  cut(pairs: readonly (readonly [number, number])[]): Promise<void>;
  /** delay slows every member's outgoing packets. */
  delay(ms: number): Promise<void>;
  /** loss drops a fraction of every member's outgoing packets. */
  loss(percent: number): Promise<void>;
  /** heal removes every network fault. */
  heal(): Promise<void>;
}

/** NetnsMember is where one member lives. */
export interface NetnsMember {
  readonly namespace: string;
  readonly address: string;
}

async function sh(args: readonly string[]): Promise<void> {
  await run(args[0]!, args.slice(1), { timeout: 10_000 });
}

async function quiet(args: readonly string[]): Promise<void> {
  try {
    await sh(args);
  } catch {
    // Heal and teardown are idempotent: what is not there needs no removing.
  }
}

/** lossProgram is a classic-BPF program that matches a packet with probability percent/100. */
export function lossProgram(percent: number): string {
  const threshold = Math.round((1 - Math.min(100, Math.max(0, percent)) / 100) * 0xffffffff);
  // ld rand (SKF_AD_OFF + SKF_AD_RANDOM); jge #threshold → match (-1: the filter's class) : no match.
  return `4,32 0 0 4294963256,53 0 1 ${threshold},6 0 0 4294967295,6 0 0 0`;
}

/** NetnsNetwork owns the namespaces, the bridge and the qdiscs of one run. */
export class NetnsNetwork implements NetworkFaults {
  readonly members: readonly NetnsMember[];
  readonly bridgeAddress: string;
  readonly #bridge: string;
  readonly #netem: boolean;
  /** #active is what is injected now, so heal undoes exactly that. */
  #active: { cut: Set<number>; loss: boolean; delay: boolean } = { cut: new Set(), loss: false, delay: false };
  mode: string;

  private constructor(members: NetnsMember[], bridge: string, bridgeAddress: string, netem: boolean) {
    this.members = members;
    this.#bridge = bridge;
    this.bridgeAddress = bridgeAddress;
    this.#netem = netem;
    this.mode = `network namespaces ${members[0]!.namespace}…${members.at(-1)!.namespace} on a bridge; tc drops packets${netem ? ', netem delays them' : '; delay is a bandwidth cap (no netem in this kernel)'}`;
  }

  /**
   * create sets up n namespaces and the bridge; on any failure it removes what it made and
   * returns the reason (not root, no `ip`, no HTB or u32 in the kernel, ...).
   */
  static async create(n: number, tag: number): Promise<{ ok: true; value: NetnsNetwork } | { ok: false; error: string }> {
    const subnet = `10.231.${tag}`;
    const bridge = `rk${tag}br`;
    const members = Array.from({ length: n }, (_, i) => ({ namespace: `rk${tag}m${i + 1}`, address: `${subnet}.${11 + i}` }));
    const made = { bridge: false, namespaces: [] as string[] };
    try {
      await sh(['ip', 'link', 'add', bridge, 'type', 'bridge']);
      made.bridge = true;
      await sh(['ip', 'addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
      await sh(['ip', 'link', 'set', bridge, 'up']);
      for (const [i, m] of members.entries()) {
        await sh(['ip', 'netns', 'add', m.namespace]);
        made.namespaces.push(m.namespace);
        const host = `rk${tag}h${i + 1}`;
        await sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.namespace]);
        await sh(['ip', 'link', 'set', host, 'master', bridge]);
        await sh(['ip', 'link', 'set', host, 'up']);
        const inNs = ['ip', 'netns', 'exec', m.namespace];
        await sh([...inNs, 'ip', 'addr', 'add', `${m.address}/24`, 'dev', 'eth0']);
        await sh([...inNs, 'ip', 'link', 'set', 'eth0', 'up']);
        await sh([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
        await sh([...inNs, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '1']);
        await sh([...inNs, 'tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit']);
        await sh([...inNs, 'tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '10gbit']);
        await sh([...inNs, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:2', 'handle', '20:', 'pfifo', 'limit', '0']);
      }
      const first = members[0]!.namespace;
      let netem = true;
      try {
        await sh(['ip', 'netns', 'exec', first, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:1', 'handle', '10:', 'netem', 'delay', '0ms']);
        await sh(['ip', 'netns', 'exec', first, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'parent', '1:1', 'handle', '10:']);
      } catch {
        netem = false;
      }
      return { ok: true, value: new NetnsNetwork(members, bridge, `${subnet}.1`, netem) };
    } catch (err: unknown) {
      for (const ns of made.namespaces) await quiet(['ip', 'netns', 'del', ns]);
      if (made.bridge) await quiet(['ip', 'link', 'del', bridge]);
      const e = err as { stderr?: unknown; message?: unknown };
      const why = typeof e.stderr === 'string' && e.stderr.trim() !== '' ? e.stderr.trim() : String(e.message ?? err);
      return { ok: false, error: why.split('\n')[0]! };
    }
  }

  /** wrap runs a command inside member i's namespace (`ip netns exec` execs it, so the pid is the command's). */
  wrap(i: number, cmd: string, args: readonly string[]): { cmd: string; args: string[] } {
    return { cmd: 'ip', args: ['netns', 'exec', this.members[i]!.namespace, cmd, ...args] };
  }

  /**
   * #batch runs tc commands in member i's namespace through one `tc -batch` process (one
   * process per member and fault, not one per command: on a loaded machine each spawn costs
   * tens of milliseconds, and a heal should land everywhere at about the same moment).
   * `force` carries on past errors (removing what is not there).
   */
  #batch(i: number, lines: readonly (readonly string[])[], force = false): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const args = ['-n', this.members[i]!.namespace, ...(force ? ['-force'] : []), '-batch', '-'];
    return new Promise((resolve, reject) => {
      const child = spawn('tc', args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0 || force) resolve();
        else reject(new Error(`tc in ${this.members[i]!.namespace} failed: ${stderr.trim().split('\n')[0] ?? `exit ${code}`}`));
      });
      child.stdin.end(`${lines.map((l) => l.join(' ')).join('\n')}\n`);
    });
  }

  #all(line: (i: number) => readonly (readonly string[])[]): Promise<void> {
    return Promise.all(this.members.map((_, i) => this.#batch(i, line(i)))).then(() => undefined);
  }

  async cut(pairs: readonly (readonly [number, number])[]): Promise<void> {
    const drops = this.members.map((): string[][] => []);
    for (const [a, b] of pairs) {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        drops[from]!.push(['filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', `${this.members[to]!.address}/32`, 'classid', '1:2']);
        this.#active.cut.add(from);
      }
    }
    await this.#all((i) => drops[i]!);
  }

  async delay(ms: number): Promise<void> {
    this.#active.delay = true;
    await this.#all(() => [this.#netem
      ? ['qdisc', 'replace', 'dev', 'eth0', 'parent', '1:1', 'handle', '10:', 'netem', 'delay', `${ms}ms`, `${Math.round(ms / 4)}ms`]
      // Without netem: a slow link, whose queue delays packets in proportion to the traffic.
      : ['class', 'change', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${Math.max(64, Math.round(25_600 / ms))}kbit`]]);
  }

  async loss(percent: number): Promise<void> {
    this.#active.loss = true;
    await this.#all(() => [['filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '2', 'bpf', 'bytecode', `"${lossProgram(percent)}"`, 'classid', '1:2']]);
  }

  /** heal removes every network fault (what this run injected; each member at once). */
  async heal(): Promise<void> {
    const { cut, loss, delay } = this.#active;
    await Promise.all(this.members.map((_, i) => this.#batch(i, [
      ...(cut.has(i) ? [['filter', 'del', 'dev', 'eth0', 'parent', '1:', 'prio', '1']] : []),
      ...(loss ? [['filter', 'del', 'dev', 'eth0', 'parent', '1:', 'prio', '2']] : []),
      ...(delay ? [this.#netem ? ['qdisc', 'del', 'dev', 'eth0', 'parent', '1:1', 'handle', '10:'] : ['class', 'change', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit']] : []),
    ], true)));
    this.#active = { cut: new Set(), loss: false, delay: false };
  }

  /** destroy removes the namespaces and the bridge (the members' processes must be stopped first). */
  async destroy(): Promise<void> {
    for (const m of this.members) await quiet(['ip', 'netns', 'del', m.namespace]);
    await quiet(['ip', 'link', 'del', this.#bridge]);
  }
}
