/**
 * env: a container's environment as the kubelet builds it — envFrom ConfigMaps and Secrets,
 * env values, valueFrom configMapKeyRef / secretKeyRef / fieldRef (the downward API), $(VAR)
 * references to variables defined before, and POD_IP. A missing ConfigMap, Secret or key that
 * is not optional is a CreateContainerConfigError naming it.
 */
import type { Container, EnvVar } from 'kubernetes-types/core/v1.js';
import type { KubeObject, Result } from '../control-plane/api/types.js';
import { err, ok } from '../control-plane/api/types.js';
import type { KubeClient } from '../control-plane/client/index.js';
import type { ConfigError } from './runtime.js';
import type { PodObject } from './types.js';
import { CONFIG_MAPS, SECRETS } from './types.js';

/** EnvContext is what the downward API can refer to beyond the pod object. */
export interface EnvContext {
  readonly podIP: string;
  readonly hostIP: string;
}

/**
 * expandVars replaces $(NAME) with the variable's value when it is defined, leaves it as written
 * when it is not, and turns $$ into $ (Kubernetes' escaping).
 */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m: string, name: string | undefined) => {
    if (name === undefined) return '$';
    const v = vars[name];
    return v === undefined ? m : v;
  });
}

function configError(message: string): ConfigError {
  return { reason: 'CreateContainerConfigError', message };
}

type Data = Record<string, string>;

/** ObjectData is what a ConfigMap's or Secret's data is read through (EnvSource implements it). */
export interface ObjectData {
  /** data is the object's data as text (null when the object does not exist), or an error message. */
  data(kind: 'configmap' | 'secret', name: string): Promise<Result<Record<string, string> | null, string>>;
}

/** EnvSource reads a namespace's ConfigMaps and Secrets (Secrets decoded to text), caching what it read. */
export class EnvSource implements ObjectData {
  readonly #client: Pick<KubeClient, 'get'>;
  readonly #ns: string;
  readonly #cache = new Map<string, Result<Data | null, string>>();

  constructor(client: Pick<KubeClient, 'get'>, namespace: string) {
    this.#client = client;
    this.#ns = namespace;
  }

  /** data is the object's data (null when it does not exist), or an error message. */
  async data(kind: 'configmap' | 'secret', name: string): Promise<Result<Data | null, string>> {
    const k = `${kind}/${name}`;
    const hit = this.#cache.get(k);
    if (hit !== undefined) return hit;
    const r = await this.#client.get<KubeObject>(kind === 'configmap' ? CONFIG_MAPS : SECRETS, { namespace: this.#ns, name });
    let out: Result<Data | null, string>;
    if (r.ok) {
      const raw = r.value['data'];
      const data: Data = {};
      if (typeof raw === 'object' && raw !== null) {
        for (const [key, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v === 'string') data[key] = kind === 'secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
      }
      if (kind === 'secret' && typeof r.value['stringData'] === 'object' && r.value['stringData'] !== null) Object.assign(data, r.value['stringData']);
      out = ok(data);
    } else out = r.error.code === 404 ? ok(null) : err(`Cannot read ${kind} ${this.#ns}/${name}: ${r.error.message}`);
    this.#cache.set(k, out);
    return out;
  }
}

function fieldValue(pod: PodObject, path: string, c: EnvContext): Result<string, string> {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m !== null) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return ok(map?.[m[2] ?? ''] ?? '');
  }
  switch (path) {
    case 'metadata.name':
      return ok(pod.metadata.name ?? '');
    case 'metadata.namespace':
      return ok(pod.metadata.namespace ?? '');
    case 'metadata.uid':
      return ok(pod.metadata.uid ?? '');
    case 'spec.nodeName':
      return ok(pod.spec?.nodeName ?? '');
    case 'spec.serviceAccountName':
      return ok(pod.spec?.serviceAccountName ?? '');
    case 'status.podIP':
    case 'status.podIPs':
      return ok(c.podIP);
    case 'status.hostIP':
    case 'status.hostIPs':
      return ok(c.hostIP);
    default:
      return err(`The field path ${JSON.stringify(path)} is not supported by the downward API; use metadata.name, metadata.namespace, metadata.uid, spec.nodeName or status.podIP`);
  }
}

async function valueOf(src: EnvSource, pod: PodObject, e: EnvVar, c: EnvContext, vars: Data): Promise<Result<string | undefined, string>> {
  const from = e.valueFrom;
  if (from === undefined) return ok(expandVars(e.value ?? '', vars));
  if (from.fieldRef !== undefined) return fieldValue(pod, from.fieldRef.fieldPath, c);
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref !== undefined) {
    const kind = from.configMapKeyRef !== undefined ? 'configmap' : 'secret';
    const name = ref.name ?? '';
    const d = await src.data(kind, name);
    if (!d.ok) return d;
    if (d.value === null) return ref.optional === true ? ok(undefined) : err(`${kind} "${name}" not found; create it or mark the reference optional`);
    const v = d.value[ref.key];
    if (v === undefined) return ref.optional === true ? ok(undefined) : err(`couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${pod.metadata.namespace ?? ''}/${name}`);
    return ok(v);
  }
  if (from.resourceFieldRef !== undefined) return ok('');
  return err(`The environment variable ${e.name} has a valueFrom of no known kind; use fieldRef, configMapKeyRef or secretKeyRef`);
}

/**
 * resolveEnv builds a container's environment: envFrom first, then env in order (later entries
 * see earlier ones through $(VAR)), then POD_IP unless the container set it.
 */
export async function resolveEnv(client: Pick<KubeClient, 'get'> | EnvSource, pod: PodObject, container: Container, c: EnvContext): Promise<Result<Record<string, string>, ConfigError>> {
  const src = client instanceof EnvSource ? client : new EnvSource(client, pod.metadata.namespace ?? 'default');
  const vars: Data = {};
  for (const f of container.envFrom ?? []) {
    const ref = f.configMapRef ?? f.secretRef;
    if (ref === undefined) continue;
    const kind = f.configMapRef !== undefined ? 'configmap' : 'secret';
    const d = await src.data(kind, ref.name ?? '');
    if (!d.ok) return err(configError(d.error));
    if (d.value === null) {
      if (ref.optional === true) continue;
      return err(configError(`${kind} "${ref.name ?? ''}" not found; create it or mark the reference optional`));
    }
    for (const [k, v] of Object.entries(d.value)) vars[`${f.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    const v = await valueOf(src, pod, e, c, vars);
    if (!v.ok) return err(configError(v.error));
    if (v.value !== undefined) vars[e.name] = v.value;
  }
  vars['POD_IP'] ??= c.podIP;
  return ok(vars);
}
