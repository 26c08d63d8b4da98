/**
 * Release notifications for the PostgreSQL store: ONE dedicated connection per store
 * (so per process in the usual setup) runs `LISTEN sessionlock_release`; each
 * notification's payload is a record key, dispatched in-process to whoever waits for
 * that key. The connection is opened only when a first acquire finds a session busy,
 * so a process without contention never holds it.
 */
import pg from 'pg';

/** The one channel every store process listens on; the payload is the record key. */
export const RELEASE_CHANNEL = 'sessionlock_release';

/** Interest in one key: set by a busy acquire, consumed by the wait that follows it. */
interface Interest {
  /** When the interest was registered (local clock, ms); stale ones are pruned. */
  readonly sinceMs: number;
  /** A release notification for the key arrived since the interest was registered. */
  notified: boolean;
  /** Resolvers of the waits in progress for the key. */
  readonly wakers: Set<() => void>;
}

/** How long an interest nobody waited on is kept, in ms (a wait follows a busy acquire at once). */
const STALE_INTEREST_MS = 5_000;

/** Listens for release notifications on a connection of its own. */
export class ReleaseListener {
  readonly #config: pg.ClientConfig;
  readonly #interests = new Map<string, Interest>();
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
  expect(key: string): void {
    if (this.#closed) return;
    if (this.#interests.size > 1_000) this.#prune();
    if (!this.#interests.has(key)) {
      this.#interests.set(key, { sinceMs: Date.now(), notified: false, wakers: new Set() });
    }
    // A connection failure here is reported by the wait that follows, which awaits the same promise.
    this.#listen().catch(() => undefined);
  }

  /**
   * Resolve when a release of `key` is notified, or after `timeoutMs`. Resolves at once
   * when the notification already arrived, or when listening only just started (a
   * release may have happened before), so the caller simply tries again.
   *
   * @throws when the listening connection cannot be opened.
   */
  async wait(key: string, timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    let interest = this.#interests.get(key);
    if (interest === undefined) {
      interest = { sinceMs: Date.now(), notified: false, wakers: new Set() };
      this.#interests.set(key, interest);
    }
    if (interest.notified) {
      this.#interests.delete(key);
      return;
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
      return;
    }
    const current = interest;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        current.wakers.delete(wake);
        if (current.wakers.size === 0 && this.#interests.get(key) === current) this.#interests.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      current.wakers.add(wake);
    });
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
      if (message.channel === RELEASE_CHANNEL && message.payload !== undefined) this.#notified(message.payload);
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

  #notified(key: string): void {
    const interest = this.#interests.get(key);
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
      if (interest.wakers.size === 0 && interest.sinceMs < cutoff) this.#interests.delete(key);
    }
  }
}
