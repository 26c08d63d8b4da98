/**
 * Release notifications for the PostgreSQL store: ONE dedicated connection per store
 * (so per process in the usual setup) runs `LISTEN sessionlock_release`; each
 * notification names a record key and is dispatched in-process to whoever waits for
 * that key. A notification that also hands the lease over to a waiting token carries
 * the record, and the wait of that token answers it as acquired. The connection is
 * opened only when a first acquire finds a session busy, so a process without
 * contention never holds it.
 */
import pg from 'pg';
import type { AcquireResult } from './types.js';

/** The one channel every store process listens on. */
export const RELEASE_CHANNEL = 'sessionlock_release';

/** What a hand-over gives its waiter. */
export type Acquired = Extract<AcquireResult, { status: 'acquired' }>;

/** Interest in one key: set by a busy acquire, kept while its waiter tries again. */
interface Interest {
  /** When a busy acquire last registered it (local clock, ms); stale ones are pruned. */
  sinceMs: number;
  /** A release notification for the key arrived since the last wait began. */
  notified: boolean;
  /** Resolvers of the waits in progress for the key. */
  readonly wakers: Set<() => void>;
  /** The tokens waiting on the key, each with the lease once it was handed over to it. */
  readonly tokens: Map<string, Acquired | undefined>;
}

/**
 * Reads a notification payload: a bare key (a release), or a hand-over
 * `key\ttoken\tlease_until\tcreated_at\texpires_at\tversion\ndata` (native/postgres.sql).
 */
function parsePayload(payload: string): { key: string; handedOver?: Acquired } {
  const lineEnd = payload.indexOf('\n');
  if (lineEnd === -1) return { key: payload };
  const [key = '', token = '', until, createdAt, expiresAt, version] = payload.slice(0, lineEnd).split('\t');
  return {
    key,
    handedOver: {
      status: 'acquired',
      record: {
        data: payload.slice(lineEnd + 1),
        createdAt: Number(createdAt),
        expiresAt: Number(expiresAt),
        version: Number(version),
      },
      lease: { token, until: Number(until) },
    },
  };
}

/** Most hand-overs kept for tokens this process has not yet registered (see `#unclaimed`). */
const MAX_UNCLAIMED = 256;

/** How long an interest nobody waited on is kept, in ms (a wait follows a busy acquire at once). */
const STALE_INTEREST_MS = 5_000;

/** Listens for release notifications on a connection of its own. */
export class ReleaseListener {
  readonly #config: pg.ClientConfig;
  readonly #interests = new Map<string, Interest>();
  /**
   * Hand-overs that named no token waiting here. Most are for other processes, but the
   * hand-over to our own busy acquire can be read before that acquire's answer, which
   * arrives on another connection; `expect` looks here first. Oldest dropped first.
   */
  readonly #unclaimed = new Map<string, Acquired>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(config: pg.ClientConfig) {
    this.#config = config;
  }

  /**
   * Note that `key` was found busy, before the caller starts waiting: a notification
   * arriving in between is kept instead of lost. Also starts listening if needed.
   */
  expect(key: string, token: string): void {
    if (this.#closed) return;
    if (this.#interests.size > 1_000) this.#prune();
    const interest = this.#interest(key);
    interest.sinceMs = Date.now();
    const early = this.#unclaimed.get(token);
    if (early !== undefined) {
      this.#unclaimed.delete(token);
      interest.tokens.set(token, early);
      interest.notified = true;
    } else if (!interest.tokens.has(token)) {
      interest.tokens.set(token, undefined);
    }
    // A connection failure here is reported by the wait that follows, which awaits the same promise.
    this.#listen().catch(() => undefined);
  }

  /**
   * Resolve when a release of `key` is notified, or after `timeoutMs`: with the lease
   * when it was handed over to `token`, else with undefined and the caller tries again.
   * Resolves at once when the notification already arrived, or when listening only just
   * started (a release may have happened before).
   *
   * @throws when the listening connection cannot be opened.
   */
  async wait(key: string, timeoutMs: number, token: string): Promise<Acquired | undefined> {
    if (this.#closed) return undefined;
    const interest = this.#interest(key);
    if (!interest.tokens.has(token)) interest.tokens.set(token, undefined);
    if (interest.notified) {
      interest.notified = false;
      return this.#take(key, interest, token);
    }
    if (this.#client === undefined) {
      // Bounded like any wait: a database that does not answer must not hold the caller
      // past its deadline (a refused connection still rejects at once).
      let timer: NodeJS.Timeout | undefined;
      const elapsed = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      try {
        await Promise.race([this.#listen(), elapsed]);
      } finally {
        clearTimeout(timer);
      }
      return undefined;
    }
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        interest.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      interest.wakers.add(wake);
    });
    interest.notified = false;
    return this.#take(key, interest, token);
  }

  /** `token` no longer waits for `key`: it acquired, found the record gone, or gave up. */
  forget(key: string, token: string): void {
    const interest = this.#interests.get(key);
    if (interest === undefined) return;
    interest.tokens.delete(token);
    if (interest.tokens.size === 0 && interest.wakers.size === 0) this.#interests.delete(key);
  }

  #interest(key: string): Interest {
    let interest = this.#interests.get(key);
    if (interest === undefined) {
      interest = { sinceMs: Date.now(), notified: false, wakers: new Set(), tokens: new Map() };
      this.#interests.set(key, interest);
    }
    return interest;
  }

  /** The lease handed over to `token`, if it was; it then no longer waits. */
  #take(key: string, interest: Interest, token: string): Acquired | undefined {
    const handedOver = interest.tokens.get(token);
    if (handedOver !== undefined) this.forget(key, token);
    return handedOver;
  }

  /** Stop listening and wake every waiter. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeAll();
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await client.end();
  }

  #listen(): Promise<void> {
    if (this.#client !== undefined) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionTimeoutMillis: 5_000, ...this.#config });
    // Without a listener an idle connection's error would crash the process. The error
    // is not lost: waiters are woken and retry through the pool, whose statements
    // report the failure if the database is really gone.
    client.on('error', () => this.#drop(client));
    client.on('end', () => this.#drop(client));
    client.on('notification', (message) => {
      if (message.channel === RELEASE_CHANNEL && message.payload !== undefined) this.#notified(parsePayload(message.payload));
    });
    await client.connect();
    try {
      await client.query(`LISTEN ${RELEASE_CHANNEL}`);
    } catch (error) {
      // The LISTEN failure is the one worth reporting; closing is best effort.
      client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
  }

  #notified({ key, handedOver }: { key: string; handedOver?: Acquired }): void {
    const interest = this.#interests.get(key);
    // Every process hears every hand-over; only the one whose token it names keeps it.
    if (handedOver !== undefined) {
      const { token } = handedOver.lease;
      if (interest?.tokens.has(token) === true) {
        interest.tokens.set(token, handedOver);
      } else {
        this.#unclaimed.set(token, handedOver);
        if (this.#unclaimed.size > MAX_UNCLAIMED) this.#unclaimed.delete(this.#unclaimed.keys().next().value as string);
      }
    }
    if (interest === undefined) return;
    interest.notified = true;
    for (const wake of [...interest.wakers]) wake();
  }

  #drop(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    // Notifications sent while nobody listened are lost: everyone retries now.
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const interest of this.#interests.values()) {
      for (const wake of [...interest.wakers]) wake();
    }
  }

  #prune(): void {
    const cutoff = Date.now() - STALE_INTEREST_MS;
    for (const [key, interest] of this.#interests) {
      // A waiter gives its place up by `forget` (stopWaiting); one that never did is long gone.
      if (interest.wakers.size === 0 && interest.sinceMs < cutoff) this.#interests.delete(key);
    }
  }
}
