/**
 * volumes: a pod's emptyDir, configMap, secret and hostPath volumes for the process runtime,
 * as directories — `<podDir>/volumes/<name>` (emptyDir keeps its files across container
 * restarts; configMap and secret files are rewritten at each start) — and a container's
 * volumeMounts as symlinks inside its root directory. Processes share the machine's file
 * system, so a mountPath is taken relative to the container's root directory, which is its
 * working directory unless it sets workingDir: mountPath /etc/config is `./etc/config`.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { Container, KeyToPath, Volume } from 'kubernetes-types/core/v1.js';
import type { Result } from '../control-plane/api/types.js';
import { err, ok } from '../control-plane/api/types.js';
import type { ObjectData } from './env.js';
import type { ConfigError } from './runtime.js';
import type { PodObject } from './types.js';

function configError(message: string): ConfigError {
  return { reason: 'CreateContainerConfigError', message };
}

/** volumeDir is where a pod's volume lives. */
export function volumeDir(podDir: string, name: string): string {
  return join(podDir, 'volumes', name);
}

function inside(base: string, rel: string): string | null {
  const p = normalize(rel).replace(/^(\.\.(\/|$))+/, '');
  if (p.startsWith('/') || p.split('/').includes('..')) return null;
  return join(base, p);
}

function writeKeys(dir: string, data: Readonly<Record<string, string>>, items: readonly KeyToPath[] | undefined, mode: number, what: string): Result<void, ConfigError> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entries = items === undefined ? Object.keys(data).map((k) => ({ key: k, path: k, mode: undefined as number | undefined })) : items.map((i) => ({ key: i.key, path: i.path, mode: i.mode }));
  for (const e of entries) {
    const v = data[e.key];
    if (v === undefined) return err(configError(`couldn't find key ${e.key} in ${what}`));
    const file = inside(dir, e.path);
    if (file === null) return err(configError(`The path ${JSON.stringify(e.path)} of key ${e.key} in ${what} leaves the volume; use a relative path`));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, v);
    chmodSync(file, e.mode ?? mode);
  }
  return ok(undefined);
}

async function materialize(v: Volume, dir: string, pod: PodObject, objects: ObjectData): Promise<Result<void, ConfigError>> {
  const ns = pod.metadata.namespace ?? 'default';
  if (v.emptyDir !== undefined) {
    mkdirSync(dir, { recursive: true });
    return ok(undefined);
  }
  const ref = v.configMap !== undefined ? { kind: 'configmap' as const, name: v.configMap.name ?? '', src: v.configMap } : v.secret !== undefined ? { kind: 'secret' as const, name: v.secret.secretName ?? '', src: v.secret } : null;
  if (ref === null) return ok(undefined);
  const d = await objects.data(ref.kind, ref.name);
  const what = `${ref.kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`;
  if (!d.ok) return err(configError(d.error));
  if (d.value === null) {
    if (ref.src.optional === true) {
      mkdirSync(dir, { recursive: true });
      return ok(undefined);
    }
    return err(configError(`${ref.kind} "${ref.name}" not found; create it or mark the volume optional`));
  }
  return writeKeys(dir, d.value, ref.src.items, ref.src.defaultMode ?? (ref.kind === 'secret' ? 0o600 : 0o644), what);
}

/**
 * prepareVolumes materialises the volumes a container mounts and links each mount into its
 * root directory; a mount of a volume that is missing, of an unsupported kind, or a ConfigMap
 * or Secret that cannot be read, is a CreateContainerConfigError.
 */
export async function prepareVolumes(pod: PodObject, c: Container, podDir: string, rootDir: string, objects: ObjectData): Promise<Result<void, ConfigError>> {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  mkdirSync(rootDir, { recursive: true });
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (v === undefined) return err(configError(`The volume mount ${m.name} of container ${c.name} names no volume of the pod; add it to spec.volumes`));
    let target: string;
    if (v.hostPath !== undefined) target = v.hostPath.path;
    else if (v.emptyDir !== undefined || v.configMap !== undefined || v.secret !== undefined) {
      target = volumeDir(podDir, v.name);
      const r = await materialize(v, target, pod, objects);
      if (!r.ok) return r;
    } else return err(configError(`The volume ${v.name} is of a kind the process runtime does not support; use emptyDir, configMap, secret or hostPath`));
    if (m.subPath !== undefined && m.subPath !== '') {
      const sub = inside(target, m.subPath);
      if (sub === null) return err(configError(`The subPath ${JSON.stringify(m.subPath)} of mount ${m.name} leaves the volume; use a relative path`));
      target = sub;
    }
    const link = inside(rootDir, m.mountPath.replace(/^\/+/, ''));
    if (link === null || link === rootDir) return err(configError(`The mountPath ${JSON.stringify(m.mountPath)} of container ${c.name} cannot be linked inside its root directory; use a path like /data`));
    mkdirSync(dirname(link), { recursive: true });
    if (existsSync(link) || isLink(link)) rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
  }
  return ok(undefined);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
