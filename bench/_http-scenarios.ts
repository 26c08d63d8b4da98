// Scenarios 1–3 over HTTP: for each repetition, each contender in turn (A B C … A B C …)
// gets a fresh server, then scenario 1, 2 and 3 run against it from separate processes.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ContenderSpec } from './_contenders.js';
import type { LoadJob, LoadOutcome, LostUpdatesResult, ThroughputResult } from './_load-child.js';
import { WORK_DIR, runLoadJobs, startContender } from './_processes.js';
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
    const base = { kind: 'throughput' as const, url: started.url, connections: plan.connections };
    const jobs: LoadJob[] = [{ ...base, sessions: 'per-connection', warmupS: plan.warmupS, durationS: plan.durationS }];
    // The ceilings have no session: one hot session and lost updates mean nothing there.
    if (spec.kind !== 'ceiling') {
      // The server is warm from scenario 1; a short warm-up of the one hot session suffices.
      jobs.push({ ...base, sessions: 'shared', warmupS: plan.warmupS / 2, durationS: plan.durationS });
      jobs.push({ kind: 'lost-updates', url: started.url, ...plan.lostUpdates });
    }
    let outcomes: LoadOutcome<unknown>[];
    try {
      outcomes = await runLoadJobs(jobs, () => started.cpuUs());
    } catch (error) {
      outcomes = [{ error: error instanceof Error ? error.message : String(error) }];
    }
    const into = [results.throughput, results.hotSession, results.lostUpdates] as unknown[][];
    outcomes.forEach((outcome, index) => {
      if ('result' in outcome) into[index]?.push(outcome.result);
      else {
        results.errors.push(`scenario ${index + 1}: ${outcome.error}`);
        log(`  scenario ${index + 1} failed: ${outcome.error}`);
      }
    });
    const [s1, s2, s3] = [results.throughput.at(-1), results.hotSession.at(-1), results.lostUpdates.at(-1)];
    const rps = (run: ThroughputResult | undefined): string => (run === undefined ? '-' : String(Math.round(run.rps)));
    log(`  ${spec.id}: s1 ${rps(s1)} req/s, s2 ${rps(s2)} req/s, s3 lost ${s3 === undefined ? '-' : `${s3.lost}/${s3.expected}`}`);
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
