/**
 * The store contract: the few whole session operations a backend must make atomic.
 *
 * A store never parses cookies and never computes expiry; it keys every record on the
 * SHA-256 of the session id (`key`) and compares instants on its own clock. The core
 * (`SessionManager`) holds all policy: timeouts, lock modes, retries, hand-offs.
 *
 * @module
 */

/** One session as the store holds it. All instants are epoch milliseconds. */
export interface StoredRecord {
  /** The serialized session data, exactly as the serializer produced it. */
  readonly data: string;
  /** When the session was first saved. */
  readonly createdAt: number;
  /** When the session stops being served. A record at or past this instant is "none". */
  readonly expiresAt: number;
  /** Bumped by every write that changes `data`; touches keep it. Starts at 1. */
  readonly version: number;
}

/** An exclusive lease on one record, held by whoever knows `token`. */
export interface Lease {
  /** Random token that fences every write made under this lease. */
  readonly token: string;
  /** When the lease lapses, on the store's clock (epoch ms). */
  readonly until: number;
}

/** What one acquire attempt answered. Exactly one store round trip produced it. */
export type AcquireResult =
  | { readonly status: 'acquired'; readonly record: StoredRecord; readonly lease: Lease }
  /** Someone else holds a live lease; `leaseUntil` is when it lapses unless renewed. */
  | { readonly status: 'busy'; readonly leaseUntil: number }
  /** No record, or an expired one: the caller starts a new session. No lease is taken. */
  | { readonly status: 'missing' };

/**
 * The condition a write is made under; the store checks it in the same atomic step
 * as the write, which is what makes every write fenced.
 */
export type WriteGuard =
  /** Exclusive mode: the record's lease token must still be `token`. */
  | { readonly kind: 'lease'; readonly token: string }
  /**
   * Optimistic mode: the record's version must still be `version`, and no other
   * request may hold a live lease on it.
   */
  | { readonly kind: 'version'; readonly version: number }
  /** A brand-new session: the record must not exist yet. */
  | { readonly kind: 'create' }
  /** Last writer wins (`none` mode, and read-only touches): the record must exist. */
  | { readonly kind: 'exists' };

/** What a write does once its guard holds. */
export type WriteOp =
  | {
      readonly kind: 'save';
      /** New serialized data; `undefined` keeps the stored data and version (a touch). */
      readonly data: string | undefined;
      /** New expiry; `undefined` keeps the stored one (throttled touch). Required for `create`. */
      readonly expiresAt: number | undefined;
      /** Only for `create`. */
      readonly createdAt?: number;
      /**
       * With a `lease` guard: keep the lease for this many more ms instead of releasing it,
       * so the core can hand it to the next waiter in this process without a round trip.
       */
      readonly holdMs?: number;
    }
  /** Remove the record. */
  | { readonly kind: 'delete' }
  /** With a `lease` guard: give the lease up and change nothing else. */
  | { readonly kind: 'release' };

/** What one write answered. */
export type WriteResult =
  /** Done. `version` is the record's version after the write (absent for deletes and releases). */
  | { readonly status: 'ok'; readonly version?: number; readonly leaseUntil?: number }
  /** The lease token no longer matches: someone took the lapsed lease over. */
  | { readonly status: 'lost' }
  /** The record is gone (destroyed or expired and swept), and the guard needed it. */
  | { readonly status: 'gone' }
  /** Version moved on, a live lease is held by someone else, or `create` found a record. */
  | { readonly status: 'conflict' };

/** Limits of one sweep batch. */
export interface SweepBatchOptions {
  /** Only records expired for longer than this are removed. */
  readonly graceMs: number;
  /** At most this many records are removed by the batch. */
  readonly limit: number;
}

/** What one sweep batch did. */
export interface SweepBatchResult {
  /** Records removed. */
  readonly deleted: number;
  /** True when more may be left: the batch hit `limit`, or ended early (`yielded`). */
  readonly more: boolean;
  /**
   * For a batch that ran off the event loop but held a lock that requests' writes wait
   * for (SQLite's worker thread holds the database's write lock): how long, in ms. The
   * sweep sizes batches and pauses by it as it does by event-loop time.
   */
  readonly lockMs?: number;
  /**
   * True when the batch ended before `limit` because a request asked for the lock it held
   * (SQLite's worker hands the write lock over this way). Its length then says nothing of
   * how long a whole batch would hold it, so the sweep keeps its batch size.
   */
  readonly yielded?: boolean;
}

/** What a store can promise, as data, so the core and the conformance suite can read it. */
export interface StoreCapabilities {
  /** Locks hold across the processes of one host. */
  readonly crossProcess: boolean;
  /** Locks hold across hosts that share the store. */
  readonly crossHost: boolean;
  /** Records expire by themselves (no sweeping needed). */
  readonly nativeExpiry: boolean;
  /** The store can wake a waiter in another process when a lease is released. */
  readonly notifications: boolean;
}

/**
 * A session store. Every method is one atomic operation, and, in the common case,
 * one round trip to the backend. Infrastructure failures reject with whatever the
 * driver threw; the core wraps them in `StoreError` with the cause attached.
 */
export interface SessionStore {
  /** Short name used in error messages and logs, e.g. `sqlite`. */
  readonly name: string;
  /** What the store can promise. */
  readonly capabilities: StoreCapabilities;
  /**
   * One attempt to take the exclusive lease on `key` and load its record in the same
   * atomic step. Never waits for a busy lease: the core decides how to wait.
   */
  acquire(key: string, token: string, leaseMs: number): Promise<AcquireResult>;
  /** A lock-free snapshot; `null` when missing or expired. Takes no lease. */
  read(key: string): Promise<StoredRecord | null>;
  /** One guarded write: the guard is checked and the write made in one atomic step. */
  write(key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult>;
  /** Extend a lease we still hold; false when it was taken over or the record is gone. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /**
   * Remove up to `limit` records expired by more than `graceMs` and not under a live
   * lease, re-checking both conditions at the moment of removal. Absent on stores
   * with native expiry.
   */
  sweep?(options: SweepBatchOptions): Promise<SweepBatchResult>;
  /**
   * Resolves when the lease on `key` may have been released, or after `timeoutMs`,
   * whichever is first; the caller then tries `acquire` again with the same `token`.
   * A store that hands a released lease straight over to a waiting token (PostgreSQL
   * does) resolves with it as `acquired` instead, sparing that round trip. Present
   * when `capabilities.notifications` is true.
   */
  waitForRelease?(key: string, timeoutMs: number, token: string): Promise<Extract<AcquireResult, { status: 'acquired' }> | undefined>;
  /**
   * The waiter holding `token` gave up on `key` (timed out or failed): a store that may
   * hand a lease over to a waiting token takes its place back, and the lease if it was
   * already handed over. Absent on stores that never hand over.
   */
  stopWaiting?(key: string, token: string): Promise<void>;
  /** Release what the store opened. Never closes a client the caller passed in. */
  close(): Promise<void>;
}
