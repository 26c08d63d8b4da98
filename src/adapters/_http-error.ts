import { isSessionError } from '../errors.js';

/**
 * The HTTP status for an error from the session layer: 503 when the session or its store
 * is unavailable for now (a lock timeout, a store outage), 409 for lost races, else 500.
 */
export function statusForError(error: unknown): number {
  if (!isSessionError(error)) return 500;
  switch (error.code) {
    case 'ERR_SESSION_LOCK_TIMEOUT':
    case 'ERR_SESSION_STORE':
      return 503;
    case 'ERR_SESSION_LOCK_LOST':
    case 'ERR_SESSION_CONFLICT':
    case 'ERR_SESSION_DESTROYED':
      return 409;
    default:
      return 500;
  }
}

/** What an adapter answers for an error it cannot hand to the framework. */
export interface ErrorAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The status, headers and plain-text body every adapter answers an error with. */
export function errorAnswer(error: unknown): ErrorAnswer {
  const status = statusForError(error);
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...retryHeaders(error) },
    body: status === 503 ? 'The session is unavailable for a moment, try again.\n' : 'Session error.\n',
  };
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) with every 503: a lock is usually free again, and a
 * store reconnected, within a second or so. Empty for any other error.
 */
export function retryHeaders(error: unknown): Record<string, string> {
  return statusForError(error) === 503 ? { 'retry-after': '1' } : {};
}
