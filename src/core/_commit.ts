import {
  ConflictError,
  LockLostError,
  SessionDestroyedError,
  TooLargeError,
} from '../errors.js';
import type { Lease, SessionStore, StoredRecord, WriteGuard, WriteOp, WriteResult } from '../stores/types.js';
import { CommitChains, type ChainOp, type Handoff } from './_commit-chain.js';
import { callStore, storeFailure } from './_store-call.js';
import { buildSetCookie } from './cookie-header.js';
import type { LocalLocks } from './local-locks.js';
import type { ResolvedOptions } from './options.js';
import type { SessionData, SessionState } from './session.js';

export type { Handoff } from './_commit-chain.js';

const DELETE: ChainOp = { kind: 'delete' };
const RELEASE: ChainOp = { kind: 'release' };

/** What the commit side needs from its manager. */
export interface CommitContext {
  readonly options: ResolvedOptions;
  readonly store: Promise<SessionStore>;
  /** The store once `store` resolved, so a commit need not wait a microtask turn for it. */
  readonly ready: () => SessionStore | undefined;
  readonly locks: LocalLocks<Handoff>;
  /** Reports a failure no caller can receive (the manager's `error` event). */
  readonly report: (error: unknown) => void;
}

/**
 * The commit side of a request: turns what the handler did to a session into the one
 * guarded store write it needs (or none), frees the in-process queue, and hands the
 * lease to the next local waiter when there is one, at once, while its write is in
 * flight (group commit, `_commit-chain.ts`).
 *
 * @internal
 */
export class Committer {
  readonly #options: ResolvedOptions;
  readonly #store: Promise<SessionStore>;
  readonly #ready: () => SessionStore | undefined;
  readonly #locks: LocalLocks<Handoff>;
  readonly #report: (error: unknown) => void;
  readonly #chains: CommitChains;

  constructor(context: CommitContext) {
    this.#options = context.options;
    this.#store = context.store;
    this.#ready = context.ready;
    this.#locks = context.locks;
    this.#report = context.report;
    this.#chains = new CommitChains(context.locks, context.options.lock.leaseMs, context.report);
  }

  /**
   * Commit `state`; answers the `Set-Cookie` value, or undefined, and keeps it as
   * `state.setCookie` itself: an async wrapper around this to keep it would cost every
   * request a turn of the microtask queue.
   */
  commit(state: SessionState): Promise<string | undefined> {
    const { key, lease } = state;
    return key !== undefined && lease !== undefined ? this.#commitLeased(state, key, lease) : this.#commitUnleased(state);
  }

  async #commitLeased(state: SessionState, key: string, lease: Lease): Promise<string | undefined> {
    const record = state.record as StoredRecord;
    let text: string | undefined;
    try {
      text = state.destroyed ? undefined : this.#serialize(state.data);
    } catch (error) {
      await this.releaseLease(key, lease);
      throw error;
    }
    if (state.lost) {
      await this.releaseLease(key, lease);
      throw new LockLostError('commit');
    }
    if (state.destroyed || state.regenerated) {
      const result = this.#chains.has(key)
        ? await this.#chains.submit(key, DELETE, undefined, this.#ready() ?? (await this.#store), lease.token)
        : await this.#writeThenLeave(key, { kind: 'lease', token: lease.token }, { kind: 'delete' });
      if (result.status !== 'gone') this.#check(result, 'destroy');
      return this.#commitNew(state, text);
    }
    const changed = text !== state.loadedText;
    const expiresAt = this.#expiryFor(record.createdAt, Date.now());
    const touchDue = this.#touchDue(state, record, expiresAt);
    const store = this.#ready() ?? (await this.#store);
    const handOff = this.#locks.shouldHandOff(key, store.capabilities.crossProcess);
    const data = changed ? text : undefined;
    const newExpiry = touchDue ? expiresAt : undefined;
    let result: WriteResult;
    if (handOff || this.#chains.has(key)) {
      result = await this.#chains.submit(
        key,
        { kind: 'save', data, expiresAt: newExpiry },
        handOff ? this.#handoffAfter(record, lease, data, newExpiry) : undefined,
        store,
        lease.token,
      );
    } else {
      // Alone with the session: one write that saves and releases, then leave the queue.
      try {
        result = await store.write(key, { kind: 'lease', token: lease.token }, { kind: 'save', data, expiresAt: newExpiry });
      } catch (error) {
        this.#locks.leave(key);
        throw storeFailure(store, 'write', error);
      }
      this.#locks.leave(key);
    }
    this.#check(result, 'save');
    return this.#remember(state, touchDue ? this.#persistentCookie(state, expiresAt) : undefined);
  }

  /**
   * What the next waiter receives: the record as this commit's write will make it, so its
   * handler can run while that write is in flight. The version is an estimate and the
   * lease's `until` the old one; leased commits use neither (see `Handoff`).
   */
  #handoffAfter(record: StoredRecord, lease: Lease, data: string | undefined, expiresAt: number | undefined): Handoff {
    return {
      record: {
        data: data ?? record.data,
        createdAt: record.createdAt,
        expiresAt: expiresAt ?? record.expiresAt,
        version: data === undefined ? record.version : record.version + 1,
      },
      lease,
    };
  }

  async #commitUnleased(state: SessionState): Promise<string | undefined> {
    const { key, record } = state;
    const text = state.destroyed ? undefined : this.#serialize(state.data);
    if (record === null || key === undefined) return this.#commitNew(state, text);
    // Optimistic writes are fenced by the version they read; `none` and read-only touches only need the record to exist.
    const guard: WriteGuard =
      state.mode === 'optimistic' ? { kind: 'version', version: record.version } : { kind: 'exists' };
    if (state.destroyed || state.regenerated) {
      const result = await this.#storeWrite(key, guard, { kind: 'delete' });
      if (result.status !== 'gone' || state.mode === 'optimistic') this.#check(result, 'destroy');
      return this.#commitNew(state, text);
    }
    const changed = state.mode !== 'readonly' && text !== state.loadedText;
    const expiresAt = this.#expiryFor(record.createdAt, Date.now());
    const touchDue = this.#touchDue(state, record, expiresAt);
    if (!changed && !touchDue) return undefined;
    const result = changed
      ? await this.#storeWrite(key, guard, { kind: 'save', data: text, expiresAt: touchDue ? expiresAt : undefined })
      : await this.#storeWrite(key, { kind: 'exists' }, { kind: 'save', data: undefined, expiresAt });
    this.#check(result, changed ? 'save' : 'touch');
    return this.#remember(state, touchDue ? this.#persistentCookie(state, expiresAt) : undefined);
  }

  /**
   * Whether to write a new expiry. Also when the data changed, it is written only once it
   * gains `touchAfter`: an unchanged indexed column lets PostgreSQL update in place (HOT)
   * and spares the SQL stores an index write per request; idle expiry drifts by at most
   * `touchAfter`.
   */
  #touchDue(state: SessionState, record: StoredRecord, expiresAt: number): boolean {
    return state.touched || expiresAt - record.expiresAt >= this.#options.touchAfterMs;
  }

  async #commitNew(state: SessionState, text: string | undefined): Promise<string | undefined> {
    if (state.destroyed || text === undefined) {
      return this.#remember(state, state.hadCookie ? buildSetCookie(this.#options.cookie, null, state.secure) : undefined);
    }
    // Lazy sessions: nothing to keep means nothing stored and no cookie (no store call, no tracking).
    if (text === '{}' && !state.touched && !state.regenerated) return undefined;
    const now = Date.now();
    const expiresAt = this.#expiryFor(now, now);
    const result = await this.#storeWrite(
      this.#options.ids.storeKey(state.id),
      { kind: 'create' },
      { kind: 'save', data: text, expiresAt, createdAt: now },
    );
    this.#check(result, 'create');
    return this.#remember(
      state,
      buildSetCookie(
        this.#options.cookie,
        this.#options.ids.encode(state.id, this.#options.secrets),
        state.secure,
        this.#options.cookie.persistent ? expiresAt - now : undefined,
      ),
    );
  }

  /** Keep what a commit answers, for a second commit after `release()`; the other answers are the initial undefined. */
  #remember(state: SessionState, setCookie: string | undefined): string | undefined {
    state.setCookie = setCookie;
    return setCookie;
  }

  #persistentCookie(state: SessionState, expiresAt: number): string | undefined {
    if (!this.#options.cookie.persistent) return undefined;
    return buildSetCookie(
      this.#options.cookie,
      this.#options.ids.encode(state.id, this.#options.secrets),
      state.secure,
      expiresAt - Date.now(),
    );
  }

  /** Give a lease back, reporting (never throwing) a failure, and free the local queue. */
  async releaseLease(key: string, lease: Lease): Promise<void> {
    if (this.#chains.has(key)) {
      // Behind the chain's writes, never overtaking them; the chain leaves the queue when done.
      await this.#chains.submit(key, RELEASE, undefined, this.#ready() ?? (await this.#store), lease.token);
      return;
    }
    try {
      await this.#storeWrite(key, { kind: 'lease', token: lease.token }, { kind: 'release' });
    } catch (error) {
      this.#report(error);
    } finally {
      this.#locks.leave(key);
    }
  }

  async #writeThenLeave(key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
    try {
      return await this.#storeWrite(key, guard, op);
    } finally {
      this.#locks.leave(key);
    }
  }

  #storeWrite(key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
    const store = this.#ready();
    if (store === undefined) return this.#store.then((resolved) => callStore(resolved, 'write', () => resolved.write(key, guard, op)));
    return callStore(store, 'write', () => store.write(key, guard, op));
  }

  #check(result: WriteResult, operation: string): void {
    switch (result.status) {
      case 'ok':
        return;
      case 'lost':
        throw new LockLostError(operation);
      case 'gone':
        throw new SessionDestroyedError(operation);
      case 'conflict':
        throw new ConflictError(operation);
    }
  }

  #serialize(data: SessionData): string {
    const text = this.#options.serializer.stringify(data);
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most sessions need no count at all.
    if (text.length * 3 <= this.#options.maxDataBytes) return text;
    const size = Buffer.byteLength(text);
    if (size > this.#options.maxDataBytes) throw new TooLargeError(size, this.#options.maxDataBytes);
    return text;
  }

  #expiryFor(createdAt: number, now: number): number {
    return Math.min(now + this.#options.idleMs, createdAt + this.#options.absoluteMs);
  }
}
