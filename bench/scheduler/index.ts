/**
 * bench/scheduler: `raftkube bench scheduler` — scheduling throughput and a Deployment's time to
 * available against a running cluster with simulated nodes, plus the scheduler's own cost per
 * pod in-process. (run.ts is the older tsx script against an in-process apiserver.) This file is
 * the folder's public surface.
 */
export { validateBenchSchedulerOptions, FULL, QUICK, type RawBenchSchedulerOptions } from './options.js';
export { runBenchScheduler } from './runner.js';
export { formatReport, judgeGoals, renderSchedulerSvg } from './report.js';
export { cumulative } from './phases.js';
export { runCycles, benchNode, benchPod, type CycleResult } from './cycle.js';
export { renderPanels, renderBoundOverTime, boundSeries, type Panel, type BoundSeries } from './svg.js';
export { PHASES, PODS_PER_SECOND_GOAL, DEPLOYMENT_SECONDS_GOAL, type PhaseName, type BenchSchedulerOptions, type BenchSchedulerReport, type BenchSchedulerMeta, type PodsPhaseResult, type DeploymentPhaseResult, type GoalResult, type Point, type CpuSeconds } from './types.js';
