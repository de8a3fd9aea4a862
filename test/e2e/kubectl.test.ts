/**
 * kubectl: the real, unmodified kubectl (v1.32) against a 3-master raftkube cluster started
 * with `raftkube up` — through the load balancer, over HTTPS with the admin token of the
 * kubeconfig `up` writes. Each test asserts kubectl's exit code and output, as a user sees them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundCommand, describeResult, isAlive, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

let cluster: TestCluster | undefined;
let kubeconfig = '';
const work = mkdtempSync(join(tmpdir(), 'raftkube-kubectl-'));

function k(args: readonly string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  return runCommand(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 30_000, ...(o.input === undefined ? {} : { input: o.input }), ...(o.env === undefined ? {} : { env: o.env }) });
}

async function ok(args: readonly string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await k(args, o);
  expect(r.code, `kubectl ${args.join(' ')}: ${describeResult(r)}`).toBe(0);
  return r.stdout;
}

async function fails(args: readonly string[], o: { input?: string } = {}): Promise<string> {
  const r = await k(args, o);
  expect(r.code, `kubectl ${args.join(' ')} should fail: ${describeResult(r)}`).not.toBe(0);
  return r.stderr;
}

function file(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
}

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web, tier: front}
spec:
  containers:
  - name: web
    image: busybox
    command: [sleep, "3600"]
`;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, controlPlane: true, tls: true });
  kubeconfig = join(cluster.dataDir, 'kubeconfig');
}, 200_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('kubectl against a 3-master cluster', () => {
  it('version, api-resources and explain', async () => {
    expect(await ok(['version'])).toMatch(/Server Version: v1\.32\.0-raftkube/);
    const res = await ok(['api-resources']);
    expect(res).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(res).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(res).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
    const ex = await ok(['explain', 'pod.spec.containers']);
    expect(ex).toContain('FIELD: containers <[]Container>');
    expect(ex).toContain('image\t<string>');
  });

  it('creates from a file and gets as a table, yaml, json, jsonpath, by label, by field, across namespaces', async () => {
    expect(await ok(['create', '-f', file('pod.yaml', POD)])).toBe('pod/web-1 created\n');
    const table = await ok(['get', 'pods']);
    expect(table).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(table).toMatch(/^web-1\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const y = await ok(['get', 'pod', 'web-1', '-o', 'yaml']);
    expect(y).toMatch(/^kind: Pod$/m);
    expect(y).toMatch(/^ {2}uid: [0-9a-f-]{36}$/m);
    const j = JSON.parse(await ok(['get', 'pod', 'web-1', '-o', 'json'])) as { spec: { restartPolicy: string }; metadata: { resourceVersion: string } };
    expect(j.spec.restartPolicy).toBe('Always');
    expect(Number(j.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(await ok(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.containers[0].image}'])).toBe('busybox');
    expect(await ok(['get', 'pods', '-l', 'tier in (front,back)', '-o', 'name'])).toBe('pod/web-1\n');
    expect(await ok(['get', 'pods', '-l', 'app!=web', '-o', 'name'])).toBe('');
    expect(await ok(['get', 'pods', '--field-selector', 'status.phase=Pending', '-o', 'name'])).toBe('pod/web-1\n');
    const all = await ok(['get', 'namespaces,serviceaccounts', '-A']);
    expect(all).toMatch(/namespace\/kube-system\s+Active/);
    expect(all).toMatch(/kube-system\s+serviceaccount\/default/);
  });

  it('watches with get -w', async () => {
    await ok(['create', 'configmap', 'listed', '--from-literal=a=b']);
    const w = new BackgroundCommand(KUBECTL, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-w']);
    try {
      await waitFor('the watch to list', () => /^listed\s+1\s+/m.test(w.stdout), { timeoutMs: 15_000 });
      await ok(['create', 'configmap', 'watched', '--from-literal=a=b']);
      await waitFor('the new configmap on the watch', () => /^watched\s+1\s+/m.test(w.stdout), { timeoutMs: 15_000 });
    } finally {
      await w.stop();
    }
  });

  it('applies a multi-document file twice: created, then configured or unchanged', async () => {
    const docs = (v: string): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: "${v}"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: busybox
        command: [sleep, "3600"]
        env: [{name: A, value: "1"}]
`;
    expect(await ok(['apply', '-f', file('app.yaml', docs('1'))])).toBe('configmap/settings created\ndeployment.apps/api created\n');
    expect(await ok(['apply', '-f', file('app.yaml', docs('2'))])).toBe('configmap/settings configured\ndeployment.apps/api unchanged\n');
    expect(await ok(['get', 'configmap', 'settings', '-o', 'jsonpath={.data.level}'])).toBe('2');
  });

  it('applies server-side, with field ownership and conflicts', async () => {
    const cm = (v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {owner: "${v}"}\n`;
    expect(await ok(['apply', '--server-side', '-f', file('ssa.yaml', cm('a'))])).toBe('configmap/ssa serverside-applied\n');
    expect(await ok(['get', 'configmap', 'ssa', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[0].manager}'])).toBe('kubectl');
    expect(await fails(['apply', '--server-side', '--field-manager', 'other', '-f', file('ssa2.yaml', cm('b'))])).toMatch(/conflict/i);
    await ok(['apply', '--server-side', '--force-conflicts', '--field-manager', 'other', '-f', file('ssa2.yaml', cm('b'))]);
    expect(await ok(['get', 'configmap', 'ssa', '-o', 'jsonpath={.data.owner}'])).toBe('b');
  });

  it('refuses a replace with a stale resourceVersion (Conflict)', async () => {
    await ok(['create', 'configmap', 'cas', '--from-literal=a=1']);
    const stale = await ok(['get', 'configmap', 'cas', '-o', 'json']);
    await ok(['label', 'configmap', 'cas', 'bumped=yes']);
    const err = await fails(['replace', '-f', file('stale.json', stale)]);
    expect(err).toContain('Error from server (Conflict)');
    expect(err).toContain('the object has been modified; please apply your changes to the latest version and try again');
  });

  it('edits through KUBE_EDITOR, labels, annotates, scales and patches three ways', async () => {
    await ok(['edit', 'deployment', 'api'], { env: { KUBE_EDITOR: "sed -i -e 's/replicas: 2/replicas: 4/'" } });
    expect(await ok(['get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('4');
    await ok(['label', 'deploy', 'api', 'team=core']);
    await ok(['annotate', 'deploy', 'api', 'owner=ops']);
    expect(await ok(['get', 'deploy', '-l', 'team=core', '-o', 'name'])).toBe('deployment.apps/api\n');
    expect(await ok(['scale', 'deploy', 'api', '--replicas=6'])).toBe('deployment.apps/api scaled\n');
    await ok(['patch', 'deploy', 'api', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]']);
    await ok(['patch', 'deploy', 'api', '--type=merge', '-p', '{"metadata":{"annotations":{"owner":"dev"}}}']);
    await ok(['patch', 'deploy', 'api', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"B","value":"2"}]}]}}}}']);
    const d = JSON.parse(await ok(['get', 'deploy', 'api', '-o', 'json'])) as { spec: { replicas: number; template: { spec: { containers: { env: { name: string }[] }[] } } }; metadata: { annotations: Record<string, string>; generation: number } };
    expect(d.spec.replicas).toBe(3);
    expect(d.metadata.annotations['owner']).toBe('dev');
    // Strategic merge: the env list merged by name (A kept, B added).
    expect(d.spec.template.spec.containers[0]!.env.map((e) => e.name).sort()).toEqual(['A', 'B']);
    expect(d.metadata.generation).toBeGreaterThan(1);
    const bad = await fails(['patch', 'deploy', 'api', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":99}]']);
    expect(bad).toMatch(/The Deployment "api" is invalid: patch: .*the patch does not apply/);
  });

  it('creates namespaces, configmaps, generic secrets and deployments with kubectl create', async () => {
    expect(await ok(['create', 'namespace', 'team-a'])).toBe('namespace/team-a created\n');
    expect(await ok(['create', 'configmap', 'c1', '-n', 'team-a', '--from-literal=k=v'])).toBe('configmap/c1 created\n');
    expect(await ok(['create', 'secret', 'generic', 's1', '-n', 'team-a', '--from-literal=password=hunter2'])).toBe('secret/s1 created\n');
    expect(await ok(['get', 'secret', 's1', '-n', 'team-a', '-o', 'jsonpath={.data.password}'])).toBe(Buffer.from('hunter2').toString('base64'));
    expect(await ok(['create', 'deployment', 'hello', '-n', 'team-a', '--image=busybox', '--replicas=2', '--', 'sleep', '3600'])).toBe('deployment.apps/hello created\n');
    // No nodes in this cluster: the controllers make the ReplicaSet and its pods, which stay Pending.
    expect(await ok(['get', 'deploy', '-n', 'team-a'])).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nhello\s+0\/2\s+[0-2]\s+0\s+\d+s$/m);
    expect(await ok(['get', 'serviceaccount', 'default', '-n', 'team-a', '-o', 'name'])).toBe('serviceaccount/default\n');
  });

  it('describes a pod with its events', async () => {
    const uid = (await ok(['get', 'pod', 'web-1', '-o', 'jsonpath={.metadata.uid}'])).trim();
    await ok(['create', '-f', file('event.yaml', `apiVersion: v1
kind: Event
metadata: {name: web-1.ev1}
involvedObject: {kind: Pod, name: web-1, namespace: default, uid: ${uid}, apiVersion: v1}
reason: Testing
message: hello from the test
type: Normal
source: {component: e2e}
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
`)]);
    const d = await ok(['describe', 'pod', 'web-1']);
    expect(d).toMatch(/^Name:\s+web-1$/m);
    expect(d).toMatch(/^Events:/m);
    expect(d).toMatch(/Normal\s+Testing\s+.*e2e\s+hello from the test/);
  });

  it('refuses bad names, unknown fields and bad tokens with reasons', async () => {
    expect(await fails(['create', 'configmap', 'Bad_Name'])).toContain('a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters');
    expect(await fails(['create', '-f', file('typo.yaml', POD.replace('name: web-1', 'name: typo').replace('image: busybox', 'image: busybox\n    imagee: x'))])).toContain('strict decoding error: unknown field "spec.containers[0].imagee"');
    const cfg = readFileSync(kubeconfig, 'utf8').replace(/token: .*/, 'token: not-a-real-token');
    const r = await runCommand(KUBECTL, ['--kubeconfig', file('bad-kubeconfig', cfg), 'get', 'pods'], { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
  });

  it('authorizes with RBAC: auth can-i, and 403 naming the verb and resource', async () => {
    expect(await ok(['auth', 'can-i', 'create', 'pods'])).toBe('yes\n');
    expect(await ok(['auth', 'can-i', '--list'])).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
    // The scheduler's token (from the cluster's token file) may bind pods but not create configmaps.
    const line = readFileSync(join(cluster!.dataDir, 'tokens.csv'), 'utf8').split('\n').find((l) => l.split(',')[1] === 'system:kube-scheduler');
    const token = line?.split(',')[0] ?? '';
    expect(token).not.toBe('');
    const denied = await fails(['--token', token, 'create', 'configmap', 'not-yours']);
    expect(denied).toContain('configmaps "not-yours" is forbidden: User "system:kube-scheduler" cannot create resource "configmaps" in API group "" in the namespace "default"');
    const can = await k(['--token', token, 'auth', 'can-i', 'create', 'pods', '--subresource=binding']);
    expect(can.stdout).toBe('yes\n');
    // Impersonation (the admin may act as anyone): jane has no bindings.
    expect(await fails(['get', 'pods', '--as=jane'])).toContain('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
    expect((await k(['auth', 'can-i', 'list', 'pods', '--as=jane'])).stdout).toBe('no\n');
    expect(await fails(['get', 'pods', '--token', token, '--as=jane'])).toContain('cannot impersonate resource "users"');
  });

  it('deletes: cascade policies carried out, finalizers, graceful deletion of a bound pod, force', async () => {
    // The garbage collector finishes each policy, so kubectl's wait for the delete completes.
    const rsOf = async (app: string): Promise<string[]> => (await ok(['get', 'rs', '-l', `app=${app}`, '-o', 'name'])).split('\n').filter((l) => l !== '');
    await ok(['create', 'deployment', 'orph', '--image=busybox', '--', 'sleep', '60']);
    await waitFor('orph to get its ReplicaSet', async () => (await rsOf('orph')).length === 1);
    await ok(['delete', 'deployment', 'orph', '--cascade=orphan']);
    expect(await rsOf('orph')).toHaveLength(1);
    expect(await ok(['get', (await rsOf('orph'))[0]!, '-o', 'jsonpath={.metadata.ownerReferences}'])).toBe('');
    await ok(['create', 'deployment', 'fore', '--image=busybox', '--', 'sleep', '60']);
    await waitFor('fore to get its ReplicaSet', async () => (await rsOf('fore')).length === 1);
    await ok(['delete', 'deployment', 'fore', '--cascade=foreground']);
    expect(await rsOf('fore')).toHaveLength(0);
    await ok(['create', 'deployment', 'back', '--image=busybox', '--', 'sleep', '60']);
    await waitFor('back to get its ReplicaSet', async () => (await rsOf('back')).length === 1);
    await ok(['delete', 'deployment', 'back']);
    await waitFor('the background collection of back\'s ReplicaSet', async () => (await rsOf('back')).length === 0, { timeoutMs: 20_000 });
    // A finalizer nobody removes keeps the object, marked for deletion.
    await ok(['create', '-f', file('held.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n')]);
    await ok(['delete', 'configmap', 'held', '--wait=false']);
    expect(await ok(['get', 'configmap', 'held', '-o', 'jsonpath={.metadata.finalizers} {.metadata.deletionTimestamp}'])).toMatch(/^\["example\.com\/hold"\] \d{4}-/);
    await ok(['patch', 'configmap', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    expect(await fails(['get', 'configmap', 'held'])).toContain('NotFound');
    await ok(['create', '-f', file('bound.yaml', POD.replace('name: web-1', 'name: bound').replace('spec:\n', 'spec:\n  nodeName: node-x\n'))]);
    await ok(['delete', 'pod', 'bound', '--grace-period=20', '--wait=false']);
    expect(await ok(['get', 'pod', 'bound', '-o', 'jsonpath={.metadata.deletionGracePeriodSeconds}'])).toBe('20');
    expect(await ok(['get', 'pods'])).toMatch(/^bound\s+0\/1\s+Terminating\s+/m);
    await ok(['delete', 'pod', 'bound', '--grace-period=0', '--force']);
    expect(await fails(['get', 'pod', 'bound'])).toContain('Error from server (NotFound): pods "bound" not found');
    expect(await ok(['delete', 'pod', 'web-1'])).toBe('pod "web-1" deleted\n');
    // A namespace is emptied by the namespace controller, then goes.
    expect(await ok(['delete', 'namespace', 'team-a'])).toBe('namespace "team-a" deleted\n');
    expect(await fails(['get', 'namespace', 'team-a'])).toContain('NotFound');
    expect(await ok(['get', 'configmaps', '-n', 'team-a', '-o', 'name'])).toBe('');
  });

  it('keeps working with no object lost after kill -9 of every process of one master', async () => {
    const c = cluster!;
    const before = (await ok(['get', 'configmaps', '-A', '-o', 'name'])).split('\n').filter((l) => l !== '').sort();
    const f = JSON.parse(readFileSync(join(c.dataDir, 'cluster.json'), 'utf8')) as { masters: { name: string; pids: number[] }[] };
    const victim = f.masters[0]!;
    for (const pid of victim.pids) process.kill(pid, 'SIGKILL');
    await waitFor(`${victim.name}'s processes to die`, () => victim.pids.every((p) => !isAlive(p)));
    const after = await waitFor('kubectl to answer again', async () => {
      const r = await k(['get', 'configmaps', '-A', '-o', 'name']);
      return r.code === 0 ? r.stdout : null;
    }, { timeoutMs: 20_000 });
    expect(after.split('\n').filter((l) => l !== '').sort()).toEqual(before);
    await ok(['create', 'configmap', 'after-failover']);
    expect(await ok(['get', 'configmap', 'after-failover', '-o', 'name'])).toBe('configmap/after-failover\n');
  });
});
