/**
 * runtime: the ContainerRuntime interface — the edge between the pod worker (which decides what
 * should run) and whatever runs containers: child processes (process runtime), nothing at all
 * (simulated runtime), or a CRI plug-in later. A runtime starts, stops and reports containers
 * one at a time; restart policy, back-off and pod status are the worker's.
 */
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Result } from '../control-plane/api/types.js';
import type { Disposable } from '../control-plane/apiserver/registry-api.js';
import type { ObjectData } from './env.js';
import type { PodObject } from './types.js';

/** ConfigError is why a container could not be set up: a waiting reason and a message for its status. */
export interface ConfigError {
  /** reason is CreateContainerConfigError (bad or missing configuration) or RunContainerError (the start failed). */
  readonly reason: 'CreateContainerConfigError' | 'RunContainerError';
  readonly message: string;
}

/** Terminated is how a container's run ended. */
export interface Terminated {
  readonly exitCode: number;
  /** signal names the signal that killed it, if one did ('SIGKILL'). */
  readonly signal?: string;
  /** reason is ContainerStatusUnknown for a run that ended while no agent watched it (its exit status is lost). */
  readonly reason: 'Completed' | 'Error' | 'OOMKilled' | 'ContainerStatusUnknown';
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/** RuntimeContainerState is a container's state as its runtime sees it. */
export type RuntimeContainerState =
  | { readonly kind: 'waiting'; readonly reason: string; readonly message?: string }
  | { readonly kind: 'running'; readonly startedAt: Date }
  | ({ readonly kind: 'terminated' } & Terminated);

/** ContainerRecord is one container of a pod as its runtime knows it. */
export interface ContainerRecord {
  readonly name: string;
  readonly init: boolean;
  readonly state: RuntimeContainerState;
  /** restartCount counts starts after the first. */
  readonly restartCount: number;
  /** lastTermination is how the previous run ended (absent before the first restart). */
  readonly lastTermination?: Terminated;
  /** containerID identifies this run ('process://1234', 'simulated://uid/name'). */
  readonly containerID?: string;
}

/** StartContainerRequest asks a runtime to start (or restart) one container of a pod. */
export interface StartContainerRequest {
  readonly pod: PodObject;
  readonly container: Container;
  readonly init: boolean;
  readonly podIP: string;
  readonly hostIP: string;
  /**
   * env resolves the container's environment (values from ConfigMaps, Secrets and the downward
   * API, plus POD_IP). It reads the apiserver, so a runtime that does not need it should not call it.
   */
  readonly env: () => Promise<Result<Record<string, string>, ConfigError>>;
  /** objects reads the ConfigMaps and Secrets of the pod's namespace (for configMap and secret volumes). */
  readonly objects: ObjectData;
  /**
   * firstRestartCount is the restartCount to give a container the runtime has no record of: 0,
   * or, for a pod that already ran under an earlier run of the agent, one more than it reported.
   */
  readonly firstRestartCount: number;
}

/**
 * ContainerRuntime runs containers. Calls for one pod are never made concurrently by the worker,
 * except stopContainer, which may be called again with a shorter grace period while a stop is
 * under way (the shorter one wins). `onChange` tells the worker that a pod's containers changed
 * on their own (exited, finished starting) so it reconciles the pod again.
 */
export interface ContainerRuntime {
  /** name goes into the node's nodeInfo.containerRuntimeVersion ('process', 'simulated'). */
  readonly name: string;
  /**
   * startContainer starts a container that is not running (restarting it if it ran before:
   * its restartCount goes up). A failure comes back as a ConfigError and is also recorded as the
   * container's waiting state.
   */
  startContainer(req: StartContainerRequest): Promise<Result<void, ConfigError>>;
  /**
   * stopContainer stops a running container: SIGTERM (or the runtime's equivalent), then after
   * `graceMs` SIGKILL. It resolves when the container is no longer running.
   */
  stopContainer(podUid: string, name: string, graceMs: number): Promise<void>;
  /** containers reports a pod's containers (empty for a pod the runtime does not know). */
  containers(podUid: string): readonly ContainerRecord[];
  /** removePod kills whatever of the pod still runs (no grace) and forgets it. */
  removePod(podUid: string): Promise<void>;
  /** pods lists the uids of the pods the runtime knows. */
  pods(): readonly string[];
  /** onChange registers a listener for containers changing on their own. */
  onChange(listener: (podUid: string) => void): Disposable;
  /** close stops every container (no grace) and releases the runtime's resources. */
  close(): Promise<void>;
  /**
   * exec runs a command in a running container's context (for exec probes): its exit code, or
   * null when it could not run or ran past timeoutMs. A runtime without it passes exec probes.
   */
  exec?(podUid: string, name: string, command: readonly string[], timeoutMs: number): Promise<number | null>;
}
