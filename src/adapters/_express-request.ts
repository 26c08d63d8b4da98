import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { SessionStateError } from '../errors.js';
import {
  ExpressSession,
  Store,
  lendTo,
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

/**
 * What express-session's change detector hashes: the session's JSON without its cookie.
 * Equal text means an equal hash, so the text is compared directly, with no digest.
 */
function dataText(session: ExpressSession): string {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(session)) if (key !== 'cookie') data[key] = session[key];
  return JSON.stringify(data);
}

function later(callback: Callback, error?: unknown): void {
  setImmediate(() => callback(error));
}

/** The data text of a session made by `generate`: nothing but its cookie. */
const EMPTY_DATA_TEXT = '{}';

/**
 * One request's session under the Express adapter: express-session's save, touch and
 * cookie rules, applied to a session opened (and locked) by the manager. The write is
 * made once, when the response starts, before its headers leave.
 *
 * Per request it does only what the answer needs: the loaded data becomes `req.session`
 * without a copy, and the data is compared with what was loaded only when a decision
 * depends on it (the manager compares the stored text anyway before writing).
 */
export class ExpressRequestSession implements SessionController {
  readonly #manager: SessionManager;
  readonly #session: Session;
  readonly #req: ExpressRequest;
  readonly #policy: RequestPolicy;
  /** The session came from the store (the browser's cookie named a live session). */
  readonly #loaded: boolean;
  /** The session's JSON as loaded; undefined for a new one. */
  readonly #loadedText: string | undefined;
  /** The data text (see `dataText`) to compare with at the end; worked out from `#loadedText` when first needed. */
  #originalText: string | undefined;
  /** The loaded state counts as saved (express-session's `savedHash` without `resave`), until `regenerate()`. */
  #baselineSaved: boolean;
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
    this.#baselineSaved = this.#loaded && !policy.resave;
    // Express 5 makes every access to `req` slow (see `lendTo`): it is written only where express-session writes it.
    req.sessionID = session.id;
    if (this.#loaded) {
      // A read-only session's data is a read-only view: the handler gets a copy it may change (refused at commit).
      const readonly = session.mode === 'readonly';
      const text = JSON.stringify(session.data);
      // Otherwise the manager parsed the data for this request alone, so it is used as is;
      // commit hands the manager `req.session` in its place.
      const stored = (readonly ? JSON.parse(text) : session.data) as StoredSession;
      lendTo(Store.prototype.createSession(req, stored), this);
      this.#loadedText = text;
      this.#snapshot = text;
    } else {
      this.#generate();
    }
  }

  #generate(): void {
    const req = this.#req;
    const session = new ExpressSession(req);
    const options = this.#policy.cookie(req);
    session.cookie = new Cookie(options);
    if (options.secure === 'auto' || options.sameSite === 'auto') {
      const secure = isSecure(req, this.#policy.proxy);
      if (options.secure === 'auto') session.cookie.secure = secure;
      if (options.sameSite === 'auto') session.cookie.sameSite = secure ? 'none' : 'lax';
    }
    lendTo(session, this);
    req.session = session;
    this.#originalText = EMPTY_DATA_TEXT;
  }

  /** True when the data (not the cookie) differs from the baseline, as express-session's hash comparison tells. */
  #modified(session: ExpressSession): boolean {
    this.#originalText ??= dataText(new ExpressSession(this.#req, JSON.parse(this.#loadedText ?? EMPTY_DATA_TEXT) as StoredSession));
    return dataText(session) !== this.#originalText;
  }

  save(session: ExpressSession, callback: Callback): void {
    if (this.#session.mode === 'readonly') {
      later(callback, new SessionStateError('the session is open read-only in this request'));
      return;
    }
    this.#savedExplicitly = true;
    this.#snapshot = JSON.stringify(session);
    later(callback);
  }

  reload(_session: ExpressSession, callback: Callback): void {
    if (this.#snapshot === undefined) {
      later(callback, new Error('failed to load session'));
      return;
    }
    lendTo(Store.prototype.createSession(this.#req, JSON.parse(this.#snapshot) as StoredSession), this);
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
    this.#baselineSaved = false;
    this.#snapshot = undefined;
    this.#req.sessionID = this.#session.id;
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
    const policy = this.#policy;
    if (this.#destroyed) {
      await this.#manager.commit(this.#session);
      const cookie = this.#destroyedCookie;
      if (!this.#loaded || cookie === undefined) return undefined;
      // Expire the browser's copy too (express-session leaves it): a dead id should not keep travelling.
      return serializeCookie(policy.name, '', { ...cookie.data, expires: new Date(0) });
    }
    const session = this.#req.session;
    if (session === null || session === undefined) {
      // `req.session = null`: `unset` decides whether the stored session goes.
      if (policy.unsetDestroy && this.#loaded) {
        this.#session.destroy();
        await this.#manager.commit(this.#session);
      } else {
        await this.#manager.abort(this.#session);
      }
      return undefined;
    }
    session.touch();
    // After regenerate() the new, empty session is the baseline, as in express-session.
    const isNew = !this.#loaded || this.#regenerated;
    const readonly = this.#session.mode === 'readonly';
    // Comparing costs a serialization, so it is made only when an answer below depends on
    // it. None does for a loaded session under `resave: false`, not saved explicitly, with a
    // browser-session cookie: whatever `modified` is there, the branches and `send` agree,
    // and the manager writes only data that changed.
    const modified =
      (isNew || readonly || this.#savedExplicitly || !this.#baselineSaved || (!policy.rolling && session.cookie.expires != null)) &&
      this.#modified(session);
    const shouldSave =
      this.#savedExplicitly || (this.#baselineSaved ? modified : isNew && !policy.saveUninitialized ? modified : true);
    if (readonly) {
      if (modified) throw new SessionStateError('the session is open read-only in this request');
      await this.#manager.commit(this.#session);
    } else if (this.#regenerated && !shouldSave) {
      // Regenerated and left empty without saveUninitialized: the old record goes, nothing new is stored.
      this.#session.destroy();
      await this.#manager.commit(this.#session);
      return undefined;
    } else if (isNew && !shouldSave) {
      await this.#manager.abort(this.#session);
    } else {
      // The manager serializes `req.session` itself (its own properties: the data and the cookie).
      this.#session.data = session;
      // resave: write even an unchanged session (express-session's default, for stores without touch).
      if (shouldSave && !modified) this.#session.touch();
      await this.#manager.commit(this.#session);
    }
    const send = isNew ? policy.saveUninitialized || modified : policy.rolling || (session.cookie.expires != null && modified);
    if (!send || typeof this.#req.sessionID !== 'string') return undefined;
    // Only send secure cookies over https (express-session does the same).
    if (session.cookie.secure === true && !isSecure(this.#req, policy.proxy)) return undefined;
    return session.cookie.serialize(policy.name, `s:${signValue(this.#req.sessionID, policy.secrets[0] as string)}`);
  }
}
