import { LockTimeoutError } from '../errors.js';
import { MAX_PAUSE_MS } from './store-acquire.js';

interface Waiter<T> {
  readonly resolve: (handoff: T | undefined) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A session's queue; it exists exactly while one request of this process is inside (holding or contending for the store lease). */
interface Queue<T> {
  /** When the current run of back-to-back local hand-offs began (epoch ms). */
  chainStartedAt: number;
  /** The run was cut to let other processes in: the next waiter steps back before competing. */
  yieldNext: boolean;
  readonly waiters: Waiter<T>[];
}

/** Limits of the in-process queues. */
export interface LocalLockLimits {
  /** Most requests that may wait for one session in this process. */
  readonly maxWaiters: number;
  /**
   * Longest run of back-to-back local hand-offs, in ms, before the lease goes back to the
   * store so that waiters in other processes get their turn.
   */
  readonly handoffWindowMs: number;
}

/**
 * Per-session FIFO queues inside one process. Only the head of a queue talks to the
 * store; the others wait here without polling. When the head finishes it can pass what
 * it holds (the lease and the record as its commit writes it) straight to the next
 * waiter, which then needs no store round trip at all. Waiters never block other
 * sessions: queues are per key and dropped as soon as they are empty.
 */
export class LocalLocks<T> {
  readonly #queues = new Map<string, Queue<T>>();
  readonly #limits: LocalLockLimits;

  constructor(limits: LocalLockLimits) {
    this.#limits = limits;
  }

  /**
   * Take `key` at once if nobody of this process is inside: true means the caller is in
   * and must take the lease from the store itself, as after `enter` resolved `undefined`.
   * The common case of a session with one request at a time, without a promise.
   */
  tryEnter(key: string): boolean {
    if (this.#queues.has(key)) return false;
    this.#queues.set(key, { chainStartedAt: Date.now(), yieldNext: false, waiters: [] });
    return true;
  }

  /**
   * Wait for our turn on `key`. Resolves with what the previous holder handed off, or
   * `undefined` when the caller must take the lease from the store itself.
   * Rejects with `LockTimeoutError` after `waitMs`, or at once when the queue is full.
   */
  enter(key: string, waitMs: number): Promise<T | undefined> {
    if (this.tryEnter(key)) return Promise.resolve(undefined);
    const queue = this.#queues.get(key) as Queue<T>;
    if (queue.waiters.length >= this.#limits.maxWaiters) {
      return Promise.reject(new LockTimeoutError(0, 'too many requests are waiting for the session'));
    }
    const owner = queue;
    return new Promise<T | undefined>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        const index = owner.waiters.indexOf(waiter);
        if (index !== -1) owner.waiters.splice(index, 1);
        reject(new LockTimeoutError(waitMs));
      }, waitMs);
      owner.waiters.push(waiter);
    });
  }

  /**
   * True when the holder of `key` should pass it on (`handOff`) rather than release it
   * to the store. With `othersMayWait` (the store is shared by other processes) a run of
   * hand-offs is cut after `handoffWindowMs`, and the next waiter then pauses as long as
   * a polling waiter elsewhere may sleep, so that one can take the lease first: without
   * that pause the process that just released would win again at once, and others would
   * starve.
   */
  shouldHandOff(key: string, othersMayWait: boolean): boolean {
    const queue = this.#queues.get(key);
    if (queue === undefined || queue.waiters.length === 0) return false;
    if (!othersMayWait || Date.now() - queue.chainStartedAt < this.#limits.handoffWindowMs) return true;
    queue.yieldNext = true;
    return false;
  }

  /**
   * Pass `handoff` to the next waiter of `key`, which goes in holding it; true when one
   * took it. Without a waiter nothing changes and the caller is still inside: unlike
   * `leave`, the queue is never dropped, so a caller whose write is still in flight keeps
   * newcomers of this process out of the store until it calls `leave`.
   */
  handOff(key: string, handoff: T): boolean {
    const next = this.#queues.get(key)?.waiters.shift();
    if (next === undefined) return false;
    clearTimeout(next.timer);
    next.resolve(handoff);
    return true;
  }

  /** Leave `key`: the next waiter (if any) is told to go to the store. */
  leave(key: string): void {
    const queue = this.#queues.get(key);
    if (queue === undefined) return;
    const next = queue.waiters.shift();
    if (next === undefined) {
      this.#queues.delete(key);
      return;
    }
    queue.chainStartedAt = Date.now();
    if (queue.yieldNext) {
      queue.yieldNext = false;
      // The waiter's own timeout keeps running, so the pause never extends its wait.
      setTimeout(() => {
        clearTimeout(next.timer);
        next.resolve(undefined);
      }, Math.random() * MAX_PAUSE_MS);
      return;
    }
    clearTimeout(next.timer);
    next.resolve(undefined);
  }

  /** Number of sessions with a queue, for tests and metrics. */
  get size(): number {
    return this.#queues.size;
  }
}
