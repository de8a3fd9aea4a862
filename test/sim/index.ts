/**
 * sim: the deterministic Raft simulator's public surface — a seeded cluster with a faulty
 * network, crash-restart from durable state, a client, invariant checking after every step,
 * a tiny explicit-delivery harness for single-rule tests; and the same simulator with the
 * production RaftDriver in every member (driver-cluster).
 */
export { SimCluster, SimFailure, type ClusterOptions, type SimStats } from './cluster.js';
export { SimClient, type ClientStats } from './client.js';
export { InvariantChecker, InvariantViolation, type InvariantName, type Ack } from './invariants.js';
export { ReadChecker } from './reads.js';
export { SimNetwork, RELIABLE, type NetworkFaults, type NetworkStats, type Delivery } from './network.js';
export { SimNode, type CrashPoint, type ReadyHooks, type SimNodeConfig, type ObservedReadState } from './node.js';
export { deriveSeed, derivedRng, chance, shuffle } from './rand.js';
export { runSchedule, describeAction, type FaultAction } from './schedule.js';
export { healAll, healAndSettle, converged, checkFinal, type SettleBounds, type SettleReport } from './settle.js';
export { ListStateMachine, entryKey, payload, decodeRecords, type AppliedRecord } from './state-machine.js';
export { Trace, describeMessage, describeEntries, hex, type TraceOptions } from './trace.js';
export { PaperNode, PaperNet, makeEntries, termOf, idx, type PaperNodeOptions } from './harness.js';
export { DriverCluster, DriverSimFailure, DriverSimNode, type DriverClusterOptions, type DriverStats } from './driver-cluster.js';
export { DriverClient, type DriverClientStats, type DriverRef } from './driver-client.js';
export { runDriverSchedule, healAllDrivers, healAndSettleDrivers, driversConverged, checkFinalDrivers, type DriverAction } from './driver-schedule.js';
export { MemoryLogStore, type DurableHook } from './memory-log-store.js';
export { SimScheduler, ClockOwner, settleMicrotasks } from './scheduler.js';
