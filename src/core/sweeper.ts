/**
 * Single-flight sweeping for stores whose records do not expire by themselves.
 *
 * At most one sweep runs at a time in the whole cluster, however many instances share
 * the store: a sweep first takes an ordinary session lease on a reserved record of the
 * store itself (`SWEEPER_KEY`), with the same atomic acquire every request uses, and
 * gives it back when done. A crashed sweeper's lease simply lapses. Concurrent cleanups
 * piling up until a server fell from 400 to 20 requests/s is exactly what this prevents
 * (seed 001).
 *
 * @module
 */
import { StoreError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';
import { createLeaseToken } from './ids.js';
import { runSweep, sweepDefaults, type SweepOptions, type SweepProgress, type SweepResult } from './sweep.js';

/**
 * The store key of the sweeper lease. Session keys are always 64 hex digits (a
 * SHA-256), so no session can collide with it; every store accepts it as a key.
 */
export const SWEEPER_KEY = 'sweeper';

/** The lease record never expires (year 9999, representable by every store's integer and date types). */
const LEASE_RECORD_EXPIRES_AT = Date.UTC(9999, 0, 1);

/** Options of one single-flight sweep. */
export interface SingleFlightOptions extends SweepOptions {
  /**
   * Length of the sweeper lease, in ms; renewed after batches at a third of it. A
   * sweeper that dies keeps others from sweeping for at most this long. @default 60000
   */
  leaseMs?: number;
}

/** Hooks of one single-flight sweep. */
export interface SingleFlightHooks {
  /** Called after each batch. */
  readonly onProgress?: (progress: SweepProgress) => void;
  /** Stops the sweep between batches. */
  readonly signal?: AbortSignal;
  /**
   * Called right after the lease is taken and right before it is given back: the
   * exclusive section. For tests that check that sweeps never overlap.
   */
  readonly onExclusive?: (phase: 'start' | 'end') => void | Promise<void>;
}

const SKIPPED: SweepResult = { deleted: 0, batches: 0, durationMs: 0, incomplete: false, maxBatchBlockMs: 0, skipped: true };

async function call<T>(store: SessionStore, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new StoreError(store.name, operation, { cause: error });
  }
}

/** Take the sweeper lease, creating its record on first use. Answers the token, or undefined when busy. */
async function takeLease(store: SessionStore, leaseMs: number): Promise<string | undefined> {
  const token = createLeaseToken();
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const result = await call(store, 'sweep lease', () => store.acquire(SWEEPER_KEY, token, leaseMs));
    if (result.status === 'acquired') return token;
    if (result.status === 'busy') return undefined;
    const now = Date.now();
    // `create` lets exactly one of several first sweepers make the record; the others
    // find it on their second attempt and compete for the lease like anyone else.
    await call(store, 'sweep lease', () =>
      store.write(SWEEPER_KEY, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: LEASE_RECORD_EXPIRES_AT, createdAt: now }),
    );
  }
  return undefined;
}

/**
 * Run one sweep if no other sweeper in the cluster is running one; otherwise answer at
 * once with `skipped: true`. Store failures reject with `StoreError`.
 */
export async function sweepSingleFlight(
  store: SessionStore,
  options: SingleFlightOptions = {},
  hooks: SingleFlightHooks = {},
): Promise<SweepResult> {
  if (store.sweep === undefined) return { ...SKIPPED, skipped: false };
  const leaseMs = options.leaseMs ?? 60_000;
  const token = await takeLease(store, leaseMs);
  if (token === undefined) return SKIPPED;
  let renewedAt = Date.now();
  try {
    await hooks.onExclusive?.('start');
    const result = await runSweep(store, sweepDefaults(options), {
      signal: hooks.signal,
      afterBatch: async (progress) => {
        hooks.onProgress?.(progress);
        if (Date.now() - renewedAt < leaseMs / 3) return true;
        renewedAt = Date.now();
        // A lost lease means another sweeper may have started: stop rather than overlap.
        return call(store, 'sweep lease', () => store.renew(SWEEPER_KEY, token, leaseMs));
      },
    });
    await hooks.onExclusive?.('end');
    return result;
  } finally {
    // 'lost' or 'gone' answers mean the lease is no longer ours anyway: nothing to give back.
    await call(store, 'sweep lease', () => store.write(SWEEPER_KEY, { kind: 'lease', token }, { kind: 'release' }));
  }
}

/**
 * Runs a sweep now and then, at a jittered interval, so instances started together do
 * not all try at the same instant. The timer never keeps the process alive, and a sweep
 * never overlaps the previous one of the same process (the next is scheduled when it ends).
 */
export class BackgroundSweeper {
  readonly #run: (signal: AbortSignal) => Promise<unknown>;
  readonly #onError: (error: unknown) => void;
  readonly #intervalMs: number;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  /**
   * @param run One sweep.
   * @param intervalMs Mean pause between sweeps; each pause is drawn from ±20 % of it.
   * @param onError Receives a failed sweep's error (the manager emits it as an `error` event).
   */
  constructor(run: (signal: AbortSignal) => Promise<unknown>, intervalMs: number, onError: (error: unknown) => void) {
    this.#run = run;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Schedule the first sweep. */
  start(): void {
    if (this.#abort.signal.aborted || this.#timer !== undefined) return;
    this.#schedule();
  }

  /** Stop scheduling, ask a running sweep to stop after its batch, and wait for it. */
  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    const delayMs = this.#intervalMs * (0.8 + 0.4 * Math.random());
    this.#timer = setTimeout(() => {
      this.#running = this.#run(this.#abort.signal)
        .then(
          () => undefined,
          (error: unknown) => this.#onError(error),
        )
        .finally(() => {
          this.#running = undefined;
          if (!this.#abort.signal.aborted) this.#schedule();
        });
    }, delayMs);
    this.#timer.unref();
  }
}
