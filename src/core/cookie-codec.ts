import { createHmac, timingSafeEqual } from 'node:crypto';
import { isSessionId } from './ids.js';

/**
 * The signed cookie value: `s1.<id>.<signature>`. The `s1` prefix is the format
 * version, so a future format can be told apart and old cookies still verified.
 * The signature is HMAC-SHA256 over the prefix and the id, in base64url.
 */
const FORMAT = 's1';
const VALUE_PATTERN = /^s1\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/** Longest value worth looking at; anything longer is rejected before parsing. */
export const MAX_COOKIE_VALUE_LENGTH = 128;

function sign(id: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(`${FORMAT}.${id}`).digest();
}

/** Signs `id` with the first secret (the current one). */
export function encodeCookieValue(id: string, secrets: readonly string[]): string {
  const [current] = secrets;
  if (current === undefined) throw new TypeError('no secret to sign with');
  return `${FORMAT}.${id}.${sign(id, current).toString('base64url')}`;
}

/**
 * The session id in a cookie value, or `null` when the value is malformed, oversized
 * or not signed by any of `secrets`. Never throws: untrusted input means "no session".
 * Signatures are compared in constant time (OWASP Session Management Cheat Sheet).
 */
export function decodeCookieValue(value: string, secrets: readonly string[]): string | null {
  if (value.length > MAX_COOKIE_VALUE_LENGTH) return null;
  const match = VALUE_PATTERN.exec(value);
  if (match === null) return null;
  const [, id, signature] = match as unknown as [string, string, string];
  if (!isSessionId(id)) return null;
  // Compare the text, not decoded bytes: the last base64url character carries two unused
  // bits, so decoding would accept four spellings of one signature.
  const given = Buffer.from(signature);
  let valid = false;
  // Check every secret, not just until the first match, so timing says nothing about which one signed.
  for (const secret of secrets) {
    const expected = Buffer.from(sign(id, secret).toString('base64url'));
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid ? id : null;
}
