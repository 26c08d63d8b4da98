import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes in base64url: 43 characters. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session id: 256 bits from the CSPRNG (Copenhagen Book, "Session IDs"). */
export function createSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `value` has the exact shape of a session id; checked before any other use. */
export function isSessionId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/**
 * The store key of a session id. Stores only ever see this SHA-256, so a leaked store
 * does not leak live cookies; its hex form is safe in a file name or a query.
 */
export function storeKeyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** This process's part of every lease token: 128 random bits, so no two processes share one. */
const TOKEN_PREFIX = `${randomBytes(16).toString('base64url')}.`;
let tokensMade = 0;

/**
 * A lease token unique across processes and hosts (a random per-process prefix and a
 * counter), so only its holder's writes pass the fence. It never leaves the server, so it
 * need not be unpredictable: drawing a random UUID per request showed in the profile.
 */
export function createLeaseToken(): string {
  tokensMade += 1;
  return TOKEN_PREFIX + tokensMade.toString(36);
}
