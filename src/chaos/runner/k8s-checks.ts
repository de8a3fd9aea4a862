/**
 * k8s-checks: the k8s workload's checks on a live, healed cluster — wait for the Deployments
 * to settle (or the time limit), then judge them, the objects kept, and the store's whole
 * history of pods and leader-election terms (src/chaos/checker/k8s.ts), as report verdicts.
 */
import type { EtcdClient } from '../../kv/client/etcd-client.js';
import { checkDeployments, checkLeaseTerms, checkObjectsKept, checkPodBindings, type K8sCheck } from '../checker/k8s.js';
import type { CheckVerdict } from '../report/verdicts.js';
import { observe, type K8sOp, type Observed } from '../workload/k8s.js';
import type { KubeRest } from '../../cli/kube-rest.js';
import { readHistory } from '../workload/store-history.js';

/** PODS_PREFIX and TERMS_PREFIX are where the apiserver keeps pods and the leader-election term records. */
const PODS_PREFIX = '/registry/core/pods/';
const TERMS_PREFIX = '/raftkube/lease-terms/';

/** K8sCheckInput is what the checks need from the run. */
export interface K8sCheckInput {
  readonly api: KubeRest;
  readonly client: EtcdClient;
  readonly ops: readonly K8sOp[];
  readonly namespace: string;
  readonly convergeMs: number;
  readonly isStopping: () => boolean;
  readonly status: (line: string) => void;
}

function verdict(check: string, c: K8sCheck): CheckVerdict {
  return { check, result: c.ok ? 'pass' : 'violation', summary: c.summary, ...(c.ok ? {} : { details: c.problems.join('\n') }) };
}

/** runK8sChecks waits for the Deployments to converge and runs the four k8s checks. */
export async function runK8sChecks(i: K8sCheckInput): Promise<CheckVerdict[]> {
  const out: CheckVerdict[] = [];
  i.status('waiting for the Deployments to converge');
  const deadline = Date.now() + i.convergeMs;
  let seen: Observed | string = 'never read';
  let judged: K8sCheck | null = null;
  for (;;) {
    seen = await observe(i.api, i.namespace);
    if (typeof seen !== 'string') {
      judged = checkDeployments(i.ops, seen);
      if (judged.ok) break;
    }
    if (Date.now() > deadline || i.isStopping()) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (typeof seen === 'string' || judged === null) {
    out.push({ check: 'deployments converge', result: 'unknown', summary: `the Deployments could not be read: ${typeof seen === 'string' ? seen : 'no answer'}` });
  } else {
    out.push(verdict('deployments converge', judged.ok ? judged : { ...judged, summary: `not within ${i.convergeMs / 1000} s of recovery: ${judged.summary}` }));
    out.push(verdict('no object lost', checkObjectsKept(i.ops, seen)));
  }

  i.status('reading the store\'s history of pods and leader terms');
  let toRevision = 0;
  try {
    toRevision = (await i.client.range('/')).header.revision;
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    out.push({ check: 'no pod bound twice', result: 'unknown', summary: `the store's revision could not be read: ${why}` });
    out.push({ check: 'one leader per term', result: 'unknown', summary: `the store's revision could not be read: ${why}` });
    return out;
  }
  const pods = await readHistory(i.client, PODS_PREFIX, { fromRevision: 1, toRevision, timeoutMs: 60_000 });
  out.push(typeof pods === 'string' ? { check: 'no pod bound twice', result: 'unknown', summary: pods } : verdict('no pod bound twice', checkPodBindings(pods)));
  const terms = await readHistory(i.client, TERMS_PREFIX, { fromRevision: 1, toRevision, timeoutMs: 60_000 });
  out.push(typeof terms === 'string' ? { check: 'one leader per term', result: 'unknown', summary: terms } : verdict('one leader per term', checkLeaseTerms(terms)));
  return out;
}
