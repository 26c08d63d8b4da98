import { inherits } from 'node:util';
import { Store, type Callback, type LegacyStore, type StoredSession } from './_express-compat.js';

/** express-session's `MemoryStore`: JSON strings in an object, for development and tests. */
export interface MemoryStore extends Store, Omit<LegacyStore, 'on'> {
  sessions: Record<string, string>;
  all(callback: Callback<Record<string, StoredSession>>): void;
  clear(callback?: Callback): void;
  length(callback: Callback<number>): void;
}

/** The `MemoryStore` constructor, usable with `new` and `MemoryStore.call(this)`. */
export interface MemoryStoreConstructor {
  new (): MemoryStore;
  (this: MemoryStore): void;
  prototype: MemoryStore;
}

/** The stored session, or undefined when missing or past its cookie's expiry (then dropped). */
function getSession(store: MemoryStore, sid: string): StoredSession | undefined {
  const text = store.sessions[sid];
  if (text === undefined) return undefined;
  const session = JSON.parse(text) as StoredSession;
  const raw = session.cookie?.expires;
  const expires = typeof raw === 'string' ? new Date(raw) : raw;
  if (expires instanceof Date && expires.valueOf() <= Date.now()) {
    Reflect.deleteProperty(store.sessions, sid);
    return undefined;
  }
  return session;
}

/**
 * express-session's in-memory store, the default when no `store` is given. Single
 * process only, and it never sweeps sessions without a cookie expiry: not for production.
 */
export const MemoryStore = function MemoryStore(this: MemoryStore): void {
  Store.call(this);
  this.sessions = Object.create(null) as Record<string, string>;
} as unknown as MemoryStoreConstructor;
inherits(MemoryStore, Store);

// Callbacks run on a later turn, as express-session's do, so callers never see them synchronously.
MemoryStore.prototype.all = function all(callback) {
  const out: Record<string, StoredSession> = Object.create(null) as Record<string, StoredSession>;
  for (const sid of Object.keys(this.sessions)) {
    const session = getSession(this, sid);
    if (session !== undefined) out[sid] = session;
  }
  setImmediate(callback, undefined, out);
};
MemoryStore.prototype.clear = function clear(callback) {
  this.sessions = Object.create(null) as Record<string, string>;
  if (callback) setImmediate(callback);
};
MemoryStore.prototype.destroy = function destroy(sid, callback) {
  Reflect.deleteProperty(this.sessions, sid);
  if (callback) setImmediate(callback);
};
MemoryStore.prototype.get = function get(sid, callback) {
  setImmediate(callback, undefined, getSession(this, sid));
};
MemoryStore.prototype.set = function set(sid, session, callback) {
  this.sessions[sid] = JSON.stringify(session);
  if (callback) setImmediate(callback);
};
MemoryStore.prototype.length = function length(callback) {
  this.all((error, sessions) => (error ? callback(error) : callback(undefined, Object.keys(sessions ?? {}).length)));
};
MemoryStore.prototype.touch = function touch(sid, session, callback) {
  const current = getSession(this, sid);
  if (current !== undefined) {
    current.cookie = session.cookie;
    this.sessions[sid] = JSON.stringify(current);
  }
  if (callback) setImmediate(callback);
};
