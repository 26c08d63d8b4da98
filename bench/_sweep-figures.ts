// The figures the report needs from bench/results/sweep.json, which bench/sweep.ts (a
// separate script) writes: `{ runs: [{ store, sessions, eventLoop, baseline, during,
// cleanup, … }] }`, several runs per store. Read defensively: a field it does not have
// shows as missing.
import { spread, type Spread } from './_stats.js';
import type { SweepOutcome } from './_sweep.js';

/**
 * One store over its repetitions as the report shows it: each figure's median and range
 * (undefined when the runs did not report it); all latencies in ms.
 */
export interface SweepRow {
  readonly label: string;
  readonly sessions?: Spread;
  readonly removed?: Spread;
  readonly sweepMs?: Spread;
  readonly maxStallMs?: Spread;
  /** The longest loop delay of an idle process beside the server over the sweep: the machine's own noise. */
  readonly idleProcessMaxStallMs?: Spread;
  readonly p99BaselineMs?: Spread;
  readonly p99DuringMs?: Spread;
  /** Each run's p99 during the sweep over its own p99 before it. */
  readonly p99Ratio?: Spread;
  readonly maxBaselineMs?: Spread;
  readonly maxDuringMs?: Spread;
}

/** The rows, or why there are none. */
export type SweepFigures = { readonly unavailable: string; readonly rows?: undefined } | { readonly unavailable?: undefined; readonly rows: SweepRow[] };

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  return current;
}

function numberAt(value: unknown, ...path: string[]): number | undefined {
  const found = at(value, ...path);
  return typeof found === 'number' ? found : undefined;
}

/** The spread of one figure over `runs`; undefined unless every run reported it. */
function spreadAt(runs: readonly unknown[], ...path: string[]): Spread | undefined {
  const values = runs.map((run) => numberAt(run, ...path));
  return values.every((value) => value !== undefined) ? spread(values as number[]) : undefined;
}

/** The runs of sweep.json grouped by store (in order of first appearance), or why there are none. */
export function sweepFigures(outcome: SweepOutcome): SweepFigures {
  if (outcome.unavailable !== undefined) return { unavailable: outcome.unavailable };
  const runs = at(outcome.data, 'runs');
  if (!Array.isArray(runs) || runs.length === 0) return { unavailable: 'bench/results/sweep.json holds no runs' };
  const byStore = new Map<string, unknown[]>();
  runs.forEach((run: unknown, index) => {
    const store = at(run, 'store');
    const label = typeof store === 'string' ? store : `run ${index + 1}`;
    byStore.set(label, [...(byStore.get(label) ?? []), run]);
  });
  return {
    rows: [...byStore].map(([label, storeRuns]) => {
      const ratios = storeRuns.map((run) => {
        const during = numberAt(run, 'during', 'p99Ms');
        const baseline = numberAt(run, 'baseline', 'p99Ms');
        return during !== undefined && baseline !== undefined && baseline > 0 ? during / baseline : undefined;
      });
      return {
        label,
        sessions: spreadAt(storeRuns, 'sessions'),
        removed: spreadAt(storeRuns, 'cleanup', 'removed'),
        sweepMs: spreadAt(storeRuns, 'cleanup', 'durationMs'),
        maxStallMs: spreadAt(storeRuns, 'eventLoop', 'maxStallMs'),
        idleProcessMaxStallMs: spreadAt(storeRuns, 'eventLoop', 'idleProcessMaxStallMs'),
        p99BaselineMs: spreadAt(storeRuns, 'baseline', 'p99Ms'),
        p99DuringMs: spreadAt(storeRuns, 'during', 'p99Ms'),
        p99Ratio: ratios.every((ratio) => ratio !== undefined) ? spread(ratios as number[]) : undefined,
        maxBaselineMs: spreadAt(storeRuns, 'baseline', 'maxMs'),
        maxDuringMs: spreadAt(storeRuns, 'during', 'maxMs'),
      };
    }),
  };
}
