// The auth pieces against the real kubectl (a Go client): it must trust the serving certificate
// through the kubeconfig's CA alone, send the bearer token, read 401 and 403 Status objects, and
// understand the self-subject reviews of `kubectl auth can-i`. A small HTTPS handler on loopback
// stands in for the apiserver's routing; everything it decides comes from src/control-plane/auth.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapPolicy } from '../../../src/control-plane/auth/bootstrap.js';
import { ensurePki } from '../../../src/control-plane/auth/pki.js';
import { forbiddenError, RbacAuthorizer, rbacSourceOf, type RequestAttributes } from '../../../src/control-plane/auth/rbac.js';
import { impersonate } from '../../../src/control-plane/auth/impersonation.js';
import { answerReview } from '../../../src/control-plane/auth/reviews.js';
import { ANONYMOUS_USER, ensureTokens, readTokenFile, TokenAuthenticator } from '../../../src/control-plane/auth/tokens.js';
import type { ApiError, UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

const KUBECTL = 'kubectl';
/** HAVE_KUBECTL: these tests need the real kubectl on PATH (it is installed on CI machines). */
const HAVE_KUBECTL = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' }).status === 0;
const JANE_TOKEN = 'jane-token-0123456789';

const policy = bootstrapPolicy();
const source = rbacSourceOf({
  clusterRoles: policy.clusterRoles,
  clusterRoleBindings: policy.clusterRoleBindings,
  roleBindings: [
    {
      metadata: { name: 'jane-view', namespace: 'dev' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'jane' }],
    },
  ],
});
const authz = new RbacAuthorizer(source);

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, e: ApiError): void {
  send(res, e.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details !== undefined ? { details: e.details } : {}), code: e.code });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** seenContentTypes records how kubectl encoded the review bodies. */
const seenContentTypes = new Set<string>();

const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'] },
      { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    ],
  },
};

/** handle routes the handful of requests these kubectl commands make. */
async function handle(auth: TokenAuthenticator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const authn = auth.authenticate(req.headers.authorization);
  if (authn.kind === 'invalid') return sendStatus(res, { code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
  const caller: UserInfo = authn.kind === 'user' ? authn.user : ANONYMOUS_USER;
  const as = impersonate(authz, caller, req.headersDistinct);
  if (!as.ok) return sendStatus(res, as.error);
  const user = as.value ?? caller;
  const url = new URL(req.url ?? '/', 'https://localhost');
  const path = url.pathname;
  const verb = (req.method ?? 'GET').toLowerCase();

  const review = /^\/apis\/(authorization\.k8s\.io|authentication\.k8s\.io)\/v1\/(selfsubject[a-z]*reviews)$/.exec(path);
  if (review !== null && verb === 'post') {
    const attrs: RequestAttributes = { kind: 'resource', verb: 'create', apiGroup: review[1] ?? '', resource: review[2] ?? '' };
    if (!authz.authorize(user, attrs).allowed) return sendStatus(res, forbiddenError(user, attrs));
    // kubectl's typed client sends these as protobuf; answerReview reads raw bytes of either kind.
    seenContentTypes.add(req.headers['content-type'] ?? '');
    const answer = answerReview(authz, user, review[2] ?? '', await readBody(req));
    if (!answer.ok) return sendStatus(res, { code: 400, reason: 'BadRequest', message: answer.error });
    return send(res, 201, answer.value);
  }
  const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
  if (pods !== null && verb === 'get') {
    const attrs: RequestAttributes = { kind: 'resource', verb: 'list', apiGroup: '', resource: 'pods', namespace: pods[1] ?? '' };
    const d = authz.authorize(user, attrs);
    if (!d.allowed) return sendStatus(res, forbiddenError(user, attrs, d.reason));
    return send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });
  }
  const nonResource: RequestAttributes = { kind: 'nonResource', verb, path };
  if (!authz.authorize(user, nonResource).allowed) return sendStatus(res, forbiddenError(user, nonResource));
  if (path === '/version') {
    return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-raftkube', gitCommit: '', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' });
  }
  const doc = DISCOVERY[path];
  if (doc !== undefined) return send(res, 200, doc);
  return sendStatus(res, { code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('kubectl against the auth modules', () => {
  let dir = '';
  let server: Server | undefined;
  let adminToken = '';
  let caPem = '';
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftkube-kubectl-auth-'));
    const pki = ensurePki(dir, { hosts: [] });
    caPem = pki.caPem;
    const tokens = ensureTokens(dir);
    if (!tokens.ok) throw new Error(tokens.error);
    adminToken = tokens.value.admin;
    const entries = readTokenFile(tokens.value.path);
    if (!entries.ok) throw new Error(entries.error);
    const auth = new TokenAuthenticator([...entries.value, { token: JANE_TOKEN, user: 'jane', uid: 'jane-uid', groups: [] }]);
    const s = createServer({ key: readFileSync(pki.keyPath), cert: readFileSync(pki.certPath) }, (req, res) => {
      handle(auth, req, res).catch((e: unknown) => sendStatus(res, { code: 500, reason: 'InternalError', message: String(e) }));
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    port = (s.address() as AddressInfo).port;
  });

  afterAll(async () => {
    const s = server;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** kubectl runs the real kubectl with a kubeconfig holding the CA and `token`. */
  async function kubectl(token: string | undefined, host: string, ...args: string[]): Promise<Run> {
    const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    const userEntry = token === undefined ? '{}' : JSON.stringify({ token });
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://${host}:${port}", certificate-authority-data: ${Buffer.from(caPem).toString('base64')}}}]
users: [{name: u, user: ${userEntry}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: dev}}]
current-context: x
`,
    );
    return new Promise<Run>((resolve) => {
      execFile(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  it.skipIf(!HAVE_KUBECTL)('trusts the serving certificate by IP and by name, and sends the admin token', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const r = await kubectl(adminToken, host, 'version', '-o', 'json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion).toBe('v1.32.0-raftkube');
    }
  });

  it.skipIf(!HAVE_KUBECTL)('gets 401 for a bad token', async () => {
    const r = await kubectl('not-a-token', '127.0.0.1', 'get', 'pods');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: You must be logged in to the server \(the server has asked for the client to provide credentials\)/);
  });

  it.skipIf(!HAVE_KUBECTL)('prints RBAC denials in Kubernetes wording', async () => {
    const ok = await kubectl(JANE_TOKEN, '127.0.0.1', 'get', 'pods', '-n', 'dev');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/No resources found in dev namespace/);
    const denied = await kubectl(JANE_TOKEN, '127.0.0.1', 'get', 'pods', '-n', 'prod');
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "prod"');
  });

  it.skipIf(!HAVE_KUBECTL)('answers kubectl auth can-i, yes and no', async () => {
    const yes = await kubectl(JANE_TOKEN, '127.0.0.1', 'auth', 'can-i', 'list', 'pods', '-n', 'dev');
    expect([yes.code, yes.stdout.trim()]).toEqual([0, 'yes']);
    const no = await kubectl(JANE_TOKEN, '127.0.0.1', 'auth', 'can-i', 'get', 'secrets', '-n', 'dev');
    expect([no.code, no.stdout.trim()]).toEqual([1, 'no']);
    const admin = await kubectl(adminToken, '127.0.0.1', 'auth', 'can-i', '*', '*', '--all-namespaces');
    expect([admin.code, admin.stdout.trim()]).toEqual([0, 'yes']);
    const path = await kubectl(JANE_TOKEN, '127.0.0.1', 'auth', 'can-i', 'get', '/healthz');
    expect([path.code, path.stdout.trim()]).toEqual([0, 'yes']);
    expect([...seenContentTypes]).toEqual(['application/vnd.kubernetes.protobuf']);
  });

  it.skipIf(!HAVE_KUBECTL)('acts as another user with --as when allowed to impersonate', async () => {
    const asJane = await kubectl(adminToken, '127.0.0.1', 'auth', 'can-i', 'list', 'pods', '-n', 'dev', '--as', 'jane');
    expect([asJane.code, asJane.stdout.trim()]).toEqual([0, 'yes']);
    const asJaneProd = await kubectl(adminToken, '127.0.0.1', 'auth', 'can-i', 'list', 'pods', '-n', 'prod', '--as', 'jane');
    expect([asJaneProd.code, asJaneProd.stdout.trim()]).toEqual([1, 'no']);
    const janeAsAdmin = await kubectl(JANE_TOKEN, '127.0.0.1', 'get', 'pods', '-n', 'prod', '--as', 'admin');
    expect(janeAsAdmin.code).toBe(1);
    expect(janeAsAdmin.stderr).toMatch(/Error from server \(Forbidden\): users "admin" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope/);
  });

  it.skipIf(!HAVE_KUBECTL)('tells kubectl auth whoami who the token (or --as) is', async () => {
    const me = await kubectl(JANE_TOKEN, '127.0.0.1', 'auth', 'whoami', '-o', 'json');
    expect(me.code).toBe(0);
    expect((JSON.parse(me.stdout) as { status: unknown }).status).toEqual({ userInfo: { username: 'jane', uid: 'jane-uid', groups: ['system:authenticated'] } });
    const table = await kubectl(adminToken, '127.0.0.1', 'auth', 'whoami', '--as', 'jane', '--as-group', 'dev');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Username\s+jane/);
    expect(table.stdout).toMatch(/Groups\s+\[dev system:authenticated\]/);
  });

  it.skipIf(!HAVE_KUBECTL)('lists rules with kubectl auth can-i --list', async () => {
    const r = await kubectl(JANE_TOKEN, '127.0.0.1', 'auth', 'can-i', '--list', '-n', 'dev');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/);
    expect(lines.some((l) => /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/.test(l))).toBe(true);
    expect(lines.some((l) => /^deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch\]$/.test(l))).toBe(true);
    expect(lines.some((l) => /^\s+\[\/healthz\]\s+\[\]\s+\[get\]$/.test(l))).toBe(true);
  });
});
