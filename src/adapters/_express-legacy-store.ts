import type { AcquireResult, SessionStore, StoredRecord, WriteGuard, WriteOp, WriteResult } from '../stores/types.js';
import type { LegacyStore, StoredSession } from './_express-compat.js';

/** A lease taken in this process, with the session text last loaded or written under it. */
interface LocalLease {
  token: string;
  until: number;
  text: string;
}

/** Legacy stores expire sessions themselves (from the cookie): the core must never think a record expired. */
const NEVER_MS = 8.64e15;

function call<T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(value)));
  });
}

function withoutCookie(text: string): string {
  const session = JSON.parse(text) as StoredSession;
  Reflect.deleteProperty(session, 'cookie');
  return JSON.stringify(session);
}

/**
 * Lets the session manager use an express-session store (callback `get`/`set`/
 * `destroy`/`touch`). Such stores have no lease, so the lock lives in this process
 * only: requests of one process are serialized, requests of two processes are not.
 * Keys are raw session ids, as the store expects, so existing sessions stay readable.
 */
export function adaptLegacyStore(store: LegacyStore): SessionStore {
  const leases = new Map<string, LocalLease>();

  async function load(sid: string): Promise<string | null> {
    let stored: StoredSession | null | undefined;
    try {
      stored = await call<StoredSession | null>((done) => store.get(sid, done));
    } catch (error) {
      // express-session reads ENOENT (file stores) as "no session".
      if ((error as { code?: unknown }).code === 'ENOENT') return null;
      throw error;
    }
    return stored ? JSON.stringify(stored) : null;
  }

  function record(text: string): StoredRecord {
    return { data: text, createdAt: Date.now(), expiresAt: NEVER_MS, version: 1 };
  }

  async function put(sid: string, text: string, previous: string | undefined): Promise<void> {
    const session = JSON.parse(text) as StoredSession;
    // Only the cookie moved (a rolling expiry): a touch, as express-session would send.
    if (store.touch !== undefined && previous !== undefined && withoutCookie(previous) === withoutCookie(text)) {
      await call((done) => store.touch?.(sid, session, done));
    } else {
      await call((done) => store.set(sid, session, done));
    }
  }

  return {
    name: 'express-session store',
    capabilities: { crossProcess: false, crossHost: false, nativeExpiry: true, notifications: false },

    async acquire(sid, token, leaseMs): Promise<AcquireResult> {
      const held = leases.get(sid);
      if (held !== undefined && held.until > Date.now()) return { status: 'busy', leaseUntil: held.until };
      const text = await load(sid);
      if (text === null) return { status: 'missing' };
      const until = Date.now() + leaseMs;
      leases.set(sid, { token, until, text });
      return { status: 'acquired', record: record(text), lease: { token, until } };
    },

    async read(sid) {
      const text = await load(sid);
      return text === null ? null : record(text);
    },

    async write(sid: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
      const lease = leases.get(sid);
      if (guard.kind === 'lease' && lease?.token !== guard.token) return { status: 'lost' };
      const leased = guard.kind === 'lease' ? lease : undefined;
      if (op.kind === 'delete') {
        leases.delete(sid);
        await call((done) => store.destroy(sid, done));
        return { status: 'ok' };
      }
      if (op.kind === 'release') {
        leases.delete(sid);
        return { status: 'ok' };
      }
      if (op.data !== undefined) await put(sid, op.data, leased?.text);
      else if (op.expiresAt !== undefined && leased !== undefined) await put(sid, leased.text, leased.text);
      if (leased !== undefined) {
        if (op.holdMs === undefined) leases.delete(sid);
        else Object.assign(leased, { until: Date.now() + op.holdMs, text: op.data ?? leased.text });
      }
      return { status: 'ok', version: 1, ...(op.holdMs === undefined || leased === undefined ? {} : { leaseUntil: leased.until }) };
    },

    async renew(sid, token, leaseMs) {
      const lease = leases.get(sid);
      if (lease?.token !== token) return false;
      lease.until = Date.now() + leaseMs;
      return true;
    },

    async close() {
      // The application owns the store it passed in.
    },
  };
}
