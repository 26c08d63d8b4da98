import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { SessionStateError } from '../errors.js';
import {
  ExpressSession,
  Store,
  kController,
  type Callback,
  type SessionController,
  type SessionRequestLike,
  type StoredSession,
} from './_express-compat.js';
import { Cookie, serializeCookie, type ExpressCookieOptions } from './_express-cookie.js';
import { signValue } from './_express-signature.js';
import { forwardedProtoIsHttps } from './_node-request.js';

/** The request as the Express adapter sees it. */
export interface ExpressRequest extends IncomingMessage, SessionRequestLike {
  secure?: boolean;
  originalUrl?: string;
}

/** The middleware's resolved express-session options. */
export interface RequestPolicy {
  readonly name: string;
  readonly secrets: readonly string[];
  readonly cookie: (req: ExpressRequest) => ExpressCookieOptions;
  readonly resave: boolean;
  readonly saveUninitialized: boolean;
  readonly rolling: boolean;
  readonly proxy: boolean | undefined;
  readonly unsetDestroy: boolean;
}

/** express-session's `issecure`: TLS, else `req.secure` (Express's trust proxy), or X-Forwarded-Proto with `proxy: true`. */
export function isSecure(req: ExpressRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as Partial<TLSSocket> | null)?.encrypted === true) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  return forwardedProtoIsHttps(req.headers['x-forwarded-proto']);
}

/** express-session's change detector: a hash of the session without its cookie. */
function hash(session: ExpressSession): string {
  const text = JSON.stringify(session, function (this: unknown, key, value: unknown) {
    return this === session && key === 'cookie' ? undefined : value;
  });
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

function later(callback: Callback, error?: unknown): void {
  setImmediate(() => callback(error));
}

/**
 * One request's session under the Express adapter: express-session's save, touch and
 * cookie rules, applied to a session opened (and locked) by the manager. The write is
 * made once, when the response starts, before its headers leave.
 */
export class ExpressRequestSession implements SessionController {
  readonly #manager: SessionManager;
  readonly #session: Session;
  readonly #req: ExpressRequest;
  readonly #policy: RequestPolicy;
  /** The session came from the store (the browser's cookie named a live session). */
  readonly #loaded: boolean;
  #originalHash = '';
  #savedHash: string | undefined;
  #savedExplicitly = false;
  #regenerated = false;
  #destroyed = false;
  /** The session as last loaded or saved, for `reload()`. */
  #snapshot: string | undefined;
  /** Cookie settings at `destroy()`, to expire the browser's cookie with matching path and domain. */
  #destroyedCookie: Cookie | undefined;

  constructor(manager: SessionManager, session: Session, req: ExpressRequest, policy: RequestPolicy) {
    this.#manager = manager;
    this.#session = session;
    this.#req = req;
    this.#policy = policy;
    this.#loaded = !session.isNew;
    Object.defineProperty(req, kController, { value: this, configurable: true });
    if (this.#loaded) this.#inflate(session.data as StoredSession);
    else this.#generate();
  }

  #generate(): void {
    const req = this.#req;
    req.sessionID = this.#session.id;
    const session = new ExpressSession(req);
    const options = this.#policy.cookie(req);
    session.cookie = new Cookie(options);
    const secure = isSecure(req, this.#policy.proxy);
    if (options.secure === 'auto') session.cookie.secure = secure;
    if (options.sameSite === 'auto') session.cookie.sameSite = secure ? 'none' : 'lax';
    req.session = session;
    this.#originalHash = hash(session);
  }

  #inflate(stored: StoredSession): void {
    const req = this.#req;
    req.sessionID = this.#session.id;
    // A copy: the manager's data stays the loaded state until commit.
    const session = Store.prototype.createSession(req, JSON.parse(JSON.stringify(stored)) as StoredSession);
    this.#originalHash = hash(session);
    if (!this.#policy.resave) this.#savedHash = this.#originalHash;
    this.#snapshot = JSON.stringify(stored);
  }

  save(session: ExpressSession, callback: Callback): void {
    if (this.#session.mode === 'readonly') {
      later(callback, new SessionStateError('the session is open read-only in this request'));
      return;
    }
    this.#savedHash = hash(session);
    this.#savedExplicitly = true;
    this.#snapshot = JSON.stringify(session);
    later(callback);
  }

  reload(_session: ExpressSession, callback: Callback): void {
    if (this.#snapshot === undefined) {
      later(callback, new Error('failed to load session'));
      return;
    }
    Store.prototype.createSession(this.#req, JSON.parse(this.#snapshot) as StoredSession);
    later(callback);
  }

  destroy(session: ExpressSession, callback: Callback): void {
    this.#destroyed = true;
    this.#destroyedCookie = session.cookie;
    try {
      this.#session.destroy();
    } catch (error) {
      later(callback, error);
      return;
    }
    // Deleted now, as express-session does, and the lock is released at once.
    this.#manager.commit(this.#session).then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  regenerate(callback: Callback): void {
    try {
      this.#session.regenerate();
    } catch (error) {
      later(callback, error);
      return;
    }
    this.#regenerated = true;
    this.#savedHash = undefined;
    this.#snapshot = undefined;
    this.#generate();
    later(callback);
  }

  /** Save as express-session would at the end of the response; answers the `Set-Cookie` to send, if any. */
  async commit(): Promise<string | undefined> {
    try {
      return await this.#save();
    } catch (error) {
      // Whatever failed (a value JSON cannot hold, a read-only breach, the store), the lock goes back.
      await this.#manager.abort(this.#session);
      throw error;
    }
  }

  async #save(): Promise<string | undefined> {
    const { name, secrets } = this.#policy;
    if (this.#destroyed) {
      await this.#manager.commit(this.#session);
      const cookie = this.#destroyedCookie;
      if (!this.#loaded || cookie === undefined) return undefined;
      // Expire the browser's copy too (express-session leaves it): a dead id should not keep travelling.
      return serializeCookie(name, '', { ...cookie.data, expires: new Date(0) });
    }
    const session = this.#req.session;
    if (session === null || session === undefined) {
      // `req.session = null`: `unset` decides whether the stored session goes.
      if (this.#policy.unsetDestroy && this.#loaded) {
        this.#session.destroy();
        await this.#manager.commit(this.#session);
      } else {
        await this.#manager.abort(this.#session);
      }
      return undefined;
    }
    session.touch();
    const current = hash(session);
    const isNew = !this.#loaded || this.#regenerated;
    // After regenerate() the new, empty session is the baseline, as in express-session.
    const modified = current !== this.#originalHash;
    const isSaved = this.#savedHash === current;
    const shouldSave =
      (!this.#policy.saveUninitialized && this.#savedHash === undefined && isNew ? modified : !isSaved) ||
      this.#savedExplicitly;
    if (this.#session.mode === 'readonly') {
      if (current !== this.#originalHash) throw new SessionStateError('the session is open read-only in this request');
      await this.#manager.commit(this.#session);
    } else if (this.#regenerated && !shouldSave) {
      // Regenerated and left empty without saveUninitialized: the old record goes, nothing new is stored.
      this.#session.destroy();
      await this.#manager.commit(this.#session);
      return undefined;
    } else if (isNew && !shouldSave) {
      await this.#manager.abort(this.#session);
    } else {
      this.#session.data = JSON.parse(JSON.stringify(session)) as StoredSession;
      // resave: write even an unchanged session (express-session's default, for stores without touch).
      if (shouldSave && !modified) this.#session.touch();
      await this.#manager.commit(this.#session);
    }
    const send = isNew
      ? this.#policy.saveUninitialized || modified
      : this.#policy.rolling || (session.cookie.expires != null && modified);
    if (!send || typeof this.#req.sessionID !== 'string') return undefined;
    // Only send secure cookies over https (express-session does the same).
    if (session.cookie.secure === true && !isSecure(this.#req, this.#policy.proxy)) return undefined;
    return session.cookie.serialize(name, `s:${signValue(this.#req.sessionID, secrets[0] as string)}`);
  }
}
