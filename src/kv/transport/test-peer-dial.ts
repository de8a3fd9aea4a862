/**
 * test-peer-dial: a test-only rewrite of where a member connects when it talks to another
 * member. The chaos runner's proxy mode (src/chaos/nemesis/proxy.ts) puts a fault-injecting
 * proxy on every link between members; each member must still advertise its real URLs (a
 * member's ID is derived from its peer URLs), so the rewrite applies only where a member
 * dials: the peer transport, forwarding a request to the leader, and the look-up a joining
 * member makes. A member reads RAFTKUBE_TEST_PEER_DIAL once at start — a JSON object from an
 * advertised URL to the address to dial instead — and without it nothing changes.
 */
import { stripScheme } from '../client/etcd-client.js';

/** TEST_PEER_DIAL_ENV names the test-only variable that redirects a member's dials to other members. */
export const TEST_PEER_DIAL_ENV = 'RAFTKUBE_TEST_PEER_DIAL';

/** DialRewrite maps an advertised URL to where to connect (host:port or the URL unchanged). */
export type DialRewrite = (url: string) => string;

/** PeerDialMap is a parsed RAFTKUBE_TEST_PEER_DIAL: host:port advertised → host:port dialled. */
export type PeerDialMap = ReadonlyMap<string, string>;

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const HOST_PORT = /^[^\s/:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/**
 * parseTestPeerDial reads the variable's value: null when unset or empty, otherwise a map
 * keyed and valued by host:port (a scheme such as http:// is dropped on both sides).
 */
export function parseTestPeerDial(raw: string | undefined): Parsed<PeerDialMap | null> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: null };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err: unknown) {
    return { ok: false, error: `${TEST_PEER_DIAL_ENV} is not JSON (${err instanceof Error ? err.message : String(err)}); give an object from advertised URL to dial URL, or unset it` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: `${TEST_PEER_DIAL_ENV} must be a JSON object from advertised URL to dial URL` };
  }
  const out = new Map<string, string>();
  for (const [from, to] of Object.entries(json)) {
    const key = stripScheme(from);
    if (typeof to !== 'string' || !HOST_PORT.test(key) || !HOST_PORT.test(stripScheme(to))) {
      return { ok: false, error: `${TEST_PEER_DIAL_ENV}: ${JSON.stringify(from)} → ${JSON.stringify(to)} is not URL → URL (http://host:port)` };
    }
    out.set(key, stripScheme(to));
  }
  return { ok: true, value: out };
}

/** encodeTestPeerDial is the variable's value for a map from advertised URL to dial URL. */
export function encodeTestPeerDial(map: Readonly<Record<string, string>>): string {
  return JSON.stringify(map);
}

/** dialRewrite turns a parsed map into the rewrite (the identity when there is none). */
export function dialRewrite(map: PeerDialMap | null): DialRewrite {
  if (map === null || map.size === 0) return (url) => url;
  return (url) => map.get(stripScheme(url)) ?? url;
}
