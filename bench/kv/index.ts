/**
 * bench/kv: `raftkube bench kv` — the same workloads, driven by the same client, against
 * raftkube and a real etcd started on the side. This file is the folder's public surface.
 */
export { validateBenchKvOptions, parseEndpoints, parseWorkloads, isLoopbackHost, DEFAULT_ETCD_BIN, DEFAULT_ETCD_BASE_PORT, DEFAULT_WATCH_CLIENTS, DEFAULT_PUT_CLIENTS, type BenchKvOptions, type RawBenchKvOptions, type TracePlan, type Validated } from './options.js';
export { runBenchKv, oneMinuteLoad, raftkubeTarget, checkReachable, InterruptedError, clusterDir, KEY_ROOT, VALUE_SIZE, type BenchKvMeta, type BenchKvReport } from './runner.js';
export { buildRows, describeLoad, formatTable, formatNotes, formatRatio, formatValue, figureKey, markdownTable, ratio, verdict, type Row } from './report.js';
export { renderSvg, plotSeries, escapeXml, figureBars, renderFiguresSvg, renderRatioSvg, advantage, type FigureBars, type PlotSeries, type SvgOptions } from './svg.js';
export { parseRunJson, summariseRuns, formatSummary, describeRun, utcMinute, type ParsedRun, type SummaryGroup, type SummaryRow, type SummaryRun, type SummaryRunInfo } from './summary.js';
export { TerminalProgress, silentProgress, type Progress } from './progress.js';
export { LocalEtcdCluster, planEtcdMembers, etcdArgs, etcdVersion, type EtcdMemberPlan } from './etcd-cluster.js';
export { parseVmRssKiB, listenPorts } from './procs.js';
export { WORKLOADS, LIGHT_WORKLOADS, HEAVY_WORKLOADS, SYSTEMS, type WorkloadName, type SystemName, type WorkloadResult, type Figure, type LatencySummary, type LatencySeries, type Better } from './types.js';
export { joinTrace, traceTables, formatTraceTables, percentile, TRACE_GROUPS, type ClientSample, type JoinedSample, type JoinResult, type Hop, type StageRow, type TraceGroup, type TraceKind, type TraceTable } from './trace.js';
export { runTrace, decodeDump, TRACE_DEFAULT_COUNT, type TraceRunOptions, type TraceRunReport } from './trace-run.js';
export { GcWatch, combineGc, coveredMs, describeGc, pausedMs, summarise, type GcSummary, type Pause } from './client-gc.js';
export { LatencyRecorder } from './histogram.js';
export { drivePuts, split, WARM_UP_PER_REQUEST, type PutPhase, type PutPhaseResult } from './put-clients.js';
export { CpuWaitClock, parseSchedstat, parseSchedstatWait } from '../../src/kv/server/cpu-wait.js';
export { describeMembersCpu, MembersClock, parseProcIo, readProcessIo, readProcessSched, type IoCounts, type MembersCpu, type SyscallsPerOp } from './members-cpu.js';
export { cpuWaitSummary, describeCpuWait, type CpuWaitSummary } from './drive.js';
