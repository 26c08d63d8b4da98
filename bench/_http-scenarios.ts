// Scenarios 1–3 over HTTP: for each repetition, each contender in turn (A B C … A B C …)
// gets a fresh server, then scenario 1, 2 and 3 run against it from separate processes.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ContenderSpec } from './_contenders.js';
import type { LostUpdatesResult, ThroughputResult } from './_load-child.js';
import { WORK_DIR, runLoad, startContender } from './_processes.js';
import type { ServiceUrls } from './contenders/_serve.js';

/** Durations and sizes of scenarios 1–3. */
export interface HttpPlan {
  readonly repetitions: number;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly lostUpdates: { readonly total: number; readonly inFlight: number; readonly maxWorkMs: number };
}

/** Everything measured for one contender, one entry per repetition. */
export interface ContenderResults {
  readonly id: string;
  /** Why it could not run, when it could not. */
  unavailable?: string;
  readonly throughput: ThroughputResult[];
  readonly hotSession: ThroughputResult[];
  readonly lostUpdates: LostUpdatesResult[];
  /** Load jobs that failed, with their message. */
  readonly errors: string[];
}

const SECRET = 'bench-secret-that-is-long-enough-for-every-library';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function measure<T>(results: ContenderResults, label: string, job: () => Promise<T>, into: T[]): Promise<void> {
  try {
    into.push(await job());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.errors.push(`${label}: ${message}`);
    log(`  ${label} failed: ${message}`);
  }
}

async function runOnce(spec: ContenderSpec, results: ContenderResults, plan: HttpPlan, services: ServiceUrls, repetition: number): Promise<void> {
  const tmpDir = join(WORK_DIR, `rep${repetition}-${spec.module}-${spec.store ?? 'x'}`);
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const started = await startContender(`${spec.module}-${spec.store ?? 'x'}`, spec.module, { tmpDir, store: spec.store, services, secret: SECRET });
  if (typeof started === 'string') {
    results.unavailable = started;
    log(`  ${spec.id}: not available: ${started}`);
    return;
  }
  try {
    const base = { kind: 'throughput' as const, url: started.url, connections: plan.connections, warmupS: plan.warmupS, durationS: plan.durationS };
    await measure(results, 'scenario 1', () => runLoad<ThroughputResult>({ ...base, sessions: 'per-connection' }), results.throughput);
    // The ceilings have no session: one hot session and lost updates mean nothing there.
    if (spec.kind !== 'ceiling') {
      await measure(results, 'scenario 2', () => runLoad<ThroughputResult>({ ...base, sessions: 'shared' }), results.hotSession);
      await measure(results, 'scenario 3', () => runLoad<LostUpdatesResult>({ kind: 'lost-updates', url: started.url, ...plan.lostUpdates }), results.lostUpdates);
    }
    const s1 = results.throughput.at(-1);
    const s2 = results.hotSession.at(-1);
    const s3 = results.lostUpdates.at(-1);
    log(
      `  ${spec.id}: s1 ${s1 === undefined ? '-' : Math.round(s1.rps)} req/s, s2 ${s2 === undefined ? '-' : Math.round(s2.rps)} req/s, s3 lost ${s3 === undefined ? '-' : `${s3.lost}/${s3.expected}`}`,
    );
  } finally {
    await started.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Run scenarios 1–3 against every contender, interleaved over the repetitions. */
export async function runHttpScenarios(contenders: readonly ContenderSpec[], plan: HttpPlan, services: ServiceUrls): Promise<ContenderResults[]> {
  const all = contenders.map((spec): ContenderResults => ({ id: spec.id, throughput: [], hotSession: [], lostUpdates: [], errors: [] }));
  for (let repetition = 1; repetition <= plan.repetitions; repetition++) {
    log(`scenarios 1-3, repetition ${repetition}/${plan.repetitions}`);
    for (const [index, spec] of contenders.entries()) {
      const results = all[index] as ContenderResults;
      // A contender that could not start once is not retried: its reason stands.
      if (results.unavailable !== undefined) continue;
      await runOnce(spec, results, plan, services, repetition);
    }
  }
  return all;
}
