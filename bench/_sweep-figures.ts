// Reads the figures the report needs out of bench/sweep.ts's JSON. That script is
// written separately, so its fields are found by name (flattened paths such as
// `during.p99Ms` or `eventLoop.maxStallMs`) rather than by a shared type.
import type { SweepOutcome } from './_sweep.js';

/** One sweep run (one store) as the report shows it; all latencies in ms. */
export interface SweepRow {
  readonly label: string;
  readonly maxStallMs?: number;
  readonly p99BaselineMs?: number;
  readonly p99DuringMs?: number;
  readonly maxBaselineMs?: number;
  readonly maxDuringMs?: number;
  /** Every numeric field of the run, by flattened path, for the full table. */
  readonly fields: Record<string, number | string>;
}

/** The rows, or why there are none. */
export type SweepFigures = { readonly unavailable: string; readonly rows?: undefined } | { readonly unavailable?: undefined; readonly rows: SweepRow[] };

function flatten(value: unknown, prefix: string, into: Record<string, number | string>): void {
  if (typeof value === 'number' || typeof value === 'string') into[prefix] = value;
  else if (typeof value === 'boolean') into[prefix] = String(value);
  else if (Array.isArray(value)) {
    if (value.length <= 8) value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, into));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix === '' ? key : `${prefix}.${key}`, into);
  }
}

function pick(fields: Record<string, number | string>, ...patterns: RegExp[]): number | undefined {
  for (const [path, value] of Object.entries(fields)) {
    if (typeof value === 'number' && patterns.every((pattern) => pattern.test(path))) return value;
  }
  return undefined;
}

function toRow(label: string, run: unknown): SweepRow {
  const fields: Record<string, number | string> = {};
  flatten(run, '', fields);
  const name = typeof fields.store === 'string' ? fields.store : typeof fields.name === 'string' ? fields.name : typeof fields.label === 'string' ? fields.label : label;
  return {
    label: name,
    maxStallMs: pick(fields, /stall|loop.*max|max.*(delay|lag)/i),
    p99BaselineMs: pick(fields, /baseline|before|without/i, /p99/i),
    p99DuringMs: pick(fields, /during|sweep/i, /p99/i),
    maxBaselineMs: pick(fields, /baseline|before|without/i, /max/i),
    maxDuringMs: pick(fields, /during|sweep/i, /max(?!.*stall)/i),
    fields,
  };
}

/** Find the runs in sweep.json: an array, an object with an array of runs, or one run. */
export function sweepFigures(outcome: SweepOutcome): SweepFigures {
  if (outcome.unavailable !== undefined) return { unavailable: outcome.unavailable };
  const data = outcome.data;
  if (Array.isArray(data)) return { rows: data.map((run, index) => toRow(`run ${index + 1}`, run)) };
  if (typeof data === 'object' && data !== null) {
    for (const [key, value] of Object.entries(data)) {
      if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object') {
        return { rows: value.map((run, index) => toRow(`${key} ${index + 1}`, run)) };
      }
    }
    return { rows: [toRow('sweep', data)] };
  }
  return { unavailable: 'bench/results/sweep.json holds no runs' };
}
