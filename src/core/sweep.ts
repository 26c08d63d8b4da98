import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { StoreError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';

/** Options of one sweep. */
export interface SweepOptions {
  /**
   * Only sessions expired for longer than this are removed, in ms, so a request that
   * loaded a session just before it expired can still save it. @default 60000
   */
  graceMs?: number;
  /**
   * Most records removed per batch; each batch is one short store operation. Batches
   * start smaller and grow up to this while they stay within `maxBlockMs`. @default 500
   */
  batchSize?: number;
  /**
   * Longest one batch may hold the event loop, or a lock that requests wait for, in ms.
   * A store with a synchronous driver blocks the loop while a batch runs (SQLite without
   * its worker); SQLite's worker thread holds the database's write lock instead, which
   * every request's write then waits for. So the batch size adapts: scaled down when a
   * batch held either longer, doubled when it held it less than half of this. Stores whose
   * batches hold neither run at `batchSize`. After a batch that held one, the sweep pauses
   * as long again and at least 1 ms, so it never takes more than half of the loop's (or
   * the lock's) time from requests, and a request meets a held lock for 1 ms at most.
   * @default 1
   */
  maxBlockMs?: number;
  /** The sweep stops after this many ms and the rest waits for the next one. @default 10000 */
  budgetMs?: number;
}

/** What one sweep did. */
export interface SweepResult {
  /** Records removed. */
  readonly deleted: number;
  /** Batches run. */
  readonly batches: number;
  /** Wall time in ms. */
  readonly durationMs: number;
  /** True when the time budget ran out (or the sweep was stopped) before the backlog did. */
  readonly incomplete: boolean;
  /** Longest time one batch held the event loop, in ms (near 0 for asynchronous stores). */
  readonly maxBatchBlockMs: number;
  /**
   * True when another sweeper (in this process or any other sharing the store) held the
   * cluster-wide sweep lease, so this one removed nothing and left the work to it.
   */
  readonly skipped: boolean;
}

/** Where a running sweep is, after each batch. */
export interface SweepProgress {
  /** Records removed so far. */
  readonly deleted: number;
  /** Batches run so far. */
  readonly batches: number;
  /** Wall time so far, in ms. */
  readonly elapsedMs: number;
}

/** Hooks into a running sweep. */
export interface SweepControl {
  /**
   * Called after each batch that leaves more to do. Answering false stops the sweep
   * (it is then reported `incomplete`), e.g. when the sweeper lost its lease.
   */
  readonly afterBatch?: (progress: SweepProgress) => boolean | Promise<boolean>;
  /** Stops the sweep between batches, e.g. when the manager closes. */
  readonly signal?: AbortSignal;
}

/** Size of a sweep's first batch, and the smallest one. */
const FIRST_BATCH = 50;
const MIN_BATCH = 10;

/** The next batch size, from how long the last one held the event loop. */
function nextLimit(limit: number, blockedMs: number, maxBlockMs: number, batchSize: number): number {
  if (blockedMs > maxBlockMs) return Math.max(Math.min(MIN_BATCH, batchSize), Math.floor((limit * maxBlockMs) / blockedMs));
  if (blockedMs < maxBlockMs / 2) return Math.min(batchSize, limit * 2);
  return limit;
}

/** The defaults of `SweepOptions`, applied. */
export function sweepDefaults(options: SweepOptions = {}): Required<SweepOptions> {
  return {
    graceMs: options.graceMs ?? 60_000,
    batchSize: options.batchSize ?? 500,
    budgetMs: options.budgetMs ?? 10_000,
    maxBlockMs: options.maxBlockMs ?? 1,
  };
}

/**
 * Remove expired sessions in small batches, yielding to the event loop between them,
 * so requests interleave with a sweep of any size. Cost grows with the expired records
 * only: every store finds them through an index on expiry. This runs the batches only;
 * `sweepSingleFlight` (sweeper.ts) adds the cluster-wide lease around it.
 */
export async function runSweep(store: SessionStore, options: SweepOptions = {}, control: SweepControl = {}): Promise<SweepResult> {
  const { graceMs, batchSize, budgetMs, maxBlockMs } = sweepDefaults(options);
  // Small first, so a store slower than expected cannot stall the loop on the first batch.
  let limit = Math.max(1, Math.min(batchSize, FIRST_BATCH));
  const startedAt = performance.now();
  let deleted = 0;
  let batches = 0;
  let maxBatchBlockMs = 0;
  const done = (incomplete: boolean): SweepResult => ({
    deleted,
    batches,
    durationMs: performance.now() - startedAt,
    incomplete,
    maxBatchBlockMs,
    skipped: false,
  });
  if (store.sweep === undefined) return done(false);
  for (;;) {
    let result;
    let blockedMs = 0;
    try {
      const calledAt = performance.now();
      const pending = store.sweep({ graceMs, limit });
      // What ran before the store's first await is time the event loop was held.
      blockedMs = performance.now() - calledAt;
      result = await pending;
    } catch (error) {
      throw new StoreError(store.name, 'sweep', { cause: error });
    }
    // A batch run off the loop still holds requests back while it holds their write lock.
    const heldMs = Math.max(blockedMs, result.lockMs ?? 0);
    if (result.yielded !== true) limit = nextLimit(limit, heldMs, maxBlockMs, batchSize);
    maxBatchBlockMs = Math.max(maxBatchBlockMs, blockedMs);
    deleted += result.deleted;
    batches += 1;
    const elapsedMs = performance.now() - startedAt;
    if (!result.more) return done(false);
    if (elapsedMs >= budgetMs || control.signal?.aborted === true) return done(true);
    if (control.afterBatch !== undefined && !(await control.afterBatch({ deleted, batches, elapsedMs }))) return done(true);
    // Requests get at least as much of the loop (or the lock) as the batch took. The 1 ms
    // floor: batches under 1 ms would otherwise follow each other with no pause at all.
    await (heldMs >= 0.1 ? sleep(Math.max(1, heldMs)) : yieldToEventLoop());
  }
}
