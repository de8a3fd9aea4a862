/**
 * tokens: static bearer tokens, kept as Kubernetes keeps them in its `--token-auth-file` —
 * one CSV line per token: `token,user,uid,"group1,group2"` (the groups column is optional) —
 * and the authenticator that turns an `Authorization: Bearer ...` header into a user.
 *
 * The cluster's tokens live in one file: the admin's (group system:masters), one per control-plane
 * component, and one per node (`system:node:<name>` in group system:nodes).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../api/types.js';
import type { UserInfo } from '../apiserver/registry-api.js';

/** TokenEntry is one line of a token file. */
export interface TokenEntry {
  readonly token: string;
  readonly user: string;
  readonly uid: string;
  readonly groups: readonly string[];
}

/** AuthenticationResult is what a request's Authorization header proves. */
export type AuthenticationResult =
  /** user: a known token; its groups include system:authenticated. */
  | { readonly kind: 'user'; readonly user: UserInfo }
  /** anonymous: no bearer token at all (the apiserver decides whether anonymous requests may pass). */
  | { readonly kind: 'anonymous' }
  /** invalid: a bearer token that matches no entry (HTTP 401). */
  | { readonly kind: 'invalid' };

/** AUTHENTICATED_GROUP is the group every authenticated user is in. */
export const AUTHENTICATED_GROUP = 'system:authenticated';

/** ANONYMOUS_USER is how Kubernetes names a request without credentials, when it lets one in. */
export const ANONYMOUS_USER: UserInfo = { username: 'system:anonymous', uid: '', groups: ['system:unauthenticated'] };

/** ADMIN_USER is the cluster administrator's user name; its group is system:masters. */
export const ADMIN_USER = 'admin';
/** SCHEDULER_USER is the scheduler's user name, as Kubernetes names it. */
export const SCHEDULER_USER = 'system:kube-scheduler';
/** CONTROLLER_MANAGER_USER is the controller manager's user name, as Kubernetes names it. */
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
/** NODES_GROUP is the group of every node's user. */
export const NODES_GROUP = 'system:nodes';
/** TOKEN_FILE is the token file's name inside the directory ensureTokens and nodeToken use. */
export const TOKEN_FILE = 'tokens.csv';

/** generateToken makes a fresh random token: 32 bytes, base64url (no commas, no quotes). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** nodeUserName is the user name of node `nodeName`: `system:node:<name>`. */
export function nodeUserName(nodeName: string): string {
  return `system:node:${nodeName}`;
}

/**
 * TokenAuthenticator answers who a bearer token belongs to. It keeps only SHA-256 digests of the
 * tokens, indexed by digest, and compares the found entry's digest in constant time. NB: looking
 * a digest up leaks nothing an attacker can use — tokens sharing a prefix have unrelated
 * digests, so the timing says nothing about how close a guess came — and a lookup costs the same
 * with ten tokens or ten thousand (one per simulated node).
 */
export class TokenAuthenticator {
  readonly #byDigest: ReadonlyMap<string, { readonly digest: Buffer; readonly user: UserInfo }>;

  constructor(entries: readonly TokenEntry[]) {
    const byDigest = new Map<string, { readonly digest: Buffer; readonly user: UserInfo }>();
    for (const e of entries) {
      const d = digest(e.token);
      // The first line of a token wins, as the file parser refuses duplicates anyway.
      if (!byDigest.has(d.toString('hex'))) byDigest.set(d.toString('hex'), { digest: d, user: { username: e.user, uid: e.uid, groups: withAuthenticated(e.groups) } });
    }
    this.#byDigest = byDigest;
  }

  /**
   * authenticate reads an Authorization header. As in Kubernetes, a header that carries no
   * bearer token (absent, empty, another scheme) is anonymous; a bearer token that matches no
   * entry is invalid.
   */
  authenticate(authorizationHeader: string | undefined): AuthenticationResult {
    const token = bearerToken(authorizationHeader);
    if (token === undefined) return { kind: 'anonymous' };
    if (token === null) return { kind: 'invalid' };
    const presented = digest(token);
    const entry = this.#byDigest.get(presented.toString('hex'));
    if (entry === undefined || !timingSafeEqual(presented, entry.digest)) return { kind: 'invalid' };
    return { kind: 'user', user: entry.user };
  }
}

/**
 * TokenFileAuthenticator authenticates against a token file and picks up tokens added to it
 * later (a node that joins after the apiserver started): when a bearer token matches nothing, it
 * re-reads the file if its modification time or size changed, then tries once more. Known
 * tokens cost no I/O; a file that no longer parses keeps the tokens read before (see lastError).
 */
export class TokenFileAuthenticator {
  readonly #path: string;
  #auth: TokenAuthenticator;
  #stamp: string;
  #lastError: string | undefined;

  /** open reads the token file; an unreadable or malformed file is an error. */
  static open(path: string): Result<TokenFileAuthenticator, string> {
    const stamp = fileStamp(path);
    const entries = readTokenFile(path);
    if (!entries.ok) return entries;
    return ok(new TokenFileAuthenticator(path, new TokenAuthenticator(entries.value), stamp));
  }

  private constructor(path: string, auth: TokenAuthenticator, stamp: string) {
    this.#path = path;
    this.#auth = auth;
    this.#stamp = stamp;
  }

  /** lastError says why the latest re-read was refused (undefined when it succeeded). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** authenticate is TokenAuthenticator.authenticate, re-reading a changed file on a miss. */
  authenticate(authorizationHeader: string | undefined): AuthenticationResult {
    const first = this.#auth.authenticate(authorizationHeader);
    if (first.kind !== 'invalid') return first;
    const stamp = fileStamp(this.#path);
    if (stamp === this.#stamp) return first;
    this.#stamp = stamp;
    const entries = readTokenFile(this.#path);
    if (!entries.ok) {
      this.#lastError = entries.error;
      return first;
    }
    this.#lastError = undefined;
    this.#auth = new TokenAuthenticator(entries.value);
    return this.#auth.authenticate(authorizationHeader);
  }
}

function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

/** tokensEqual compares two tokens in time that depends on neither's contents. */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * bearerToken extracts the token of `Bearer <token>`: undefined when the header carries no
 * bearer token, null when it is malformed (`Bearer a b`).
 */
function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const parts = header.trim().split(/\s+/);
  if (parts[0]?.toLowerCase() !== 'bearer') return undefined;
  if (parts.length === 1 || parts[1] === '') return undefined;
  if (parts.length > 2) return null;
  return parts[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function withAuthenticated(groups: readonly string[]): readonly string[] {
  return groups.includes(AUTHENTICATED_GROUP) ? [...groups] : [...groups, AUTHENTICATED_GROUP];
}

/** formatTokenFile renders entries as token file lines (groups quoted when there are several). */
export function formatTokenFile(entries: readonly TokenEntry[]): string {
  return entries.map((e) => [e.token, e.user, e.uid, ...(e.groups.length > 0 ? [e.groups.join(',')] : [])].map(csvField).join(',') + '\n').join('');
}

/** writeTokenFile writes entries to `path` (mode 0600), replacing the file atomically. */
export function writeTokenFile(path: string, entries: readonly TokenEntry[]): void {
  for (const e of entries) {
    if (e.token === '' || /[\s,"]/.test(e.token)) throw new Error(`Token of user ${JSON.stringify(e.user)} is empty or holds a comma, quote or space; make tokens with generateToken`);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatTokenFile(entries), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** readTokenFile reads a token file; a malformed line is an error naming its number. */
export function readTokenFile(path: string): Result<TokenEntry[], string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e: unknown) {
    return err(`Cannot read token file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = parseTokenFile(text);
  return parsed.ok ? parsed : err(`Token file ${path}: ${parsed.error}`);
}

/**
 * parseTokenFile parses token file text. Blank lines and lines starting with '#' are skipped;
 * every other line needs at least token, user and uid, a non-empty token and user, and a token
 * no earlier line used.
 */
export function parseTokenFile(text: string): Result<TokenEntry[], string> {
  const entries: TokenEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const fields = parseCsvLine(line);
    if (!fields.ok) return err(`line ${n}: ${fields.error}`);
    const [token = '', user = '', uid, groups] = fields.value;
    if (uid === undefined) return err(`line ${n}: Expected at least 3 columns (token, user name, user uid), found ${fields.value.length}; write token,user,uid[,"group1,group2"]`);
    if (token === '') return err(`line ${n}: The token is empty; put a token in the first column`);
    if (user === '') return err(`line ${n}: The user name is empty; put a user name in the second column`);
    if (seen.has(token)) return err(`line ${n}: The token is already used by an earlier line; give each user its own token`);
    seen.add(token);
    const groupList = groups === undefined || groups === '' ? [] : groups.split(',').map((g) => g.trim()).filter((g) => g !== '');
    entries.push({ token, user, uid, groups: groupList });
  }
  return ok(entries);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function parseCsvLine(line: string): Result<string[], string> {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return err('A quoted field is not closed; end it with a double quote');
        const c = line[i];
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ',') return err(`Unexpected text after a quoted field at column ${i + 1}; put a comma after the closing quote`);
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') return err(`A double quote inside an unquoted field at column ${i + 1}; quote the whole field`);
        field += line[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= line.length) return ok(fields);
    i++; // the comma
  }
}

/** ClusterTokens are the tokens ensureTokens keeps, and the file holding them. */
export interface ClusterTokens {
  readonly path: string;
  readonly admin: string;
  readonly scheduler: string;
  readonly controllerManager: string;
}

/**
 * ensureTokens keeps `<dir>/tokens.csv` holding a token for the admin (group system:masters),
 * the scheduler and the controller manager: it creates the file, adds missing users, and keeps
 * every existing line (node tokens among them). An unreadable or malformed file is an error.
 */
export function ensureTokens(dir: string): Result<ClusterTokens, string> {
  const path = join(dir, TOKEN_FILE);
  const entries = loadOrEmpty(path);
  if (!entries.ok) return entries;
  const list = entries.value;
  const before = list.length;
  const admin = tokenFor(list, ADMIN_USER, ['system:masters']);
  const scheduler = tokenFor(list, SCHEDULER_USER, []);
  const controllerManager = tokenFor(list, CONTROLLER_MANAGER_USER, []);
  if (list.length !== before) writeTokenFile(path, list);
  return ok({ path, admin, scheduler, controllerManager });
}

/**
 * nodeToken returns the token of node `nodeName` (user system:node:<name>, group system:nodes)
 * from `<dir>/tokens.csv`, minting and saving one the first time.
 */
export function nodeToken(dir: string, nodeName: string): Result<string, string> {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    return err(`Node name ${JSON.stringify(nodeName)} is not a DNS subdomain; use lower-case letters, digits, '-' and '.'`);
  }
  const path = join(dir, TOKEN_FILE);
  const entries = loadOrEmpty(path);
  if (!entries.ok) return entries;
  const list = entries.value;
  const before = list.length;
  const token = tokenFor(list, nodeUserName(nodeName), [NODES_GROUP]);
  if (list.length !== before) writeTokenFile(path, list);
  return ok(token);
}

function loadOrEmpty(path: string): Result<TokenEntry[], string> {
  return existsSync(path) ? readTokenFile(path) : ok([]);
}

/** tokenFor finds the user's token in `list`, appending a new entry when there is none. */
function tokenFor(list: TokenEntry[], user: string, groups: readonly string[]): string {
  const found = list.find((e) => e.user === user);
  if (found !== undefined) return found.token;
  const entry: TokenEntry = { token: generateToken(), user, uid: randomUUID(), groups };
  list.push(entry);
  return entry.token;
}
