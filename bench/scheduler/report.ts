/**
 * report: `raftkube bench scheduler`'s verdict against issue 8's goals, its text table, and its
 * SVG (pods bound over time; the Deployment's pods bound, Ready and available over time).
 */
import type { Panel } from './svg.js';
import { renderPanels } from './svg.js';
import { DEPLOYMENT_SECONDS_GOAL, PODS_PER_SECOND_GOAL, type BenchSchedulerReport, type CpuSeconds, type DeploymentPhaseResult, type GoalResult, type PodsPhaseResult } from './types.js';

/** judgeGoals compares the phases' figures with the goals (a phase not run judges nothing). */
export function judgeGoals(pods: PodsPhaseResult | null, deployment: DeploymentPhaseResult | null): GoalResult[] {
  const out: GoalResult[] = [];
  if (pods !== null) {
    out.push({ goal: `≥ ${PODS_PER_SECOND_GOAL.toLocaleString('en-US')} pods/s created→bound (${pods.pods.toLocaleString('en-US')} pods)`, value: Math.round(pods.podsPerSecond), met: pods.allBound && pods.podsPerSecond >= PODS_PER_SECOND_GOAL });
  }
  if (deployment !== null) {
    out.push({ goal: `${deployment.replicas.toLocaleString('en-US')}-replica Deployment available in < ${DEPLOYMENT_SECONDS_GOAL} s`, value: Math.round(deployment.seconds * 100) / 100, met: deployment.available && deployment.seconds < DEPLOYMENT_SECONDS_GOAL });
  }
  return out;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function cpuText(c: CpuSeconds): string {
  const order = ['kv', 'apiserver', 'scheduler', 'controller-manager', 'nodes', 'bench'];
  return order.filter((k) => c[k] !== undefined).map((k) => `${k} ${fmt(c[k]!, 1)}`).join(', ');
}

/** formatReport renders a run as text: the figures, the CPU time per kind of process, the goals. */
export function formatReport(r: BenchSchedulerReport): string {
  const m = r.meta;
  const out: string[] = [];
  out.push(`raftkube bench scheduler — ${m.masters} masters, ${fmt(m.readyNodes)} Ready nodes, ${m.cpus} cores, ${m.memGiB} GiB, node ${m.node}, load ${m.loadBefore[0] ?? 0} → ${m.loadAfter[0] ?? 0}${m.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push('| measurement | value |');
  out.push('|---|---:|');
  if (r.cycle !== null) out.push(`| cycle: scheduler alone, in-process, ${fmt(r.cycle.nodes)} nodes, ${fmt(r.cycle.pods)} pods | ${fmt(r.cycle.podsPerSecond)} pods/s |`);
  const p = r.pods;
  if (p !== null) {
    out.push(`| pods: created (${p.concurrency} in flight) | ${fmt(p.pods - p.createErrors)} in ${fmt(p.createSeconds, 2)} s = ${fmt(p.createsPerSecond)}/s |`);
    out.push(`| pods: bound | ${fmt(p.bound)} of ${fmt(p.pods)} in ${fmt(p.seconds, 2)} s |`);
    out.push(`| pods: throughput, first create sent → last pod bound | ${fmt(p.podsPerSecond)} pods/s |`);
    out.push(`| pods: created→bound p50 / p99 / max | ${fmt(p.createdToBound.p50)} / ${fmt(p.createdToBound.p99)} / ${fmt(p.createdToBound.max)} ms |`);
  }
  const d = r.deployment;
  if (d !== null) {
    const at = (xs: readonly number[], q: number): string => (xs.length === 0 ? '–' : fmt((xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0) / 1000, 2));
    out.push(`| deployment: ${fmt(d.replicas)} replicas, create → available | ${d.available ? `${fmt(d.seconds, 2)} s` : `not within ${fmt(d.seconds, 0)} s (${fmt(d.availableReplicas)} available)`} |`);
    out.push(`| deployment: pods bound, first / median / last | ${at(d.boundAtMs, 0)} / ${at(d.boundAtMs, 0.5)} / ${at(d.boundAtMs, 1)} s |`);
    out.push(`| deployment: pods Ready, first / median / last | ${at(d.readyAtMs, 0)} / ${at(d.readyAtMs, 0.5)} / ${at(d.readyAtMs, 1)} s |`);
  }
  out.push('');
  if (p !== null) out.push(`CPU s during pods: ${cpuText(p.cpu)}`);
  if (d !== null) out.push(`CPU s during deployment: ${cpuText(d.cpu)}`);
  for (const [name, ph] of [['pods', p], ['deployment', d]] as const) {
    if (ph !== null) out.push(`Nodes during ${name}: ${fmt(ph.nodes.readyAtStart)} Ready at the start, ${fmt(ph.nodes.notReadyDuring)} seen not Ready`);
  }
  if (r.goals.length > 0) {
    out.push('', 'Goals:');
    for (const g of r.goals) out.push(`- ${g.met ? 'MET' : 'NOT MET'}: ${g.goal} — measured ${fmt(g.value, 2)}`);
  }
  if (r.notes.length > 0) out.push('', 'Notes:', ...r.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

/** renderSchedulerSvg plots the run: pods created and bound over time, and the Deployment's pods bound, Ready and available. */
export function renderSchedulerSvg(r: BenchSchedulerReport): string {
  const panels: Panel[] = [];
  if (r.pods !== null) {
    panels.push({
      title: `${r.pods.pods.toLocaleString('en-US')} pods: ${Math.round(r.pods.podsPerSecond).toLocaleString('en-US')} pods/s created→bound`,
      yLabel: 'pods',
      series: [{ label: 'created', points: r.pods.created }, { label: 'bound', points: r.pods.boundOverTime }],
    });
  }
  if (r.deployment !== null) {
    const d = r.deployment;
    panels.push({
      title: `Deployment of ${d.replicas.toLocaleString('en-US')}: ${d.available ? `available in ${d.seconds.toFixed(2)} s` : 'not available'}`,
      yLabel: 'pods / replicas',
      series: [{ label: 'pods bound', points: d.boundOverTime }, { label: 'pods Ready', points: d.readyOverTime }, { label: 'availableReplicas', points: d.availableOverTime }],
    });
  }
  const m = r.meta;
  return renderPanels(panels, `raftkube bench scheduler — ${m.readyNodes.toLocaleString('en-US')} simulated nodes, ${m.masters} masters`, `${m.date.slice(0, 16).replace('T', ' ')} UTC, ${m.cpus} cores, Node ${m.node}, load ${m.loadBefore[0] ?? 0} → ${m.loadAfter[0] ?? 0}`);
}
