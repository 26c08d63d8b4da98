import { SessionStateError } from '../errors.js';
import type { Lease, StoredRecord } from '../stores/types.js';
import type { Renewable } from './lease-renewer.js';
import type { LockMode } from './options.js';
import { readOnlyView } from './read-only-view.js';

/**
 * The data of a session. Augment it to type your fields:
 *
 * @example
 * ```ts
 * declare module 'sessionlock' {
 *   interface SessionData { hits: number; userId?: string }
 * }
 * ```
 */
export interface SessionData {
  [key: string]: unknown;
}

/** Where a session is in its life within one request. @internal */
export type SessionPhase = 'open' | 'released';

/** What the manager keeps about an open session; `renewAt`/`renewUntil` are the lease renewer's. @internal */
export interface SessionState extends Renewable {
  readonly mode: LockMode;
  /** Makes the id `regenerate()` gives the session. */
  readonly createId: () => string;
  /** Whether the response goes out over https, for `secure: 'auto'`. */
  readonly secure: boolean;
  /** The request carried a validly signed cookie. */
  readonly hadCookie: boolean;
  /** Store key of the loaded record; undefined for a new session. */
  key: string | undefined;
  /** The record as loaded (or as handed off); null for a new session. */
  record: StoredRecord | null;
  /** The exclusive lease, while held. */
  lease: Lease | undefined;
  /** The serialized data as loaded, to tell whether it changed. */
  loadedText: string | undefined;
  id: string;
  data: SessionData;
  phase: SessionPhase;
  destroyed: boolean;
  regenerated: boolean;
  touched: boolean;
  /** A renewal found the lease taken over. */
  lost: boolean;
  /** What `commit` answered, so a second commit (after `release()`) answers the same. */
  setCookie: string | undefined;
}

/** @internal */
export const kState = Symbol('sessionlock.state');

/** @internal */
export type Committer = (session: Session) => Promise<string | undefined>;

/**
 * One visitor's session, open for the length of one request. Get it from
 * `manager.open()` (or an adapter), change `data`, and let `manager.commit()` save it.
 */
export class Session {
  /** @internal */
  readonly [kState]: SessionState;
  readonly #commit: Committer;

  /** @internal */
  constructor(state: SessionState, commit: Committer) {
    this[kState] = state;
    this.#commit = commit;
  }

  /** The session id (the unsigned cookie value). A new session already has one; it is stored on first write. */
  get id(): string {
    return this[kState].id;
  }

  /** True when no stored session was loaded for this request. */
  get isNew(): boolean {
    return this[kState].record === null;
  }

  /** The lock mode this request holds the session in. */
  get mode(): LockMode {
    return this[kState].mode;
  }

  /** When the stored session expires (epoch ms), or undefined for a new one. */
  get expiresAt(): number | undefined {
    return this[kState].record?.expiresAt;
  }

  /**
   * The session's data. In a `readonly` request, after `release()`, or after `destroy()`,
   * this is a read-only view and any write throws `SessionStateError`.
   */
  get data(): SessionData {
    const state = this[kState];
    const refusal = this.#writeRefusal();
    return refusal === undefined ? state.data : readOnlyView(state.data, refusal);
  }

  set data(value: SessionData) {
    this.#assertWritable();
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TypeError('session data must be a plain object');
    }
    this[kState].data = value;
  }

  /**
   * Give the session a new id when it is committed, and remove the old record: call it
   * at login, so an id planted before login is worthless after (session fixation, OWASP).
   */
  regenerate(): void {
    this.#assertWritable();
    const state = this[kState];
    state.regenerated = true;
    state.id = state.createId();
  }

  /** Remove the session when it is committed, and expire the cookie (logout). */
  destroy(): void {
    this.#assertWritable();
    this[kState].destroyed = true;
  }

  /** Extend the session's expiry at commit even if the touch throttle would skip it. */
  touch(): void {
    this[kState].touched = true;
  }

  /**
   * Commit now and go on read-only: the lock is released so the visitor's other requests
   * can proceed while this one finishes (a long download, a slow render). Like PHP's
   * `session_write_close()`. The adapter still sends the cookie this commit produced.
   */
  async release(): Promise<void> {
    await this.#commit(this);
  }

  #writeRefusal(): string | undefined {
    const state = this[kState];
    if (state.destroyed) return 'the session was destroyed in this request';
    if (state.phase !== 'open') return 'the session was already committed (released) in this request';
    if (state.mode === 'readonly') return 'the session is open read-only in this request';
    return undefined;
  }

  #assertWritable(): void {
    const refusal = this.#writeRefusal();
    if (refusal !== undefined) throw new SessionStateError(refusal);
  }
}
