import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionIdScheme } from '../core/id-scheme.js';
import { storeKeyOf } from '../core/ids.js';

/** Longest cookie value worth checking; a longer one is rejected before any HMAC. */
const MAX_VALUE_LENGTH = 1024;

/**
 * `value.signature`, the signature being HMAC-SHA256 in base64 without `=` padding:
 * the algorithm of the `cookie-signature` package that express-session uses, so
 * cookies issued by express-session stay valid.
 */
export function signValue(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

/** The value inside a signed string, or null when no secret signed it. Compared in constant time. */
export function unsignValue(input: string, secrets: readonly string[]): string | null {
  const dot = input.lastIndexOf('.');
  if (dot < 0) return null;
  const value = input.slice(0, dot);
  const given = Buffer.from(input);
  let found = false;
  // Check every secret so the timing does not tell which one signed.
  for (const secret of secrets) {
    const expected = Buffer.from(signValue(value, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) found = true;
  }
  return found ? value : null;
}

/** express-session's default id: 24 random bytes in base64url (uid-safe), 32 characters. */
export function generateExpressId(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * express-session's cookie format (`s:` + signed id). `hashKeys` files sessions under the
 * SHA-256 of the id (sessionlock stores); without it the raw id is the key, as
 * express-session stores expect, so their existing records stay reachable.
 */
export function expressIdScheme(hashKeys: boolean): SessionIdScheme {
  return {
    create: generateExpressId,
    encode: (id, secrets) => `s:${signValue(id, secrets[0] as string)}`,
    decode(value, secrets) {
      if (value.length > MAX_VALUE_LENGTH || !value.startsWith('s:')) return null;
      const id = unsignValue(value.slice(2), secrets);
      return id === null || id === '' ? null : id;
    },
    storeKey: hashKeys ? storeKeyOf : (id) => id,
  };
}
