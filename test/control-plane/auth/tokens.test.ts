// Static bearer tokens: Kubernetes' token file format, the authenticator, and the cluster's
// token file with its admin, component and node tokens.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureTokens,
  formatTokenFile,
  generateToken,
  nodeToken,
  parseTokenFile,
  readTokenFile,
  TokenAuthenticator,
  TokenFileAuthenticator,
  tokensEqual,
  writeTokenFile,
  type TokenEntry,
} from '../../../src/control-plane/auth/tokens.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftkube-tokens-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const entries: TokenEntry[] = [
  { token: 'tok-admin', user: 'admin', uid: 'u1', groups: ['system:masters'] },
  { token: 'tok-jane', user: 'jane', uid: 'u2', groups: ['dev', 'qa'] },
  { token: 'tok-bob', user: 'bob', uid: 'u3', groups: [] },
];

describe('token file', () => {
  it('renders Kubernetes token file lines, quoting a groups column with commas', () => {
    expect(formatTokenFile(entries)).toBe('tok-admin,admin,u1,system:masters\ntok-jane,jane,u2,"dev,qa"\ntok-bob,bob,u3\n');
  });

  it('round-trips through a file written with mode 0600', () => {
    const path = join(tempDir(), 'tokens.csv');
    writeTokenFile(path, entries);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readTokenFile(path)).toEqual({ ok: true, value: entries });
  });

  it('reads quoted fields, doubled quotes, comments and blank lines', () => {
    const text = '# static tokens\n\nt1,"a ""quoted"" user",u1,"g1, g2"\r\nt2,bob,u2,\n';
    expect(parseTokenFile(text)).toEqual({
      ok: true,
      value: [
        { token: 't1', user: 'a "quoted" user', uid: 'u1', groups: ['g1', 'g2'] },
        { token: 't2', user: 'bob', uid: 'u2', groups: [] },
      ],
    });
  });

  it.each([
    ['t1,admin\n', /^line 1: Expected at least 3 columns .* found 2/],
    ['t1,admin,u1\n,bob,u2\n', /^line 2: The token is empty/],
    ['t1,,u1\n', /^line 1: The user name is empty/],
    ['t1,a,u1\n\nt1,b,u2\n', /^line 3: The token is already used/],
    ['t1,a,u1,"g1,g2\n', /^line 1: A quoted field is not closed/],
    ['t1,a,u1,"g1"x\n', /^line 1: Unexpected text after a quoted field at column 13/],
    ['t1,a"b,u1\n', /^line 1: A double quote inside an unquoted field at column 5/],
  ])('refuses %j with a line-numbered error', (text, message) => {
    const r = parseTokenFile(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('names the file in read errors', () => {
    const dir = tempDir();
    const path = join(dir, 'bad.csv');
    writeFileSync(path, 'x,y\n');
    expect(readTokenFile(path)).toEqual({ ok: false, error: `Token file ${path}: line 1: Expected at least 3 columns (token, user name, user uid), found 2; write token,user,uid[,"group1,group2"]` });
    const missing = readTokenFile(join(dir, 'missing.csv'));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error).toMatch(/^Cannot read token file .*missing\.csv: ENOENT/);
  });

  it('refuses to write a token that would break the format', () => {
    expect(() => writeTokenFile(join(tempDir(), 't.csv'), [{ token: 'a,b', user: 'x', uid: '1', groups: [] }])).toThrow(/generateToken/);
  });
});

describe('generateToken', () => {
  it('makes distinct url-safe tokens of 256 bits', () => {
    const tokens = new Set(Array.from({ length: 50 }, generateToken));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('TokenAuthenticator', () => {
  const auth = new TokenAuthenticator(entries);

  it('maps a known bearer token to its user, adding system:authenticated', () => {
    expect(auth.authenticate('Bearer tok-jane')).toEqual({ kind: 'user', user: { username: 'jane', uid: 'u2', groups: ['dev', 'qa', 'system:authenticated'] } });
    expect(auth.authenticate('bearer   tok-bob ')).toEqual({ kind: 'user', user: { username: 'bob', uid: 'u3', groups: ['system:authenticated'] } });
  });

  it('does not add system:authenticated twice', () => {
    const a = new TokenAuthenticator([{ token: 't', user: 'x', uid: '1', groups: ['system:authenticated'] }]);
    expect(a.authenticate('Bearer t')).toEqual({ kind: 'user', user: { username: 'x', uid: '1', groups: ['system:authenticated'] } });
  });

  it('treats a request without a bearer token as anonymous', () => {
    for (const h of [undefined, '', '   ', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz']) expect(auth.authenticate(h)).toEqual({ kind: 'anonymous' });
  });

  it('refuses an unknown, a near-miss or a malformed bearer token', () => {
    for (const h of ['Bearer nope', 'Bearer tok-jan', 'Bearer tok-janee', 'Bearer TOK-JANE', 'Bearer tok-jane extra']) expect(auth.authenticate(h)).toEqual({ kind: 'invalid' });
  });

  it('finds any of ten thousand node tokens', () => {
    const many: TokenEntry[] = Array.from({ length: 10_000 }, (_, i) => ({ token: `node-token-${i}`, user: `system:node:n${i}`, uid: `${i}`, groups: ['system:nodes'] }));
    const a = new TokenAuthenticator(many);
    expect(a.authenticate('Bearer node-token-9999')).toMatchObject({ kind: 'user', user: { username: 'system:node:n9999' } });
    expect(a.authenticate('Bearer node-token-0')).toMatchObject({ kind: 'user', user: { username: 'system:node:n0' } });
    expect(a.authenticate('Bearer node-token-10000')).toEqual({ kind: 'invalid' });
  });

  it('with no entries, every token is invalid', () => {
    expect(new TokenAuthenticator([]).authenticate('Bearer tok-admin')).toEqual({ kind: 'invalid' });
  });

  it('compares tokens of any lengths without throwing', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual('', 'x'.repeat(1000))).toBe(false);
  });
});

describe('ensureTokens and nodeToken', () => {
  it('creates admin, scheduler and controller-manager tokens once and keeps them', () => {
    const dir = tempDir();
    const first = ensureTokens(dir);
    if (!first.ok) throw new Error(first.error);
    expect(statSync(first.value.path).mode & 0o777).toBe(0o600);
    const file = readTokenFile(first.value.path);
    if (!file.ok) throw new Error(file.error);
    expect(file.value.map((e) => [e.user, e.groups])).toEqual([
      ['admin', ['system:masters']],
      ['system:kube-scheduler', []],
      ['system:kube-controller-manager', []],
    ]);
    const auth = new TokenAuthenticator(file.value);
    const admin = auth.authenticate(`Bearer ${first.value.admin}`);
    expect(admin.kind === 'user' && admin.user.groups).toEqual(['system:masters', 'system:authenticated']);

    const text = readFileSync(first.value.path, 'utf8');
    expect(ensureTokens(dir)).toEqual(first);
    expect(readFileSync(first.value.path, 'utf8')).toBe(text);
  });

  it('mints a node token once, in group system:nodes, next to the others', () => {
    const dir = tempDir();
    const cluster = ensureTokens(dir);
    if (!cluster.ok) throw new Error(cluster.error);
    const n1 = nodeToken(dir, 'node-1');
    const n2 = nodeToken(dir, 'node-2');
    if (!n1.ok || !n2.ok) throw new Error('nodeToken failed');
    expect(nodeToken(dir, 'node-1')).toEqual(n1);
    expect(n1.value).not.toBe(n2.value);
    const file = readTokenFile(cluster.value.path);
    if (!file.ok) throw new Error(file.error);
    const auth = new TokenAuthenticator(file.value);
    expect(auth.authenticate(`Bearer ${n1.value}`)).toMatchObject({ kind: 'user', user: { username: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] } });
    // ensureTokens keeps the node lines.
    expect(ensureTokens(dir)).toEqual(cluster);
    const again = readTokenFile(cluster.value.path);
    expect(again.ok && again.value.length).toBe(5);
  });

  it('refuses a node name that is not a DNS subdomain, and a malformed file', () => {
    const dir = tempDir();
    expect(nodeToken(dir, 'Node_1')).toMatchObject({ ok: false });
    writeFileSync(join(dir, 'tokens.csv'), 'only-a-token\n');
    const r = ensureTokens(dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/line 1: Expected at least 3 columns/);
    expect(nodeToken(dir, 'node-1').ok).toBe(false);
  });
});

describe('TokenFileAuthenticator', () => {
  it('picks up a node token added after it opened the file', () => {
    const dir = tempDir();
    const cluster = ensureTokens(dir);
    if (!cluster.ok) throw new Error(cluster.error);
    const opened = TokenFileAuthenticator.open(cluster.value.path);
    if (!opened.ok) throw new Error(opened.error);
    const auth = opened.value;
    expect(auth.authenticate(`Bearer ${cluster.value.admin}`)).toMatchObject({ kind: 'user', user: { username: 'admin' } });
    const n1 = nodeToken(dir, 'node-1');
    if (!n1.ok) throw new Error(n1.error);
    expect(auth.authenticate(`Bearer ${n1.value}`)).toMatchObject({ kind: 'user', user: { username: 'system:node:node-1' } });
    expect(auth.authenticate('Bearer unknown')).toEqual({ kind: 'invalid' });
    expect(auth.authenticate(undefined)).toEqual({ kind: 'anonymous' });
  });

  it('keeps the tokens it has when the file turns malformed, and says why', () => {
    const dir = tempDir();
    const path = join(dir, 'tokens.csv');
    writeTokenFile(path, entries);
    const opened = TokenFileAuthenticator.open(path);
    if (!opened.ok) throw new Error(opened.error);
    const auth = opened.value;
    writeFileSync(path, 'broken\n');
    expect(auth.authenticate('Bearer nope')).toEqual({ kind: 'invalid' });
    expect(auth.lastError).toMatch(/line 1: Expected at least 3 columns/);
    expect(auth.authenticate('Bearer tok-jane')).toMatchObject({ kind: 'user', user: { username: 'jane' } });
    writeTokenFile(path, [...entries, { token: 'tok-new', user: 'new', uid: 'u9', groups: [] }]);
    expect(auth.authenticate('Bearer tok-new')).toMatchObject({ kind: 'user', user: { username: 'new' } });
    expect(auth.lastError).toBeUndefined();
  });

  it('refuses to open a missing file', () => {
    expect(TokenFileAuthenticator.open(join(tempDir(), 'none.csv')).ok).toBe(false);
  });
});
