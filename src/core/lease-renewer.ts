import { performance } from 'node:perf_hooks';

/** What the renewer keeps on each held session (fields of its state). */
export interface Renewable {
  /** When the lease is next renewed (`performance.now()` ms). */
  renewAt: number;
  /** After this (`performance.now()` ms) the lease is no longer renewed: `lock.maxHoldMs`. */
  renewUntil: number;
  /** Neighbours in the renewer's list; both undefined when not in it (or alone in it). */
  renewPrev: Renewable | undefined;
  renewNext: Renewable | undefined;
}

/** How the renewer renews, and how often. */
export interface LeaseRenewerOptions<T extends Renewable> {
  /** Pause between renewals of one lease, in ms (a third of the lease). */
  readonly everyMs: number;
  /** Longest a lease is renewed, in ms. */
  readonly maxHoldMs: number;
  /** Renew the lease of `held` in the store. */
  readonly renew: (held: T) => Promise<void>;
  /** Receives a renewal's failure, which no caller could. */
  readonly report: (error: unknown) => void;
}

/**
 * Renews the leases of every session held by this process with one timer, instead of a
 * timer per request: setting and clearing an interval per request showed in the profile
 * of short requests, which never renew at all. Leases are kept in a list in the order
 * they fall due (all share one period, and each renewal moves its lease to the back), so
 * the timer only ever looks at the front and sleeps until the first is due. The list is
 * linked through the sessions' own fields: joining and leaving it allocate and hash
 * nothing, which a `Set` did on every request.
 *
 * @internal
 */
export class LeaseRenewer<T extends Renewable> {
  readonly #options: LeaseRenewerOptions<T>;
  #first: Renewable | undefined;
  #last: Renewable | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LeaseRenewerOptions<T>) {
    this.#options = options;
  }

  /** Start renewing the lease of `held`, a third of a lease from now. */
  hold(held: T): void {
    const now = performance.now();
    held.renewUntil = now + this.#options.maxHoldMs;
    this.#append(held, now);
    if (this.#timer === undefined) this.#schedule(this.#options.everyMs);
  }

  /** Stop renewing the lease of `held` (committed, aborted, or lost); nothing if it is not held. */
  drop(held: T): void {
    this.#unlink(held);
  }

  #append(held: Renewable, now: number): void {
    held.renewAt = now + this.#options.everyMs;
    held.renewPrev = this.#last;
    held.renewNext = undefined;
    if (this.#last === undefined) this.#first = held;
    else this.#last.renewNext = held;
    this.#last = held;
  }

  #unlink(held: Renewable): void {
    const { renewPrev: prev, renewNext: next } = held;
    if (prev === undefined && this.#first !== held) return;
    if (prev === undefined) this.#first = next;
    else prev.renewNext = next;
    if (next === undefined) this.#last = prev;
    else next.renewPrev = prev;
    held.renewPrev = undefined;
    held.renewNext = undefined;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => this.#renewDue(), Math.max(1, delayMs));
    this.#timer.unref();
  }

  #renewDue(): void {
    this.#timer = undefined;
    const now = performance.now();
    // Renewed leases go to the back with a later time, so the loop ends at the first
    // lease that is not due, at the latest at the first one it renewed.
    for (let held = this.#first; held !== undefined; held = this.#first) {
      if (held.renewAt > now) {
        this.#schedule(held.renewAt - now);
        return;
      }
      this.#unlink(held);
      if (now >= held.renewUntil) continue;
      this.#append(held, now);
      this.#options.renew(held as T).catch(this.#options.report);
    }
  }
}
