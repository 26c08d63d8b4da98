import { EventEmitter } from 'node:events';
import { SessionError, StoreError } from '../errors.js';
import { createStore } from '../stores/create-store.js';
import type { AcquireResult, Lease, SessionStore, StoredRecord } from '../stores/types.js';
import { Committer, type Handoff } from './_commit.js';
import { callStore, storeFailure } from './_store-call.js';
import { readCookie } from './cookie-header.js';
import { createLeaseToken } from './ids.js';
import { LeaseRenewer } from './lease-renewer.js';
import { LocalLocks } from './local-locks.js';
import { assertLockMode, resolveOptions, type LockMode, type ResolvedOptions, type SessionManagerOptions } from './options.js';
import { Session, kState, type SessionData, type SessionState } from './session.js';
import { acquireAfterBusy } from './store-acquire.js';
import type { SweepOptions, SweepProgress, SweepResult } from './sweep.js';
import { BackgroundSweeper, sweepSingleFlight } from './sweeper.js';
import { VerifiedCookies } from './verified-cookies.js';

/** Per-request options of `manager.open`. */
export interface OpenOptions {
  /** Lock mode for this request. @default the manager's `lock.mode` */
  mode?: LockMode;
  /** The request came over https (decides `Secure` when `cookie.secure` is `'auto'`). @default false */
  secure?: boolean;
  /** Makes the id of a new or regenerated session in this request. @default the manager's `ids.create` */
  createId?: () => string;
}

/** Events a manager emits. */
export interface SessionManagerEvents {
  /**
   * A failure off the request path (a lease renewal, a hand-off release) that no caller
   * could receive. Without a listener it becomes a process warning; it never crashes.
   */
  error: [error: SessionError];
  /** A sweep finished (also one skipped because another sweeper in the cluster held the lease). */
  sweep: [result: SweepResult];
  /** A running sweep finished a batch that left more to do. */
  sweepProgress: [progress: SweepProgress];
}

/**
 * Opens and commits sessions: the framework-neutral core that adapters call. It knows
 * nothing of the store behind it beyond the store contract.
 */
export class SessionManager extends EventEmitter<SessionManagerEvents> {
  /** Options after defaults. */
  readonly options: ResolvedOptions;
  readonly #store: Promise<SessionStore>;
  /** The store once `#store` resolved: awaiting a settled promise still costs a turn of the microtask queue per request. */
  #ready: SessionStore | undefined;
  readonly #ownsStore: boolean;
  readonly #locks: LocalLocks<Handoff>;
  readonly #committer: Committer;
  readonly #cookies: VerifiedCookies;
  readonly #renewer: LeaseRenewer<SessionState>;
  /** Handed to every `Session`, so none needs a closure of its own. */
  readonly #commitSession = (session: Session): Promise<string | undefined> => this.commit(session);
  #sweeper: BackgroundSweeper | undefined;
  #closed = false;

  constructor(options: SessionManagerOptions) {
    super();
    this.options = resolveOptions(options);
    this.#ownsStore = typeof options.store === 'string';
    this.#store = typeof options.store === 'string' ? createStore(options.store) : Promise.resolve(options.store);
    // An unreachable URL store fails the first request, and close(); not an unhandled rejection.
    this.#store.then(
      (store) => {
        this.#ready = store;
      },
      () => undefined,
    );
    this.#locks = new LocalLocks(this.options.lock);
    this.#cookies = new VerifiedCookies(this.options.ids, this.options.secrets);
    const { leaseMs, maxHoldMs } = this.options.lock;
    this.#renewer = new LeaseRenewer<SessionState>({
      everyMs: Math.max(1, Math.floor(leaseMs / 3)),
      maxHoldMs,
      renew: (state) => this.#renewLease(state),
      report: (error) => this.#report(error),
    });
    this.#committer = new Committer({
      options: this.options,
      store: this.#store,
      ready: () => this.#ready,
      locks: this.#locks,
      report: (error) => this.#report(error),
    });
    if (this.options.sweep.background) {
      this.#store.then(
        (store) => this.#startSweeper(store),
        () => undefined,
      );
    }
  }

  /** Stores whose records expire by themselves need no sweeper. */
  #startSweeper(store: SessionStore): void {
    if (this.#closed || store.capabilities.nativeExpiry || store.sweep === undefined) return;
    this.#sweeper = new BackgroundSweeper(
      (signal) => this.#sweep({}, signal),
      this.options.sweep.intervalMs,
      (error) => this.#report(error),
    );
    this.#sweeper.start();
  }

  /** The store, once ready. */
  store(): Promise<SessionStore> {
    return this.#store;
  }

  /**
   * Open the session named by a `Cookie` request header. A missing, malformed, forged,
   * unknown or expired cookie gives a new, empty session without an error, and a bad
   * signature costs no store call. In `exclusive` mode this waits (at most
   * `lock.waitMs`) for other requests of the same session.
   *
   * @throws LockTimeoutError when the session stayed locked for `lock.waitMs`.
   * @throws StoreError when the store failed; the cause is attached.
   */
  open(cookieHeader: string | null | undefined, options: OpenOptions = {}): Promise<Session> {
    // Not async: the exclusive path's promise goes back as it is, a microtask turn fewer
    // per request; a synchronous failure still arrives as a rejection.
    try {
      const mode = options.mode ?? this.options.lock.mode;
      assertLockMode(mode);
      const secure = options.secure ?? false;
      const createId = options.createId ?? this.options.ids.create;
      const raw = readCookie(cookieHeader, this.options.cookie.name);
      const verified = raw === undefined ? undefined : this.#cookies.resolve(raw);
      if (verified === undefined) return Promise.resolve(this.#newSession(mode, secure, false, createId));
      const { id, key } = verified;
      if (mode === 'exclusive') return this.#openExclusive(id, key, secure, createId);
      return this.#openUnlocked(mode, secure, id, key, createId);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async #openUnlocked(mode: LockMode, secure: boolean, id: string, key: string, createId: () => string): Promise<Session> {
    const store = this.#ready ?? (await this.#store);
    const record = await callStore(store, 'read', () => store.read(key));
    if (record === null) return this.#newSession(mode, secure, true, createId);
    return this.#loaded(mode, secure, id, key, record, undefined, createId);
  }

  async #openExclusive(id: string, key: string, secure: boolean, createId: () => string): Promise<Session> {
    const startedAt = Date.now();
    const { waitMs, leaseMs } = this.options.lock;
    const handoff = this.#locks.tryEnter(key) ? undefined : await this.#locks.enter(key, waitMs);
    if (handoff !== undefined) {
      return this.#loaded('exclusive', secure, id, key, handoff.record, handoff.lease, createId);
    }
    let result: AcquireResult;
    try {
      const store = this.#ready ?? (await this.#store);
      const token = createLeaseToken();
      try {
        result = await store.acquire(key, token, leaseMs);
      } catch (error) {
        throw storeFailure(store, 'acquire', error);
      }
      if (result.status === 'busy') {
        result = await acquireAfterBusy(store, key, token, leaseMs, startedAt + waitMs, startedAt, (error) => this.#report(error));
      }
    } catch (error) {
      this.#locks.leave(key);
      throw error;
    }
    if (result.status === 'missing') {
      this.#locks.leave(key);
      return this.#newSession('exclusive', secure, true, createId);
    }
    return this.#loaded('exclusive', secure, id, key, result.record, result.lease, createId);
  }

  /** Not async: the common case needs no turn of the microtask queue. */
  #loaded(
    mode: LockMode,
    secure: boolean,
    id: string,
    key: string,
    record: StoredRecord,
    lease: Lease | undefined,
    createId: () => string,
  ): Session | Promise<never> {
    let data: SessionData;
    try {
      data = this.options.serializer.parse(record.data);
    } catch (error) {
      // Unreadable bytes are a store or serializer fault, not the visitor's: report it,
      // and give the lease back so the session does not stay locked.
      if (lease === undefined) throw error;
      return this.#releaseThenThrow(key, lease, error);
    }
    const state = this.#state(mode, secure, true, id, data, createId);
    state.key = key;
    state.record = record;
    state.lease = lease;
    state.loadedText = record.data;
    if (lease !== undefined) this.#renewer.hold(state);
    return new Session(state, this.#commitSession);
  }

  async #releaseThenThrow(key: string, lease: Lease, error: unknown): Promise<never> {
    await this.#committer.releaseLease(key, lease);
    throw error;
  }

  #newSession(mode: LockMode, secure: boolean, hadCookie: boolean, createId: () => string): Session {
    const state = this.#state(mode, secure, hadCookie, createId(), {}, createId);
    return new Session(state, this.#commitSession);
  }

  #state(
    mode: LockMode,
    secure: boolean,
    hadCookie: boolean,
    id: string,
    data: SessionData,
    createId: () => string,
  ): SessionState {
    return {
      createId,
      mode,
      secure,
      hadCookie,
      key: undefined,
      record: null,
      lease: undefined,
      loadedText: undefined,
      id,
      data,
      phase: 'open',
      destroyed: false,
      regenerated: false,
      touched: false,
      lost: false,
      renewAt: 0,
      renewUntil: 0,
      renewPrev: undefined,
      renewNext: undefined,
      setCookie: undefined,
    };
  }

  /** Called by the renewer while `state` holds its lease. */
  async #renewLease(state: SessionState): Promise<void> {
    const { key, lease } = state;
    if (key === undefined || lease === undefined || state.phase !== 'open') return;
    const store = this.#ready ?? (await this.#store);
    const held = await callStore(store, 'renew', () => store.renew(key, lease.token, this.options.lock.leaseMs));
    if (!held) {
      state.lost = true;
      this.#renewer.drop(state);
    }
  }

  /**
   * Save what the request changed and release the lock, in one store round trip in the
   * common case. Answers the `Set-Cookie` value the response must carry, or undefined.
   * Calling it again (after `session.release()`) answers the same and does nothing.
   *
   * @throws LockLostError when the lease lapsed and another request took the session.
   * @throws ConflictError when an optimistic save found the session changed or locked.
   * @throws SessionDestroyedError when the session was destroyed meanwhile.
   * @throws SerializationError / TooLargeError when the data cannot be stored; the stored session is unchanged.
   */
  commit(session: Session): Promise<string | undefined> {
    const state = session[kState];
    if (state.phase !== 'open') return Promise.resolve(state.setCookie);
    state.phase = 'released';
    this.#renewer.drop(state);
    return this.#committer.commit(state);
  }

  /**
   * Give the lock back without saving anything: for a request whose handler failed.
   * A failure to release is reported as an `error` event, since the caller is already
   * handling an error of its own; the lease then lapses by itself.
   */
  async abort(session: Session): Promise<void> {
    const state = session[kState];
    if (state.phase !== 'open') return;
    state.phase = 'released';
    this.#renewer.drop(state);
    if (state.key !== undefined && state.lease !== undefined) await this.#committer.releaseLease(state.key, state.lease);
  }

  #report(error: unknown): void {
    const wrapped = error instanceof SessionError ? error : new StoreError('unknown', 'background', { cause: error });
    if (this.listenerCount('error') > 0) this.emit('error', wrapped);
    else process.emitWarning(wrapped);
  }

  /**
   * Run one sweep now: remove sessions expired for longer than `graceMs` and not locked,
   * in batches with pauses so requests keep flowing, within the time budget. If another
   * sweeper anywhere in the cluster is running, answers at once with `skipped: true`.
   * Stores with native expiry answer zero counts. Options default to the manager's
   * `sweep` options. Emits `sweepProgress` after batches and `sweep` at the end.
   *
   * @throws StoreError when the store failed; the cause is attached.
   */
  async sweep(options: SweepOptions = {}): Promise<SweepResult> {
    return this.#sweep(options, undefined);
  }

  async #sweep(options: SweepOptions, signal: AbortSignal | undefined): Promise<SweepResult> {
    const store = await this.#store;
    const result = await sweepSingleFlight(
      store,
      { ...this.options.sweep, ...options },
      { signal, onProgress: (progress) => this.emit('sweepProgress', progress) },
    );
    this.emit('sweep', result);
    return result;
  }

  /** Stop background work and close the store if the manager opened it from a URL. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#sweeper?.stop();
    if (this.#ownsStore) await (await this.#store).close();
  }
}

/**
 * Create a session manager.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: 'sqlite:./data/sessions.db', secret: process.env.SESSION_SECRET });
 * const session = await sessions.open(req.headers.cookie);
 * session.data.hits = (session.data.hits ?? 0) + 1;
 * const setCookie = await sessions.commit(session);
 * ```
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  return new SessionManager(options);
}
