import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSessionManager, type OpenOptions, type SessionManager } from '../core/manager.js';
import type { LockOptions, SessionManagerOptions } from '../core/options.js';
import type { Session } from '../core/session.js';
import { isSessionError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';
import { ExpressSession, Store, expressSerializer, type LegacyStore } from './_express-compat.js';
import { Cookie, type ExpressCookieOptions } from './_express-cookie.js';
import { adaptLegacyStore } from './_express-legacy-store.js';
import { MemoryStore } from './_express-memory-store.js';
import { ExpressRequestSession, type ExpressRequest, type RequestPolicy } from './_express-request.js';
import { expressIdScheme, generateExpressId } from './_express-signature.js';
import { retryHeaders, statusForError } from './_http-error.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';
import { bindToResponse } from './_node-request.js';

export { Cookie, ExpressSession as Session, MemoryStore, Store };
export type { ExpressCookieOptions, ExpressRequest, LegacyStore };

/** Options: express-session 1.19's, with the same defaults and meanings, plus sessionlock's. */
export interface ExpressSessionOptions {
  /** Cookie name. @default 'connect.sid' */
  name?: string;
  /** Deprecated alias of `name` (express-session accepts it too). */
  key?: string;
  /** Secret(s): the first signs, every one verifies. */
  secret?: string | string[];
  /**
   * An express-session store (connect-redis, connect-pg-simple, memorystore…): locking is
   * then in-process only. A sessionlock store, or a store URL (`redis://…`): locking
   * spans processes and hosts. @default new MemoryStore()
   */
  store?: LegacyStore | SessionStore | string;
  /** Cookie settings, or a function of the request that answers them. */
  cookie?: ExpressCookieOptions | ((req: ExpressRequest) => ExpressCookieOptions);
  /** Makes a new session id. @default 24 random bytes in base64url */
  genid?: (req: ExpressRequest) => string;
  /** Save unmodified sessions on every request. @default true (with a deprecation warning, as in express-session) */
  resave?: boolean;
  /** Store new sessions even when nothing was put in them. @default true (with a deprecation warning) */
  saveUninitialized?: boolean;
  /** Send the cookie on every response, resetting its expiry. @default false */
  rolling?: boolean;
  /** Trust `X-Forwarded-Proto` (true), never (false), or follow Express's `trust proxy` (undefined). */
  proxy?: boolean;
  /** What `req.session = null` does: `destroy` the stored session, or `keep` it. @default 'keep' */
  unset?: 'destroy' | 'keep';
  /**
   * Lock options; `mode` may be a function of the request, e.g. `readonly` for polling
   * routes, which then never wait. @default { mode: 'exclusive', waitMs: 10000 }
   */
  lock?: Omit<LockOptions, 'mode'> & { mode?: LockModeChoice<ExpressRequest> };
  /** Seconds without a request after which a sessionlock store drops the session. @default cookie.maxAge, else 86400 */
  idleTimeout?: number;
  /** Seconds after creation after which a sessionlock store drops the session. @default 31536000 (express-session has no such limit) */
  absoluteTimeout?: number;
  /** See `SessionManagerOptions.touchAfter`. @default 60 */
  touchAfter?: number;
  /** See `SessionManagerOptions.maxDataBytes`. @default 65536 */
  maxDataBytes?: number;
  /** See `SessionManagerOptions.sweep`. */
  sweep?: SessionManagerOptions['sweep'];
}

/** Express-style middleware. */
export type SessionMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void) & {
  /** The manager behind the middleware (for `sweep()`, `close()` and events). */
  readonly manager: SessionManager;
};

function isSessionlockStore(store: unknown): store is SessionStore {
  if (typeof store !== 'object' || store === null) return false;
  const candidate = store as Partial<SessionStore>;
  return typeof candidate.acquire === 'function' && typeof candidate.capabilities === 'object';
}

function deprecated(message: string): void {
  process.emitWarning(message, { type: 'DeprecationWarning', code: 'SESSIONLOCK_EXPRESS_DEFAULT' });
}

/** Adds what Express's error handler reads (`status`, `headers`) to a session error. */
function forNext(error: unknown): unknown {
  if (isSessionError(error)) {
    Object.assign(error, { status: statusForError(error), statusCode: statusForError(error), expose: false });
    Object.assign(error, { headers: retryHeaders(error) });
  }
  return error;
}

/** The path of the request's original URL, unnormalized, as express-session's `parseurl.original` reads it. */
function pathnameOf(req: ExpressRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  if (!url.startsWith('/')) return new URL(url, 'http://x').pathname;
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * A drop-in replacement for express-session: the same options, `req.session` API,
 * exports and cookie format, with a lock per session so overlapping requests of one
 * visitor never lose each other's updates. The session is saved before the response's
 * headers go out. A lock timeout goes to `next(err)` with `status` 503 and a
 * `Retry-After` header that Express's error handler sends.
 *
 * @example
 * ```ts
 * import session from 'sessionlock/express'; // was: import session from 'express-session';
 *
 * app.use(session({ secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false }));
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1;
 *   res.send(`views: ${req.session.views}`);
 * });
 * ```
 */
export function sessions(options: ExpressSessionOptions = {}): SessionMiddleware {
  const cookieOption = options.cookie ?? {};
  const genid = options.genid ?? generateExpressId;
  if (typeof genid !== 'function') throw new TypeError('genid option must be a function');
  if (options.resave === undefined) deprecated('undefined resave option; provide resave option');
  if (options.saveUninitialized === undefined) deprecated('undefined saveUninitialized option; provide saveUninitialized option');
  if (options.unset !== undefined && options.unset !== 'destroy' && options.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"');
  }
  if (Array.isArray(options.secret) && options.secret.length === 0) {
    throw new TypeError('secret option array must contain one or more strings');
  }
  const given = options.store ?? new MemoryStore();
  const native = typeof given === 'string' || isSessionlockStore(given);
  const store: SessionStore | string = native ? given : adaptLegacyStore(given);
  const staticMaxAge = typeof cookieOption === 'function' ? undefined : cookieOption.maxAge;
  const { mode, ...lock } = options.lock ?? {};
  const manager = createSessionManager({
    store,
    secret: options.secret,
    idleTimeout: options.idleTimeout ?? (typeof staticMaxAge === 'number' ? Math.max(1, staticMaxAge / 1000) : 86_400),
    absoluteTimeout: options.absoluteTimeout ?? 31_536_000,
    touchAfter: options.touchAfter,
    maxDataBytes: options.maxDataBytes,
    sweep: options.sweep,
    lock: { ...lock, mode: typeof mode === 'string' ? mode : undefined },
    cookie: { name: options.name ?? options.key ?? 'connect.sid' },
    ids: expressIdScheme(native),
    serializer: expressSerializer,
  });
  const policy: RequestPolicy = {
    name: manager.options.cookie.name,
    secrets: manager.options.secrets,
    cookie: typeof cookieOption === 'function' ? cookieOption : () => cookieOption,
    resave: options.resave ?? true,
    saveUninitialized: options.saveUninitialized ?? true,
    rolling: Boolean(options.rolling),
    proxy: options.proxy,
    unsetDestroy: options.unset === 'destroy',
  };
  // Like express-session: while an express-session store reports itself disconnected, requests get no session.
  let storeReady = true;
  if (!native && typeof given.on === 'function') {
    given.on('disconnect', () => (storeReady = false));
    given.on('connect', () => (storeReady = true));
  }
  let sessionStore: object | undefined = native ? undefined : given;
  if (process.env.NODE_ENV === 'production' && given instanceof MemoryStore) {
    // The same warning as express-session: the default store is for development only.
    console.warn('Warning: the default MemoryStore is not designed for a production environment:\nit leaks memory and holds sessions in one process only. Pass a store.');
  }

  // No `secure` for the manager: its own Set-Cookie goes unused, express-session's cookie
  // rules answer instead (ExpressRequestSession). With a fixed mode and the default genid,
  // every request opens with the same options.
  const fixedOpen: OpenOptions | undefined = typeof mode === 'function' || options.genid !== undefined ? undefined : { mode };
  const cookiePath = typeof cookieOption === 'function' ? undefined : (cookieOption.path ?? '/');

  /** Opens the request's session and lets the rest of the app run; the commit waits for the response. */
  async function start(req: ExpressRequest, res: ServerResponse, next: (error?: unknown) => void): Promise<void> {
    let session: Session;
    try {
      session = await manager.open(
        req.headers.cookie,
        fixedOpen ?? { mode: chooseMode(mode, req), createId: () => genid(req) },
      );
      sessionStore ??= await manager.store();
    } catch (error) {
      next(forNext(error));
      return;
    }
    req.sessionStore = sessionStore;
    let request: ExpressRequestSession;
    try {
      request = new ExpressRequestSession(manager, session, req, policy);
    } catch (error) {
      void manager.abort(session);
      next(forNext(error));
      return;
    }
    bindToResponse(manager, session, res, () => request.commit(), (error) => next(forNext(error)));
    next();
  }

  const middleware = function session(message: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    // Typed loosely above so `app.use(session())` type-checks against Express's own Request.
    const req = message as ExpressRequest;
    if (req.session || !storeReady) {
      next();
      return;
    }
    const path = cookiePath ?? policy.cookie(req).path ?? '/';
    // Every path starts with `/`, the default: no need to read the URL.
    if (path !== '/' && !pathnameOf(req).startsWith(path)) {
      next();
      return;
    }
    void start(req, res, next);
  };
  return Object.assign(middleware, { manager });
}

Object.assign(sessions, { Store, MemoryStore, Session: ExpressSession, Cookie });

/** The middleware factory with `Store`, `MemoryStore`, `Session` and `Cookie` on it, as express-session exports them. */
const session = sessions as typeof sessions & {
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  Session: typeof ExpressSession;
  Cookie: typeof Cookie;
};

export default session;
