import { parse, serialize } from 'cookie';
import type { ResolvedOptions } from './options.js';

/** The raw value of our cookie in a `Cookie` request header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (header === null || header === undefined || header === '') return undefined;
  return parse(header)[name];
}

/**
 * A `Set-Cookie` value for our cookie. `value: null` expires it (logout).
 * `maxAgeMs` makes it persistent; otherwise it lives as long as the browser session.
 */
export function buildSetCookie(
  options: ResolvedOptions['cookie'],
  value: string | null,
  secure: boolean,
  maxAgeMs?: number,
): string {
  const cookieSecure = options.secure === 'auto' ? secure : options.secure;
  return serialize(options.name, value ?? '', {
    path: options.path,
    domain: options.domain,
    httpOnly: options.httpOnly,
    sameSite: options.sameSite,
    secure: cookieSecure,
    partitioned: options.partitioned,
    ...(value === null
      ? { expires: new Date(0), maxAge: 0 }
      : maxAgeMs === undefined
        ? {}
        : { maxAge: Math.max(0, Math.floor(maxAgeMs / 1000)) }),
  });
}
