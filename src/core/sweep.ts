import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { StoreError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';

/** Options of one sweep. */
export interface SweepOptions {
  /**
   * Only sessions expired for longer than this are removed, in ms, so a request that
   * loaded a session just before it expired can still save it. @default 60000
   */
  graceMs?: number;
  /** Records removed per batch; each batch is one short store operation. @default 500 */
  batchSize?: number;
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
  /** True when the time budget ran out before the backlog did. */
  readonly incomplete: boolean;
}

/**
 * Remove expired sessions in small batches, yielding to the event loop between them,
 * so requests interleave with a sweep of any size. Cost grows with the expired records
 * only: every store finds them through an index on expiry.
 */
export async function runSweep(store: SessionStore, options: SweepOptions = {}): Promise<SweepResult> {
  const graceMs = options.graceMs ?? 60_000;
  const limit = options.batchSize ?? 500;
  const budgetMs = options.budgetMs ?? 10_000;
  const startedAt = performance.now();
  let deleted = 0;
  let batches = 0;
  if (store.sweep === undefined) return { deleted, batches, durationMs: 0, incomplete: false };
  for (;;) {
    let result;
    try {
      result = await store.sweep({ graceMs, limit });
    } catch (error) {
      throw new StoreError(store.name, 'sweep', { cause: error });
    }
    deleted += result.deleted;
    batches += 1;
    const elapsedMs = performance.now() - startedAt;
    if (!result.more) return { deleted, batches, durationMs: elapsedMs, incomplete: false };
    if (elapsedMs >= budgetMs) return { deleted, batches, durationMs: elapsedMs, incomplete: true };
    await yieldToEventLoop();
  }
}
