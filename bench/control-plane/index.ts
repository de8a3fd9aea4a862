/**
 * bench/control-plane: `raftkube bench api` — create, watch and list latency and apiserver
 * memory against a running cluster's apiservers, through REST and gRPC. This file is the
 * folder's public surface.
 */
export { validateBenchApiOptions, FULL, QUICK, type RawBenchApiOptions } from './options.js';
export { runBenchApi } from './runner.js';
export { baselinePhase } from './baseline.js';
export { formatReport, formatSeriesTable, formatMemoryTable, formatGoals, judgeGoals, markdownTable, plotSeriesOf, renderApiSvg } from './report.js';
export { readApiTarget, parseClusterJson, parseKubeconfig, apiServerPids, isApiServerArgv, dataDirOf, TargetError, type ApiMaster, type ApiTarget, type KubeconfigAuth } from './target.js';
export { RestClient, expectStatus, type RestResponse, type RestWatch, type WatchLines } from './rest.js';
export { eventPodName, podBody, PODS, CHUNK_LABEL, CHUNK_SIZE } from './workloads.js';
export { MUTATING_P99_GOAL_MS, WATCH_P99_GOAL_MS, PHASES, type PhaseName, type ApiSeries, type ApiVia, type BenchApiMeta, type BenchApiOptions, type BenchApiReport, type GoalResult, type MemoryResult, type RssReading, type SeriesKind } from './types.js';
