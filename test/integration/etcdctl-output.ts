/**
 * etcdctl-output: parsers for what etcdctl 3.4 prints, so the tests assert on fields rather than
 * on raw text. IDs stay exact (hex strings, as `member list` prints them).
 */
import { parseJsonLossless } from './harness.js';

/** EndpointStatus is one row of `etcdctl endpoint status -w json`. */
export interface EndpointStatus {
  readonly endpoint: string;
  /** memberId is the answering member's ID in hex. */
  readonly memberId: string;
  /** leader is the leader's ID in hex, as the member knows it ("0" for none). */
  readonly leader: string;
  readonly isLearner: boolean;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  readonly revision: number;
  readonly version: string;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`Expected an object for ${what}, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

/** hexId turns a decimal ID (number or exact string) into etcd's hex form. */
export function hexId(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v).toString(16);
  throw new Error(`Expected an ID, got ${JSON.stringify(v)}`);
}

function num(v: unknown): number {
  if (v === undefined) return 0; // etcdctl's JSON omits zero values
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  throw new Error(`Expected a number, got ${JSON.stringify(v)}`);
}

/** parseEndpointStatus decodes `etcdctl endpoint status -w json`. */
export function parseEndpointStatus(stdout: string): EndpointStatus[] {
  const rows = parseJsonLossless(stdout);
  if (!Array.isArray(rows)) throw new Error(`endpoint status -w json did not print an array:\n${stdout}`);
  return rows.map((r: unknown): EndpointStatus => {
    const row = obj(r, 'an endpoint status row');
    const st = obj(row['Status'], 'Status');
    const header = obj(st['header'], 'Status.header');
    return {
      endpoint: String(row['Endpoint']),
      memberId: hexId(header['member_id']),
      leader: hexId(st['leader'] ?? 0),
      isLearner: st['isLearner'] === true,
      raftTerm: num(st['raftTerm']),
      raftIndex: num(st['raftIndex']),
      raftAppliedIndex: num(st['raftAppliedIndex']),
      revision: num(header['revision']),
      version: String(st['version']),
    };
  });
}

/** MemberRow is one line of `etcdctl member list` (simple output). */
export interface MemberRow {
  readonly id: string;
  readonly status: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** parseMemberList decodes `etcdctl member list`: "id, status, name, peers, clients, learner". */
export function parseMemberList(stdout: string): MemberRow[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((line): MemberRow => {
      const f = line.split(', ');
      if (f.length !== 6) throw new Error(`Unexpected member list line: ${JSON.stringify(line)}`);
      const [id, status, name, peers, clients, learner] = f as [string, string, string, string, string, string];
      const list = (s: string): string[] => s.split(',').filter((x) => x.length > 0);
      return { id, status, name, peerURLs: list(peers), clientURLs: list(clients), isLearner: learner === 'true' };
    });
}

/** WatchEvent is one event as `etcdctl watch` prints it: type, key, value on three lines. */
export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly value: string;
}

/**
 * parseWatchEvents decodes `etcdctl watch` simple output. It returns only complete events (a
 * trailing partial one, still being printed, is left out) and needs values without newlines.
 */
export function parseWatchEvents(stdout: string): WatchEvent[] {
  const lines = stdout.split('\n');
  lines.pop(); // the text after the last newline is incomplete
  const events: WatchEvent[] = [];
  for (let i = 0; i + 2 < lines.length; i += 3) {
    const type = lines[i];
    const key = lines[i + 1];
    const value = lines[i + 2] ?? '';
    if (key === undefined) break;
    if (type !== 'PUT' && type !== 'DELETE') throw new Error(`Unexpected watch output at line ${i + 1}: ${JSON.stringify(type)}\n${stdout}`);
    events.push({ type, key, value });
  }
  return events;
}
