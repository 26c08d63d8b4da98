import { decodeCookieValue, encodeCookieValue } from './cookie-codec.js';
import { createSessionId, storeKeyOf } from './ids.js';

/**
 * How session ids are made, signed into the cookie, read back, and turned into store
 * keys. The default is sessionlock's own (256-bit ids, `s1.` cookies, SHA-256 keys); an
 * adapter that must stay compatible with another library's cookies (the Express adapter
 * reads express-session's `s:` cookies) passes its own.
 *
 * `decode` and `storeKey` must be pure (the same input always gives the same answer):
 * the manager remembers the answers for cookie values that verified.
 */
export interface SessionIdScheme {
  /** A new, unguessable session id. */
  create(): string;
  /** The signed cookie value of `id`, signed with the first of `secrets`. */
  encode(id: string, secrets: readonly string[]): string;
  /** The id in a cookie value, or `null` when it is malformed or not signed by any of `secrets`. Must never throw. */
  decode(value: string, secrets: readonly string[]): string | null;
  /** The key the store files the session under. */
  storeKey(id: string): string;
}

/** sessionlock's own scheme: 256-bit CSPRNG ids, HMAC-SHA256 `s1.` cookies, SHA-256 store keys. */
export const defaultIdScheme: SessionIdScheme = {
  create: createSessionId,
  encode: encodeCookieValue,
  decode: decodeCookieValue,
  storeKey: storeKeyOf,
};
