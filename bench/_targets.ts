// The issue's targets, checked against ratios from the same run.
import { CONTENDERS, NODE_HTTP, PEER_OF_STORE, SESSIONLOCK_STORES, sessionlockId, type StoreName } from './_contenders.js';
import type { ContenderResults } from './_http-scenarios.js';
import type { BenchResults } from './_results.js';
import { formatSpread, spread } from './_stats.js';
import { sweepFigures } from './_sweep-figures.js';

/** One target's verdict. */
export interface TargetCheck {
  readonly target: string;
  /** What was measured, in words. */
  readonly measured: string;
  /** `pass`, `miss`, or `not measured` (with the reason in `measured`). */
  readonly verdict: 'pass' | 'miss' | 'not measured';
  /** The sessionlock store an S1 target compares with its peer: its page in docs/stores/ gives its costs. */
  readonly store?: StoreName;
}

function medianRps(http: readonly ContenderResults[], id: string, which: 'throughput' | 'hotSession'): number | undefined {
  return spread(http.find((result) => result.id === id)?.[which].map((run) => run.rps) ?? [])?.median;
}

function why(http: readonly ContenderResults[], id: string): string {
  const result = http.find((entry) => entry.id === id);
  if (result?.unavailable !== undefined) return `${id}: not available: ${result.unavailable}`;
  return `${id}: no measurement`;
}

function medianCpu(http: readonly ContenderResults[], id: string, which: 'throughput' | 'hotSession'): number | undefined {
  const values = (http.find((result) => result.id === id)?.[which] ?? []).map((run) => run.cpuUsPerRequest).filter((value) => Number.isFinite(value));
  return spread(values)?.median;
}

function ratioCheck(http: readonly ContenderResults[], target: string, ours: [string, 'throughput' | 'hotSession'], theirs: [string, 'throughput' | 'hotSession'], atLeast: number): TargetCheck {
  const a = medianRps(http, ...ours);
  const b = medianRps(http, ...theirs);
  if (a === undefined || b === undefined) return { target, measured: why(http, a === undefined ? ours[0] : theirs[0]), verdict: 'not measured' };
  const ratio = a / b;
  const verdict = ratio >= atLeast ? 'pass' : 'miss';
  const by = verdict === 'miss' ? `, short by ${((1 - ratio / atLeast) * 100).toFixed(0)} %` : '';
  const cpuA = medianCpu(http, ...ours);
  const cpuB = medianCpu(http, ...theirs);
  // Less CPU per request is better, so the CPU-based ratio is theirs over ours.
  const byCpu = cpuA !== undefined && cpuB !== undefined && cpuA > 0 ? `; by server CPU per request ${(cpuB / cpuA).toFixed(2)}× (${Math.round(cpuA)} vs ${Math.round(cpuB)} µs)` : '';
  return { target, measured: `${ratio.toFixed(2)}× (${Math.round(a)} vs ${Math.round(b)} req/s)${by}${byCpu}`, verdict };
}

/** Check every target the run has numbers for. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const { http } = results;
  const checks: TargetCheck[] = [];
  for (const store of SESSIONLOCK_STORES) {
    const peer = PEER_OF_STORE[store];
    const ours = sessionlockId('express', store);
    checks.push({ ...ratioCheck(http, `S1: ${ours} ≥ 1.0× ${peer}`, [ours, 'throughput'], [peer, 'throughput'], 1), store });
    if (store === 'sqlite') checks.push({ ...ratioCheck(http, `S1: ${ours} ≥ 3× ${peer}`, [ours, 'throughput'], [peer, 'throughput'], 3), store });
  }
  for (const spec of CONTENDERS) {
    if (spec.kind !== 'sessionlock-express' && spec.kind !== 'sessionlock-node') continue;
    checks.push(ratioCheck(http, `S2 ≥ 0.8× S1: ${spec.id}`, [spec.id, 'hotSession'], [spec.id, 'throughput'], 0.8));
  }
  checks.push(ratioCheck(http, `S1: ${sessionlockId('node', 'memory')} ≥ 0.6× ${NODE_HTTP}`, [sessionlockId('node', 'memory'), 'throughput'], [NODE_HTTP, 'throughput'], 0.6));
  for (const spec of CONTENDERS) {
    if (spec.kind !== 'sessionlock-express' && spec.kind !== 'sessionlock-node') continue;
    const runs = http.find((entry) => entry.id === spec.id)?.lostUpdates ?? [];
    const target = `S3: 0 lost: ${spec.id}`;
    if (runs.length === 0) checks.push({ target, measured: why(http, spec.id), verdict: 'not measured' });
    else {
      const lost = runs.reduce((sum, run) => sum + run.lost, 0);
      const total = runs.reduce((sum, run) => sum + run.expected, 0);
      checks.push({ target, measured: `${lost} lost of ${total} over ${runs.length} run(s)`, verdict: lost === 0 ? 'pass' : 'miss' });
    }
  }
  const sweep = sweepFigures(results.sweep);
  if (sweep.unavailable !== undefined) {
    checks.push({ target: 'S4: event-loop stall ≤ 20 ms', measured: sweep.unavailable, verdict: 'not measured' });
    checks.push({ target: 'S4: p99 during sweep ≤ 2× baseline', measured: sweep.unavailable, verdict: 'not measured' });
  } else {
    // On the medians over the repetitions, as every other scenario's targets.
    for (const row of sweep.rows) {
      const stall = row.maxStallMs;
      const idle = row.idleProcessMaxStallMs;
      checks.push({
        target: `S4 ${row.label}: event-loop stall ≤ 20 ms`,
        measured:
          stall === undefined
            ? 'not reported'
            : `${formatSpread(stall, 1)} ms over ${stall.count} run(s)${stall.median > 20 ? `, median over by ${(stall.median - 20).toFixed(1)} ms` : ''}${idle === undefined ? '' : ` (an idle process beside it, same windows: ${formatSpread(idle, 1)} ms)`}`,
        verdict: stall === undefined ? 'not measured' : stall.median <= 20 ? 'pass' : 'miss',
      });
      const ratio = row.p99Ratio;
      checks.push({
        target: `S4 ${row.label}: p99 during sweep ≤ 2× baseline`,
        measured:
          ratio === undefined
            ? 'not reported'
            : `${formatSpread(ratio, 2)}× (p99 ${formatSpread(row.p99DuringMs, 2)} vs ${formatSpread(row.p99BaselineMs, 2)} ms)${ratio.median > 2 ? `, median over by ${((ratio.median / 2 - 1) * 100).toFixed(0)} %` : ''}`,
        verdict: ratio === undefined ? 'not measured' : ratio.median <= 2 ? 'pass' : 'miss',
      });
    }
  }
  return checks;
}
