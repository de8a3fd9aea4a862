/**
 * bench/pods: `raftkube bench pods` — pod startup latency (created → scheduled → Running → Ready
 * as a watcher sees it) against a running cluster — and `raftkube bench nodes` — many simulated
 * nodes held Ready with their Leases fresh and their pods running. This file is the folder's
 * public surface.
 */
export { validateBenchPodsOptions, validateBenchNodesOptions, PODS_FULL, PODS_QUICK, NODES_FULL, NODES_QUICK, type RawBenchPodsOptions, type RawBenchNodesOptions } from './options.js';
export { runBenchPods, timingsOf, interruptible } from './runner.js';
export { runBenchNodes } from './nodes.js';
export { formatReport, formatMeta, renderPodsSvg, ms } from './report.js';
export { formatNodesReport } from './nodes-report.js';
export { PodTracker, isReady, type PodSeen } from './tracker.js';
export { openCluster, takeCensus, formatCensus, runtimeOf, nodeReady, nodeAgentPids, parseCpuSeconds, processUse, type Cluster } from './cluster.js';
export { podBody, podName, createPods, deletePods, HTTP_PORT, type CreateOutcome, type CreateOptions } from './workload.js';
export { STARTUP_P99_GOAL_MS, WORKLOADS, type PodWorkload, type BenchPodsOptions, type BenchPodsReport, type BenchNodesOptions, type BenchNodesReport, type HoldCheck, type NodeCensus, type PodTiming, type ProcessUse, type RunMeta, type StartupSeries } from './types.js';
