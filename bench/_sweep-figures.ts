// The figures the report needs from bench/results/sweep.json, which bench/sweep.ts (a
// separate script) writes: `{ runs: [{ store, sessions, eventLoop, baseline, during,
// cleanup, … }] }`. Read defensively: a field it does not have shows as missing.
import type { SweepOutcome } from './_sweep.js';

/** One sweep run (one store) as the report shows it; all latencies in ms. */
export interface SweepRow {
  readonly label: string;
  readonly sessions?: number;
  readonly removed?: number;
  readonly sweepMs?: number;
  readonly maxStallMs?: number;
  /** The longest loop delay of an idle process beside the server over the sweep: the machine's own noise. */
  readonly idleProcessMaxStallMs?: number;
  readonly p99BaselineMs?: number;
  readonly p99DuringMs?: number;
  readonly maxBaselineMs?: number;
  readonly maxDuringMs?: number;
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

/** The runs of sweep.json, or why there are none. */
export function sweepFigures(outcome: SweepOutcome): SweepFigures {
  if (outcome.unavailable !== undefined) return { unavailable: outcome.unavailable };
  const runs = at(outcome.data, 'runs');
  if (!Array.isArray(runs) || runs.length === 0) return { unavailable: 'bench/results/sweep.json holds no runs' };
  return {
    rows: runs.map((run: unknown, index) => {
      const store = at(run, 'store');
      return {
        label: typeof store === 'string' ? store : `run ${index + 1}`,
        sessions: numberAt(run, 'sessions'),
        removed: numberAt(run, 'cleanup', 'removed'),
        sweepMs: numberAt(run, 'cleanup', 'durationMs'),
        maxStallMs: numberAt(run, 'eventLoop', 'maxStallMs'),
        idleProcessMaxStallMs: numberAt(run, 'eventLoop', 'idleProcessMaxStallMs'),
        p99BaselineMs: numberAt(run, 'baseline', 'p99Ms'),
        p99DuringMs: numberAt(run, 'during', 'p99Ms'),
        maxBaselineMs: numberAt(run, 'baseline', 'maxMs'),
        maxDuringMs: numberAt(run, 'during', 'maxMs'),
      };
    }),
  };
}
