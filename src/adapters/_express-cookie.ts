import { serialize, type SerializeOptions } from 'cookie';

/** Options of express-session's cookie, with the same meanings. */
export interface ExpressCookieOptions {
  /** Lifetime in ms from each touch; null or absent makes a browser-session cookie. @default null */
  maxAge?: number | null;
  /** Absolute expiry (prefer `maxAge`). */
  expires?: Date | null;
  /** @default true */
  httpOnly?: boolean;
  /** `'auto'` follows the request's protocol. @default false (as in express-session) */
  secure?: boolean | 'auto';
  /** `true` means `Strict`; `'auto'` means `None` over https, `Lax` otherwise. @default undefined */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto';
  /** @default '/' */
  path?: string;
  /** @default undefined (host-only) */
  domain?: string;
  /** CHIPS partitioned cookie. */
  partitioned?: boolean;
  /** `low`, `medium` or `high`. */
  priority?: 'low' | 'medium' | 'high';
}

/** The cookie settings as stored with a session and serialized into `Set-Cookie`. */
export interface CookieData {
  originalMaxAge: number | null | undefined;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  expires?: Date | null;
  secure?: boolean | 'auto';
  httpOnly?: boolean;
  domain?: string;
  path?: string;
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto';
}

/**
 * express-session's `Cookie`: `req.session.cookie`, the per-session cookie settings,
 * stored with the session. Changing `maxAge` in a request (a "remember me" box) changes
 * this session's cookie.
 */
export class Cookie {
  path = '/';
  httpOnly = true;
  originalMaxAge: number | null | undefined;
  secure?: boolean | 'auto';
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto';
  domain?: string;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  // `maxAge = null` to begin with, set directly: the setter chain would arrive at the same.
  #expires: Date | null | undefined = null;

  constructor(options?: ExpressCookieOptions & { originalMaxAge?: number | null }) {
    this.originalMaxAge = null;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      const self = this as unknown as Record<string, unknown>;
      // Assigned one by one, so `maxAge` and `expires` go through their setters.
      for (const key of Object.keys(options)) {
        if (key !== 'data') self[key] = (options as Record<string, unknown>)[key];
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) this.originalMaxAge = this.maxAge;
  }

  /** Absolute expiry, or null for a browser-session cookie. */
  get expires(): Date | null | undefined {
    return this.#expires;
  }

  set expires(date: Date | null | undefined) {
    this.#expires = date;
    this.originalMaxAge = this.maxAge;
  }

  /** Milliseconds left, or null. Setting it sets `expires` to now plus that much. */
  get maxAge(): number | null | undefined {
    return this.#expires instanceof Date ? this.#expires.valueOf() - Date.now() : (this.#expires as null | undefined);
  }

  set maxAge(ms: number | null | undefined) {
    if (ms !== null && ms !== undefined && typeof ms !== 'number') throw new TypeError('maxAge must be a number or Date');
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms;
  }

  /** What is stored and serialized, in express-session's key order (stores and hashes depend on it). */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this.#expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** A `Set-Cookie` value for `name=value` with these settings. */
  serialize(name: string, value: string): string {
    return serializeCookie(name, value, this.data);
  }

  /** @returns the stored form, `data`. */
  toJSON(): CookieData {
    return this.data;
  }
}

/** `Set-Cookie` from express-session cookie data (`sameSite: true` means Strict, as in `cookie`). */
export function serializeCookie(name: string, value: string, data: CookieData): string {
  const sameSite = data.sameSite === 'auto' ? undefined : data.sameSite;
  const options: SerializeOptions = {
    path: data.path,
    domain: data.domain,
    httpOnly: data.httpOnly,
    secure: data.secure === true,
    sameSite,
    partitioned: data.partitioned,
    priority: data.priority,
    ...(data.expires instanceof Date ? { expires: data.expires } : {}),
  };
  return serialize(name, value, options);
}
