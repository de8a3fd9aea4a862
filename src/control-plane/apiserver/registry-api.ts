/**
 * registry-api: the contract between the apiserver's two faces (the Kubernetes REST/JSON API
 * and the gRPC API) and the one registry behind them. A face decodes the request, authenticates
 * the caller into a `RequestContext`, and calls a `Registry` verb; the registry authorizes,
 * validates, defaults, admits and talks to the etcd layer; every expected failure comes back
 * as an `ApiError` value that each face renders (a Kubernetes `Status`, a gRPC status).
 */
import type { FieldError, KubeObject, ResourceInfo, Result } from '../api/types.js';

/** UserInfo is an authenticated caller, as Kubernetes' user.Info. */
export interface UserInfo {
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
}

/**
 * WriteFence is what a leader-elected client attaches to its writes: the kube-system Lease it
 * leads by, its holder identity and the lease's spec.leaseTransitions when it took the lease
 * (its term). A write that carries one applies only while the Lease is still in that term.
 */
export interface WriteFence {
  readonly namespace: string;
  readonly name: string;
  readonly holderIdentity: string;
  readonly leaseTransitions: number;
}

/** FENCED_PREFIX begins the message of every write refused for its fence (409 Conflict); clients may test for it. */
export const FENCED_PREFIX = 'The write is fenced by ';

/** isFencedRefusal says whether a write was refused because its writer no longer leads; retrying with the same fence cannot help. */
export function isFencedRefusal(e: ApiError): boolean {
  return e.code === 409 && e.message.startsWith(FENCED_PREFIX);
}

/** RequestContext is who calls, a signal that aborts when the caller goes away, and the caller's write fence if any. */
export interface RequestContext {
  readonly user: UserInfo;
  readonly signal?: AbortSignal;
  /** fence makes every write of the request conditional on the caller still leading (see WriteFence). */
  readonly fence?: WriteFence;
}

/** StatusReason is metav1.StatusReason: why a request failed, machine-readable. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError';

/** ApiError is an expected failure: the HTTP code, the reason and a message a person can act on. */
export interface ApiError {
  readonly code: number;
  readonly reason: StatusReason;
  readonly message: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly FieldError[];
    readonly retryAfterSeconds?: number;
  };
}

/** ResourceVersionMatch is list's resourceVersionMatch parameter. */
export type ResourceVersionMatch = 'NotOlderThan' | 'Exact';

/** ListOptions are list's and watch's query parameters. */
export interface ListOptions {
  /** namespace restricts to one namespace; absent lists across all (-A). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  /**
   * resourceVersion: absent or '' means a quorum read of the latest state; '0' means any
   * state the watch cache holds; another value means at least (or exactly) that revision.
   */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: ResourceVersionMatch;
}

/** WatchOptions are watch's query parameters. */
export interface WatchOptions extends ListOptions {
  readonly allowWatchBookmarks?: boolean;
  /** timeoutSeconds ends the watch after this long (the client then re-watches). */
  readonly timeoutSeconds?: number;
  /** sendInitialEvents asks for the current state as ADDED events first (with a bookmark). */
  readonly sendInitialEvents?: boolean;
}

/** FieldValidation is how unknown or duplicate fields in a body are treated. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** WriteOptions are the query parameters of create, update and patch. */
export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly fieldValidation?: FieldValidation;
  readonly fieldManager?: string;
  /** force is server-side apply's force flag. */
  readonly force?: boolean;
}

/** PropagationPolicy is how deleting an owner treats its dependents. */
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

/** DeleteOptions are delete's parameters (query or body). */
export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: PropagationPolicy;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun?: boolean;
}

/** PatchType is the patch's content type: JSON patch, merge patch, strategic merge, apply. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** KubeList is a list response (PodList, ...). */
export interface KubeList {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly resourceVersion: string; readonly continue?: string; readonly remainingItemCount?: number };
  readonly items: readonly KubeObject[];
}

/** WatchEventType is a watch event's type. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * WatchEvent is one event of a watch. BOOKMARK carries an object with only apiVersion, kind and
 * metadata.resourceVersion; ERROR carries a Status object (e.g. 410 Gone) and ends the watch.
 */
export type WatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; readonly object: KubeObject }
  | { readonly type: 'ERROR'; readonly object: StatusObject };

/** StatusObject is a metav1.Status as JSON. */
export interface StatusObject {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: ApiError['details'];
  readonly code: number;
}

/** WatchSink receives a watch's events; `closed` is called once when the watch ends. */
export interface WatchSink {
  readonly event: (ev: WatchEvent) => void;
  readonly closed: (why: ApiError | null) => void;
}

/** Disposable owns something that must be released (a watch, a timer). */
export interface Disposable {
  dispose(): void;
}

/** Written is a successful write: the object as stored, and warnings for the client. */
export interface Written {
  readonly object: KubeObject;
  readonly warnings: readonly string[];
  /** created is true when the write created the object (HTTP 201 rather than 200). */
  readonly created: boolean;
}

/** Deleted is delete's outcome: the object, still present with deletionTimestamp, or gone. */
export interface Deleted {
  readonly object: KubeObject;
  /** gone says the object no longer exists (200 with the last state); otherwise it awaits finalizers or grace (202). */
  readonly gone: boolean;
}

/** Registry is the apiserver's single entry point for every verb of every resource. */
export interface Registry {
  /** resources lists every served resource, for discovery and routing. */
  resources(): readonly ResourceInfo[];
  get(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<Result<KubeObject, ApiError>>;
  list(ctx: RequestContext, res: ResourceInfo, opts: ListOptions): Promise<Result<KubeList, ApiError>>;
  watch(ctx: RequestContext, res: ResourceInfo, opts: WatchOptions, sink: WatchSink): Promise<Result<Disposable, ApiError>>;
  /** create makes an object; with subresource 'binding' it binds the pod `name` (body: a Binding). */
  create(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions, sub?: { readonly subresource: 'binding'; readonly name: string }): Promise<Result<Written, ApiError>>;
  update(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>>;
  patch(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>>;
  delete(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<Result<Deleted, ApiError>>;
  deleteCollection(ctx: RequestContext, res: ResourceInfo, opts: ListOptions, del: DeleteOptions): Promise<Result<KubeList, ApiError>>;
}
