// The shape of one benchmark run's results, as written to bench/results/results.json.
import type { ContenderResults, HttpPlan } from './_http-scenarios.js';
import type { Environment } from './_machine.js';
import type { MemoryResult } from './_memory-child.js';
import type { SweepOutcome } from './_sweep.js';
import type { WakeupResult } from './_wakeup.js';

/** Scenario 6 for one store. */
export interface MemoryOutcome {
  readonly label: string;
  readonly group: 'sessionlock' | 'peer';
  result?: MemoryResult;
  unavailable?: string;
}

/** Everything one run measured. */
export interface BenchResults {
  readonly startedAt: string;
  readonly mode: 'full' | 'quick' | 'smoke';
  readonly plan: HttpPlan & { readonly wakeupRounds: number; readonly memorySessions: number };
  readonly environment: Environment;
  readonly http: ContenderResults[];
  readonly sweep: SweepOutcome;
  readonly wakeup: WakeupResult[];
  readonly memory: MemoryOutcome[];
  /** Services that could not be started, with the reason. */
  readonly serviceErrors: Record<string, string>;
  /** The 1-minute load average when the run started and ended (other work on the machine skews results). */
  readonly loadAverage: { readonly start: number; readonly end: number };
  durationS: number;
}
