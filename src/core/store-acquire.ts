import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../errors.js';
import { callStore } from './_store-call.js';
import type { AcquireResult, SessionStore } from '../stores/types.js';

/** First pause between attempts while another process holds the lease, in ms. */
const FIRST_PAUSE_MS = 2;
/** Largest pause between attempts, in ms. */
export const MAX_PAUSE_MS = 50;

/**
 * Keep trying for the store lease on `key` after an attempt found it `busy`, until
 * `deadline` (epoch ms, local clock). The first attempt is the caller's own, made inline,
 * because a further async layer on every request costs a turn of the microtask queue.
 * Uses the store's release notifications when it has them (a store may hand the lease
 * straight over with one) and falls back to polling with full-jitter exponential
 * backoff, so many waiters do not retry in lockstep. Every attempt uses the same
 * `token`, so a lease handed over to it is found by the next attempt too. A waiter that
 * gives up tells the store (`stopWaiting`) without waiting for it; a failure of that is
 * passed to `report`, since the caller receives the reason it gave up.
 * Resolves with `acquired` or `missing`; never with `busy`.
 *
 * @throws LockTimeoutError when `deadline` passes first.
 */
export async function acquireAfterBusy(
  store: SessionStore,
  key: string,
  token: string,
  leaseMs: number,
  deadline: number,
  startedAt: number,
  report: (error: unknown) => void,
): Promise<Exclude<AcquireResult, { status: 'busy' }>> {
  try {
    let pauseMs = FIRST_PAUSE_MS;
    const { waitForRelease } = store;
    for (;;) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new LockTimeoutError(Date.now() - startedAt);
      if (waitForRelease !== undefined) {
        // A notification can be missed (sent before we subscribed), so the wait is still
        // bounded by the backoff pause and the attempt repeated.
        const waitMs = Math.min(remainingMs, MAX_PAUSE_MS * 4);
        const handedOver = await callStore(store, 'waitForRelease', () => waitForRelease.call(store, key, waitMs, token));
        if (handedOver !== undefined) return handedOver;
      } else {
        await sleep(Math.min(remainingMs, 1 + Math.random() * pauseMs));
        pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
      }
      const result = await callStore(store, 'acquire', () => store.acquire(key, token, leaseMs));
      if (result.status !== 'busy') return result;
    }
  } catch (error) {
    if (store.stopWaiting !== undefined) {
      // Not awaited: against a store that does not answer it would hold the caller past its deadline.
      const { stopWaiting } = store;
      callStore(store, 'stopWaiting', () => stopWaiting.call(store, key, token)).catch(report);
    }
    throw error;
  }
}
