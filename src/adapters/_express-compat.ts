import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import { jsonSerializer, type Serializer } from '../core/serializer.js';
import { SerializationError } from '../errors.js';
import { Cookie, type CookieData } from './_express-cookie.js';

/** Node-style callback. */
export type Callback<T = void> = (error?: unknown, value?: T) => void;

/** A session object as express-session stores it: its fields plus the cookie settings. */
export interface StoredSession {
  cookie: CookieData | (Omit<CookieData, 'expires'> & { expires?: string | Date | null });
  [key: string]: unknown;
}

/** What an express-session store implements (connect-redis, connect-pg-simple, memorystore…). */
export interface LegacyStore extends Partial<Pick<EventEmitter, 'on'>> {
  get(sid: string, callback: (error: unknown, session?: StoredSession | null) => void): void;
  set(sid: string, session: StoredSession, callback?: (error?: unknown) => void): void;
  destroy(sid: string, callback?: (error?: unknown) => void): void;
  touch?(sid: string, session: StoredSession, callback?: (error?: unknown) => void): void;
}

/** The request fields express-session's objects rely on. */
export interface SessionRequestLike {
  sessionID: string;
  session?: ExpressSession | null;
  sessionStore: LegacyStore | object;
}

/**
 * What the middleware lends a request's session so its methods go through the lock
 * instead of straight to the store. Absent when a Session is used on its own.
 * @internal
 */
export interface SessionController {
  save(session: ExpressSession, callback: Callback): void;
  reload(session: ExpressSession, callback: Callback): void;
  destroy(session: ExpressSession, callback: Callback): void;
  regenerate(callback: Callback): void;
}

const kController = Symbol.for('sessionlock.express.controller');

/**
 * Lends `session` to `controller`. Kept on the session rather than on `req`: Express 5
 * gives every request object a new hidden class (it swaps the prototype per request), so
 * each property written to or read from `req` misses V8's caches and costs microseconds.
 * @internal
 */
export function lendTo(session: ExpressSession, controller: SessionController): void {
  Object.defineProperty(session, kController, { value: controller, configurable: true });
}

function controllerOf(session: ExpressSession): SessionController | undefined {
  return (session as unknown as Record<symbol, SessionController | undefined>)[kController];
}

function asLegacy(store: LegacyStore | object): LegacyStore & Store {
  return store as LegacyStore & Store;
}

/**
 * express-session's `Session`: `req.session`. Its own enumerable properties are the
 * session's data; `cookie` holds the cookie settings; the methods are not enumerable,
 * so they are never stored.
 */
export class ExpressSession {
  declare readonly req: SessionRequestLike;
  declare readonly id: string;
  declare cookie: Cookie;
  [key: string]: unknown;

  constructor(req: SessionRequestLike, data?: Record<string, unknown> | null) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: req.sessionID });
    if (typeof data === 'object' && data !== null) {
      // Merge the data, leaving the prototype's methods alone (as express-session does).
      for (const prop of Object.keys(data)) if (!(prop in this)) this[prop] = data[prop];
    }
  }

  /** Reset the cookie's `maxAge` to its original value (extends a rolling expiry). */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Same as `touch()`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  /** Save the session. Under the middleware the write happens before the response's headers leave. */
  save(callback?: Callback): this {
    const controller = controllerOf(this);
    if (controller !== undefined) controller.save(this, callback ?? noop);
    else asLegacy(this.req.sessionStore).set(this.id, this as unknown as StoredSession, callback ?? noop);
    return this;
  }

  /** Re-read the session as last loaded or saved. */
  reload(callback: Callback): this {
    const controller = controllerOf(this);
    if (controller !== undefined) {
      controller.reload(this, callback);
      return this;
    }
    const req = this.req;
    const store = asLegacy(req.sessionStore);
    store.get(this.id, (error, stored) => {
      if (error) return callback(error);
      if (!stored) return callback(new Error('failed to load session'));
      store.createSession(req, stored);
      callback();
    });
    return this;
  }

  /** Remove the session from the store and from the request (logout). */
  destroy(callback?: Callback): this {
    const controller = controllerOf(this);
    Reflect.deleteProperty(this.req, 'session');
    if (controller !== undefined) controller.destroy(this, callback ?? noop);
    else asLegacy(this.req.sessionStore).destroy(this.id, callback ?? noop);
    return this;
  }

  /** Replace the session with a new, empty one under a new id (login, against fixation). */
  regenerate(callback: Callback): this {
    const controller = controllerOf(this);
    if (controller !== undefined) controller.regenerate(callback);
    else asLegacy(this.req.sessionStore).regenerate(this.req, callback);
    return this;
  }
}

function noop(): void {
  // The caller asked for no notification; errors still reach next(err) at commit.
}

/** express-session's abstract `Store`, callable as `Store.call(this)` by function-style stores. */
export interface Store extends EventEmitter {
  /** Set by the middleware: makes a fresh session on `req`. */
  generate?(req: SessionRequestLike): void;
  regenerate(req: SessionRequestLike, callback: Callback): void;
  load(sid: string, callback: Callback<ExpressSession>): void;
  createSession(req: SessionRequestLike, stored: StoredSession): ExpressSession;
}

/** The `Store` constructor, usable with `new`, `Store.call(this)` and `util.inherits`. */
export interface StoreConstructor {
  new (): Store;
  (this: Store): void;
  prototype: Store;
}

/** express-session's `Store` base: an EventEmitter with `regenerate`, `load` and `createSession`. */
export const Store = function Store(this: Store): void {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
inherits(Store, EventEmitter);

Store.prototype.regenerate = function regenerate(this: Store & LegacyStore, req, callback) {
  this.destroy(req.sessionID, (error) => {
    this.generate?.(req);
    callback(error);
  });
};

Store.prototype.load = function load(this: Store & LegacyStore, sid, callback) {
  this.get(sid, (error, stored) => {
    if (error) return callback(error);
    if (!stored) return callback();
    callback(undefined, this.createSession({ sessionID: sid, sessionStore: this }, stored));
  });
};

Store.prototype.createSession = function createSession(req, stored) {
  const { expires, originalMaxAge } = stored.cookie;
  const cookie = new Cookie(stored.cookie as ConstructorParameters<typeof Cookie>[0]);
  if (typeof expires === 'string') cookie.expires = new Date(expires);
  cookie.originalMaxAge = originalMaxAge;
  // The stored cookie is copied in its place, so the key order stays; then replaced, sparing a copy of `stored`.
  const session = new ExpressSession(req, stored);
  session.cookie = cookie;
  req.session = session;
  return session;
};

/**
 * How express-session's stores write a session: plain `JSON.stringify`, which leaves out
 * a function or an `undefined` value as they do (sessionlock's own serializer refuses
 * them), and needs no replacer call per value. A BigInt or a cycle still fails the save.
 */
export const expressSerializer: Serializer = {
  stringify(data) {
    try {
      return JSON.stringify(data);
    } catch (error) {
      throw new SerializationError('the session data cannot be written as JSON', { cause: error });
    }
  },
  parse: jsonSerializer.parse,
};
