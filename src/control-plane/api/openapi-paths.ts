/**
 * openapi-paths: the REST operations of the served resources, as one model that the OpenAPI v2
 * and v3 documents both render — the paths, verbs, query parameters (fieldValidation and dryRun
 * on every write, which kubectl 1.32 looks for before it asks for server-side validation) and
 * the x-kubernetes-group-version-kind / x-kubernetes-action extensions kubectl explain reads.
 */
import { definitionName, listTypeNameOf, typeNameOf } from './resources.js';
import type { ResourceInfo } from './types.js';

/** Gvk is an x-kubernetes-group-version-kind value. */
export interface Gvk {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** ParamSpec is one query or path parameter of an operation. */
export interface ParamSpec {
  readonly name: string;
  readonly in: 'query' | 'path';
  readonly type: 'string' | 'integer' | 'boolean';
  readonly description: string;
  readonly required?: boolean;
}

/** Method is an HTTP method of an operation, as OpenAPI names it. */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** OperationSpec is one operation of a path. */
export interface OperationSpec {
  readonly method: Method;
  readonly operationId: string;
  readonly description: string;
  readonly tag: string;
  readonly action: 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection' | 'connect';
  readonly gvk: Gvk;
  readonly params: readonly ParamSpec[];
  /** body: the catalogue type of the request body, 'patch' for a patch document, absent for none. */
  readonly body?: string;
  /** response: the catalogue type of the response, or 'text' for plain text (logs). */
  readonly response: string;
}

/** PathSpec is one path with its operations. */
export interface PathSpec {
  readonly path: string;
  readonly ops: readonly OperationSpec[];
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
/** STATUS_TYPE is the catalogue name of metav1.Status. */
export const STATUS_TYPE = `${META}.Status`;
/** DELETE_OPTIONS_TYPE is the catalogue name of metav1.DeleteOptions. */
export const DELETE_OPTIONS_TYPE = `${META}.DeleteOptions`;
/** SCALE_TYPE is the catalogue name of autoscaling/v1 Scale. */
export const SCALE_TYPE = definitionName('autoscaling', 'v1', 'Scale');
/** BINDING_TYPE is the catalogue name of core/v1 Binding. */
export const BINDING_TYPE = definitionName('', 'v1', 'Binding');

function q(name: string, type: ParamSpec['type'], description: string): ParamSpec {
  return { name, in: 'query', type, description };
}

const PRETTY = q('pretty', 'string', "If 'true', then the output is pretty printed.");
const NAME = (kind: string): ParamSpec => ({ name: 'name', in: 'path', type: 'string', required: true, description: `name of the ${kind}` });
const NAMESPACE: ParamSpec = { name: 'namespace', in: 'path', type: 'string', required: true, description: 'object name and auth scope, such as for teams and projects' };
const DRY_RUN = q('dryRun', 'string', 'When present, indicates that modifications should not be persisted. The only valid value is All: all dry run stages are processed.');
const FIELD_MANAGER = q('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = q(
  'fieldValidation',
  'string',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict (fail the request).',
);
const FORCE = q('force', 'boolean', 'Force is going to "force" Apply requests: re-acquire conflicting fields owned by other people. Must be unset for non-apply patch requests.');
const WRITE_PARAMS = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
const LIST_PARAMS = [
  q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
  q('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  q('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
  q('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  q('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  q('sendInitialEvents', 'boolean', 'sendInitialEvents=true may be set together with watch=true to begin the watch stream with synthetic events for the current state.'),
  q('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
];
const DELETE_PARAMS = [
  DRY_RUN,
  q('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted. Zero means delete immediately.'),
  q('propagationPolicy', 'string', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  q('orphanDependents', 'boolean', 'Deprecated: use propagationPolicy.'),
];

/** operationGroup renders a group for operation ids: '' → Core, rbac.authorization.k8s.io → RbacAuthorization. */
function operationGroup(group: string): string {
  if (group === '') return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join('');
}

/** apiRoot is the URL prefix of a group-version: /api/v1 or /apis/<group>/<version>. */
export function apiRoot(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** pathsOf lists the REST paths and operations of one resource. */
export function pathsOf(res: ResourceInfo): PathSpec[] {
  const gvk: Gvk = { group: res.group, version: res.version, kind: res.kind };
  const id = `${operationGroup(res.group)}${res.version.charAt(0).toUpperCase()}${res.version.slice(1)}`;
  const scope = res.namespaced ? 'Namespaced' : '';
  const tag = `${res.group === '' ? 'core' : (res.group.split('.')[0] ?? res.group)}_${res.version}`;
  const type = typeNameOf(res);
  const root = apiRoot(res.group, res.version);
  const collection = res.namespaced ? `${root}/namespaces/{namespace}/${res.plural}` : `${root}/${res.plural}`;
  const scopeParams = res.namespaced ? [NAMESPACE] : [];
  const itemParams = [NAME(res.kind), ...scopeParams, PRETTY];
  const has = (v: string): boolean => (res.verbs as readonly string[]).includes(v);
  const op = (o: Omit<OperationSpec, 'tag' | 'gvk'> & { gvk?: Gvk }): OperationSpec => ({ tag, gvk, ...o });

  const paths: PathSpec[] = [];
  const collectionOps: OperationSpec[] = [];
  if (has('list')) {
    collectionOps.push(op({ method: 'get', operationId: `list${id}${scope}${res.kind}`, action: 'list', description: `list or watch objects of kind ${res.kind}`, params: [...scopeParams, PRETTY, ...LIST_PARAMS], response: listTypeNameOf(res) }));
  }
  if (has('create')) {
    collectionOps.push(op({ method: 'post', operationId: `create${id}${scope}${res.kind}`, action: 'post', description: `create a ${res.kind}`, params: [...scopeParams, PRETTY, ...WRITE_PARAMS], body: type, response: type }));
  }
  if (has('deletecollection')) {
    collectionOps.push(op({ method: 'delete', operationId: `delete${id}Collection${scope}${res.kind}`, action: 'deletecollection', description: `delete collection of ${res.kind}`, params: [...scopeParams, PRETTY, ...DELETE_PARAMS, ...LIST_PARAMS], body: DELETE_OPTIONS_TYPE, response: STATUS_TYPE }));
  }
  if (collectionOps.length > 0) paths.push({ path: collection, ops: collectionOps });
  if (res.namespaced && has('list')) {
    paths.push({ path: `${root}/${res.plural}`, ops: [op({ method: 'get', operationId: `list${id}${res.kind}ForAllNamespaces`, action: 'list', description: `list or watch objects of kind ${res.kind}`, params: [PRETTY, ...LIST_PARAMS], response: listTypeNameOf(res) })] });
  }

  const item = `${collection}/{name}`;
  const itemOps: OperationSpec[] = [];
  if (has('get')) itemOps.push(op({ method: 'get', operationId: `read${id}${scope}${res.kind}`, action: 'get', description: `read the specified ${res.kind}`, params: itemParams, response: type }));
  if (has('update')) itemOps.push(op({ method: 'put', operationId: `replace${id}${scope}${res.kind}`, action: 'put', description: `replace the specified ${res.kind}`, params: [...itemParams, ...WRITE_PARAMS], body: type, response: type }));
  if (has('patch')) itemOps.push(op({ method: 'patch', operationId: `patch${id}${scope}${res.kind}`, action: 'patch', description: `partially update the specified ${res.kind}`, params: [...itemParams, ...WRITE_PARAMS, FORCE], body: 'patch', response: type }));
  if (has('delete')) itemOps.push(op({ method: 'delete', operationId: `delete${id}${scope}${res.kind}`, action: 'delete', description: `delete a ${res.kind}`, params: [...itemParams, ...DELETE_PARAMS], body: DELETE_OPTIONS_TYPE, response: type }));
  if (itemOps.length > 0) paths.push({ path: item, ops: itemOps });

  for (const sub of res.subresources) {
    const Sub = sub.charAt(0).toUpperCase() + sub.slice(1);
    const path = `${item}/${sub}`;
    switch (sub) {
      case 'status':
      case 'scale': {
        const subType = sub === 'scale' ? SCALE_TYPE : type;
        const subGvk = sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
        paths.push({
          path,
          ops: [
            op({ method: 'get', operationId: `read${id}${scope}${res.kind}${Sub}`, action: 'get', gvk: subGvk, description: `read ${sub} of the specified ${res.kind}`, params: itemParams, response: subType }),
            op({ method: 'put', operationId: `replace${id}${scope}${res.kind}${Sub}`, action: 'put', gvk: subGvk, description: `replace ${sub} of the specified ${res.kind}`, params: [...itemParams, ...WRITE_PARAMS], body: subType, response: subType }),
            op({ method: 'patch', operationId: `patch${id}${scope}${res.kind}${Sub}`, action: 'patch', gvk: subGvk, description: `partially update ${sub} of the specified ${res.kind}`, params: [...itemParams, ...WRITE_PARAMS, FORCE], body: 'patch', response: subType }),
          ],
        });
        break;
      }
      case 'binding':
        paths.push({
          path,
          ops: [op({ method: 'post', operationId: `create${id}${scope}${res.kind}Binding`, action: 'post', gvk: { group: '', version: 'v1', kind: 'Binding' }, description: `create binding of a ${res.kind}`, params: [...itemParams, ...WRITE_PARAMS], body: BINDING_TYPE, response: BINDING_TYPE })],
        });
        break;
      case 'log':
        paths.push({
          path,
          ops: [
            op({
              method: 'get',
              operationId: `read${id}${scope}${res.kind}Log`,
              action: 'get',
              description: `read log of the specified ${res.kind}`,
              params: [...itemParams, q('container', 'string', 'The container for which to stream logs.'), q('follow', 'boolean', 'Follow the log stream of the pod.'), q('tailLines', 'integer', 'The number of lines from the end of the logs to show.'), q('previous', 'boolean', 'Return previous terminated container logs.'), q('timestamps', 'boolean', 'Add an RFC3339 timestamp at the beginning of every line.')],
              response: 'text',
            }),
          ],
        });
        break;
      case 'exec': {
        const execParams = [...itemParams, q('command', 'string', 'Command is the remote command to execute; one argument per repeat.'), q('container', 'string', 'Container in which to execute the command.'), q('stdin', 'boolean', 'Redirect the standard input stream of the pod for this call.'), q('stdout', 'boolean', 'Redirect the standard output stream of the pod for this call.'), q('stderr', 'boolean', 'Redirect the standard error stream of the pod for this call.'), q('tty', 'boolean', 'TTY if true indicates that a tty will be allocated for the exec call.')];
        paths.push({
          path,
          ops: (['get', 'post'] as const).map((method) =>
            op({ method, operationId: `connect${id}${method === 'get' ? 'Get' : 'Post'}${scope}${res.kind}Exec`, action: 'connect', gvk: { group: '', version: 'v1', kind: 'PodExecOptions' }, description: `connect ${method.toUpperCase()} requests to exec of ${res.kind}`, params: execParams, response: 'text' }),
          ),
        });
        break;
      }
    }
  }
  return paths;
}
