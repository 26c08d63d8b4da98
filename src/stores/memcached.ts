import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Memcached from 'memcached';
import { ConfigError } from '../errors.js';
import { decideAcquire, decideRenew, decideWrite, publicRecord, type LeasedRecord, type Transition } from './_lease-record.js';
import { batchWritesPerTick } from './_tick-batched-writes.js';
import type { SessionStore, StoreCapabilities } from './types.js';

/** Options of the memcached store. Give `url` or `client`. */
export interface MemcachedStoreOptions {
  /** `memcached://host:port`, or several servers: `memcached://host:port,host:port`. */
  url?: string;
  /**
   * A `memcached` client to use instead of `url`. The store never closes it, and leaves
   * its sockets as they are: only a client made from `url` sends the commands of one
   * event-loop turn in one write.
   */
  client?: Memcached;
  /** Prefix of every key. @default 'sessionlock:' */
  prefix?: string;
  /**
   * How long an item outlives `max(expiresAt, leaseUntil)` before memcached drops it, in
   * ms. Reads already treat it as gone at `expiresAt`; the slack keeps a record that a
   * live request holds from vanishing under it. @default 60000
   */
  expirySlackMs?: number;
  /** How many times one operation re-reads and retries after a lost compare-and-swap. @default 32 */
  maxCasAttempts?: number;
  /**
   * The clock leases and expiry are compared on (epoch ms). memcached has no clock a
   * client can read, so this is the app's: keep the app servers' clocks in sync (NTP).
   * @default Date.now
   */
  now?: () => number;
  /**
   * For a client created from `url`: connect/idle socket timeout and the pause before a
   * failed server is tried again, in ms. @default 2000
   */
  timeoutMs?: number;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  crossHost: true,
  nativeExpiry: true,
  notifications: false,
};

/** memcached reads an expiry above 30 days as an absolute Unix time, not a relative one. */
const MAX_RELATIVE_EXPIRY_S = 30 * 24 * 3600;

/**
 * The value that stands for "deleted": the text protocol has no delete-if-unchanged, so a
 * fenced delete swaps the record for this by CAS and lets it expire.
 */
const TOMBSTONE = '{"deleted":true}';
const TOMBSTONE_TTL_S = 2;

/** One item as `gets` saw it. */
interface Loaded {
  /** The live record, or undefined for a missing item or a tombstone. */
  readonly entry: LeasedRecord | undefined;
  /** The CAS unique of the item, when it exists (a tombstone included). */
  readonly cas: string | undefined;
}

function isLeasedRecord(value: unknown): value is LeasedRecord {
  const record = value as Partial<LeasedRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.data === 'string' &&
    typeof record.createdAt === 'number' &&
    typeof record.expiresAt === 'number' &&
    typeof record.version === 'number' &&
    (record.leaseToken === null || typeof record.leaseToken === 'string') &&
    typeof record.leaseUntil === 'number'
  );
}

function decode(text: unknown): LeasedRecord | undefined {
  if (typeof text !== 'string') throw new Error('the memcached item is not a sessionlock record');
  if (text === TOMBSTONE) return undefined;
  const value: unknown = JSON.parse(text);
  if (!isLeasedRecord(value)) throw new Error('the memcached item is not a sessionlock record');
  return value;
}

/** The memcached `exptime` for an item that must live until `untilMs` (epoch ms). */
export function expiryTime(untilMs: number, nowMs: number): number {
  const relativeS = Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
  // Relative when it fits (it does not depend on the server's clock); absolute beyond 30 days.
  return relativeS <= MAX_RELATIVE_EXPIRY_S ? relativeS : Math.ceil(untilMs / 1000);
}

function serversOf(url: string): string {
  const match = /^memcached:\/\/([^/?#]+)\/?$/i.exec(url);
  if (match === null || match[1] === undefined) throw new ConfigError('the memcached store URL is not of the form memcached://host:port[,host:port…]');
  return match[1];
}

/**
 * The `memcached` client writes every command to its socket on its own, and a request
 * here sends four. For a client the store made, the commands of one turn of the event
 * loop leave together (`_tick-batched-writes.ts`). The client picks the socket of every
 * command through its `connect(server, callback)`; a client passed in is left as it is.
 */
function batchClientWrites(client: Memcached): void {
  type Connect = (server: string, callback: (error: unknown, socket: unknown) => void) => void;
  const target = client as unknown as { connect: Connect };
  const connect = target.connect.bind(client) as Connect;
  target.connect = (server, callback) =>
    connect(server, (error, socket) => {
      if (socket instanceof Socket) batchWritesPerTick(socket);
      callback(error, socket);
    });
}

/**
 * Sessions in memcached. Each session is one item holding data, expiry and lease, and
 * every change is a compare-and-swap (`gets` then `cas`, or `add` for a new item) decided
 * by the same lease state machine as the memory and file stores; a lost swap re-reads
 * and decides again. Items expire by their TTL. memcached may evict items under memory
 * pressure, so sessions can be lost; see docs/stores/memcached.md.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: createMemcachedStore({ url: 'memcached://127.0.0.1:11211' }), secret });
 * ```
 */
export function createMemcachedStore(options: MemcachedStoreOptions): SessionStore {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new ConfigError('the memcached store needs exactly one of url and client');
  }
  const prefix = options.prefix ?? 'sessionlock:';
  const slackMs = options.expirySlackMs ?? 60_000;
  const maxAttempts = options.maxCasAttempts ?? 32;
  const now = options.now ?? Date.now;
  if (!(slackMs >= 0)) throw new ConfigError('expirySlackMs must be zero or more');
  if (!(maxAttempts >= 1)) throw new ConfigError('maxCasAttempts must be at least 1');
  const timeoutMs = options.timeoutMs ?? 2_000;
  // The library's defaults wait 30 s to retry a failed server and 5 h to reconnect a
  // dead one; a session store must come back soon after its server does.
  const clientOptions: Memcached.options & { failuresTimeout: number } = {
    timeout: timeoutMs,
    idle: 30_000,
    retries: 0,
    retry: timeoutMs,
    reconnect: timeoutMs,
    failures: 1_000_000,
    // Not in the type definitions; its default timer would keep the process alive for
    // 5 minutes after close().
    failuresTimeout: timeoutMs,
    remove: false,
  };
  const client = options.client ?? new Memcached(serversOf(options.url as string), clientOptions);
  const ownsClient = options.client === undefined;
  if (ownsClient) batchClientWrites(client);

  const itemKey = (key: string): string => `${prefix}${key}`;

  const load = (key: string): Promise<Loaded> =>
    new Promise((resolve, reject) => {
      client.gets(key, (error: unknown, reply) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        if (reply === undefined || reply === null) return resolve({ entry: undefined, cas: undefined });
        try {
          resolve({ entry: decode(reply[key]), cas: reply.cas });
        } catch (decodeError) {
          reject(decodeError);
        }
      });
    });

  /** Store `value` if the item is unchanged since `cas` (or still absent); false when it changed. */
  const swap = (key: string, value: string, lifetimeS: number, cas: string | undefined): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const done = (error: unknown, stored: boolean): void => {
        // `add` on an existing item answers NOT_STORED, which this library reports as an
        // error flagged `notStored`: for us that is a lost race, not a failure.
        if (error && (error as { notStored?: boolean }).notStored === true) return resolve(false);
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        resolve(stored === true);
      };
      if (cas === undefined) client.add(key, value, lifetimeS, done);
      else client.cas(key, value, cas, lifetimeS, done);
    });

  /** Read, decide, swap; again on a lost swap, a bounded number of times. */
  const update = async <R>(key: string, decide: (entry: LeasedRecord | undefined, at: number) => Transition<R>): Promise<R> => {
    const fullKey = itemKey(key);
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const { entry, cas } = await load(fullKey);
      const at = now();
      const { result, next } = decide(entry, at);
      if (next === undefined) return result;
      if (next === null && cas === undefined) return result;
      const stored =
        next === null
          ? await swap(fullKey, TOMBSTONE, TOMBSTONE_TTL_S, cas)
          : await swap(fullKey, JSON.stringify(next), expiryTime(Math.max(next.expiresAt, next.leaseToken === null ? 0 : next.leaseUntil) + slackMs, at), cas);
      if (stored) return result;
      // Someone else changed the item in between. Spread the retries of many contenders.
      if (attempt > 1) await sleep(Math.random() * Math.min(attempt, 10));
    }
    throw new Error(`memcached: the item kept changing under ${maxAttempts} compare-and-swap attempts`);
  };

  return {
    name: 'memcached',
    capabilities,
    acquire(key, token, leaseMs) {
      return update(key, (entry, at) => decideAcquire(entry, token, leaseMs, at));
    },
    async read(key) {
      const { entry } = await load(itemKey(key));
      return entry === undefined || entry.expiresAt <= now() ? null : publicRecord(entry);
    },
    write(key, guard, op) {
      return update(key, (entry, at) => decideWrite(entry, guard, op, at));
    },
    renew(key, token, leaseMs) {
      return update(key, (entry, at) => decideRenew(entry, token, leaseMs, at));
    },
    close() {
      if (ownsClient) client.end();
      return Promise.resolve();
    },
  };
}
