/**
 * Typed errors. Every error sessionlock throws is a `SessionError` with a stable string
 * `code`; infrastructure failures carry the driver's error as `cause`. Messages name the
 * operation and the store, never a session id, a cookie value, a secret or a query
 * parameter, so they are safe to log.
 *
 * @module
 */

/** Stable codes, one per error class. */
export type SessionErrorCode =
  | 'ERR_SESSION_CONFIG'
  | 'ERR_SESSION_STORE'
  | 'ERR_SESSION_LOCK_TIMEOUT'
  | 'ERR_SESSION_LOCK_LOST'
  | 'ERR_SESSION_CONFLICT'
  | 'ERR_SESSION_DESTROYED'
  | 'ERR_SESSION_STATE'
  | 'ERR_SESSION_TOO_LARGE'
  | 'ERR_SESSION_SERIALIZE';

const brand = Symbol.for('sessionlock.SessionError');

/** Base class of every error sessionlock throws. */
export class SessionError extends Error {
  /** Stable machine-readable code. */
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, brand, { value: true });
  }
}

/** Options were invalid. Thrown at construction, never per request. */
export class ConfigError extends SessionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SESSION_CONFIG', message, options);
  }
}

/** The store failed (unreachable, timed out, answered an error). The driver's error is `cause`. */
export class StoreError extends SessionError {
  /** The store's name, e.g. `sqlite`. */
  readonly store: string;
  /** The operation that failed, e.g. `acquire`. */
  readonly operation: string;

  constructor(store: string, operation: string, options?: { cause?: unknown }) {
    super('ERR_SESSION_STORE', `sessionlock: ${operation} failed on the ${store} store`, options);
    this.store = store;
    this.operation = operation;
  }
}

/** The session stayed locked by other requests for longer than `lock.waitMs`. */
export class LockTimeoutError extends SessionError {
  /** How long the request waited, in ms. */
  readonly waitedMs: number;

  constructor(waitedMs: number, reason = 'the session stayed locked') {
    super('ERR_SESSION_LOCK_TIMEOUT', `sessionlock: ${reason} for ${waitedMs} ms`);
    this.waitedMs = waitedMs;
  }
}

/**
 * This request's lease lapsed and another request took the session over, so its
 * write was refused; the newer holder's data stands. Also thrown to the requests of a
 * local hand-off chain that ran on an earlier request's changes whose write failed:
 * their changes are never written, and the reason says so.
 */
export class LockLostError extends SessionError {
  /**
   * @param operation - The refused operation, e.g. `save`.
   * @param reason - Why, when it is not that another request took the lease over.
   */
  constructor(operation: string, reason = 'the session lock was lost to another request') {
    super('ERR_SESSION_LOCK_LOST', `sessionlock: ${operation} refused, ${reason}`);
  }
}

/** An optimistic write found the session changed, or locked, by another request. */
export class ConflictError extends SessionError {
  constructor(operation: string) {
    super('ERR_SESSION_CONFLICT', `sessionlock: ${operation} refused, the session was changed or locked by another request`);
  }
}

/**
 * The session was destroyed (logout) or expired while this request had it open; the
 * write was refused so a stale request cannot bring it back.
 */
export class SessionDestroyedError extends SessionError {
  constructor(operation: string) {
    super('ERR_SESSION_DESTROYED', `sessionlock: ${operation} refused, the session was destroyed by another request`);
  }
}

/** The session was used in a way its state forbids (a write after destroy, or in a read-only request). */
export class SessionStateError extends SessionError {
  constructor(message: string) {
    super('ERR_SESSION_STATE', `sessionlock: ${message}`);
  }
}

/** The serialized session is larger than `maxDataBytes`. The stored session is unchanged. */
export class TooLargeError extends SessionError {
  /** Serialized size in bytes. */
  readonly sizeBytes: number;
  /** The configured limit in bytes. */
  readonly limitBytes: number;

  constructor(sizeBytes: number, limitBytes: number) {
    super('ERR_SESSION_TOO_LARGE', `sessionlock: session data is ${sizeBytes} bytes, over the ${limitBytes}-byte limit`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** The session data holds a value the serializer cannot store (a BigInt, a function, a cycle). */
export class SerializationError extends SessionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SESSION_SERIALIZE', `sessionlock: ${message}`, options);
  }
}

/**
 * True for any sessionlock error, even one thrown by another copy of the library
 * (a second install, another realm), where `instanceof` would say false.
 */
export function isSessionError(value: unknown): value is SessionError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
