import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import { native } from './_native/redis.js';
import { connectRedis } from './_redis-connection.js';
import { ReleaseWaiters } from './_redis-waiters.js';
import type { AcquireResult, SessionStore, StoreCapabilities, StoredRecord, WriteGuard, WriteOp, WriteResult } from './types.js';

/** Options of the Redis store. Give `url` or `client`. */
export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). Several comma-separated
   * `host:port` seeds, or `?cluster=true`, connect to a Redis Cluster instead.
   */
  url?: string;
  /** An ioredis `Redis` or `Cluster` to use instead of `url`; the store never closes it. */
  client?: Redis | Cluster;
  /** Prefix of every key and channel the store uses. @default 'sessionlock:' */
  prefix?: string;
  /**
   * How long a record outlives `max(expiresAt, leaseUntil)` before Redis removes it by its
   * TTL, in ms. Reads already treat it as gone at `expiresAt` on Redis's clock; the slack
   * only keeps a record that a live request still holds from vanishing under it. @default 60000
   */
  expirySlackMs?: number;
  /**
   * For a client created from `url`: how long one command may take before it fails, in
   * ms, so an outage answers errors instead of hanging requests. @default 2000
   */
  commandTimeoutMs?: number;
  /** Receives background failures no caller waits for (a failed unsubscribe). @default process.emitWarning */
  onBackgroundError?: (error: unknown) => void;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  crossHost: true,
  nativeExpiry: true,
  notifications: true,
};

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const scripts = {
  acquire: script(native.acquire),
  read: script(native.read),
  write: script(native.write),
  renew: script(native.renew),
  watch: script(native.watch),
};

/** ioredis's reply to our scripts: Lua integers arrive as numbers, strings as strings. */
type Reply = readonly (string | number)[];

function isReply(value: unknown): value is Reply {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number');
}

function field(reply: Reply, index: number): string {
  const value = reply[index];
  if (value === undefined) throw new Error(`the Redis script answered ${reply.length} fields, fewer than expected`);
  return String(value);
}

function toRecord(reply: Reply): StoredRecord {
  return {
    data: field(reply, 1),
    createdAt: Number(field(reply, 2)),
    expiresAt: Number(field(reply, 3)),
    version: Number(field(reply, 4)),
  };
}

const WRITE_STATUS: Record<string, WriteResult['status']> = { '1': 'ok', '2': 'lost', '3': 'gone', '4': 'conflict' };

function guardArgs(guard: WriteGuard): [string, string] {
  switch (guard.kind) {
    case 'lease':
      return ['lease', guard.token];
    case 'version':
      return ['version', String(guard.version)];
    default:
      return [guard.kind, ''];
  }
}

function opArgs(op: WriteOp): [string, string, string, string, string, string] {
  if (op.kind !== 'save') return [op.kind, '0', '', '', '', ''];
  return [
    'save',
    op.data === undefined ? '0' : '1',
    op.data ?? '',
    op.expiresAt === undefined ? '' : String(Math.round(op.expiresAt)),
    op.createdAt === undefined ? '' : String(Math.round(op.createdAt)),
    op.holdMs === undefined ? '' : String(Math.round(op.holdMs)),
  ];
}

/**
 * Sessions in Redis or a Redis Cluster: one hash per session holding data, version,
 * expiry and lease, changed only by Lua scripts that read Redis's own clock (`TIME`).
 * Each operation is one `EVALSHA` round trip on one key, so it runs unchanged on a
 * Cluster; records expire by their TTL; a released lease wakes waiters in other
 * processes by pub/sub (sharded on a Cluster).
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: createRedisStore({ url: 'redis://127.0.0.1:6379' }), secret });
 * // or with your own client, which the store never closes:
 * const store = createRedisStore({ client: new Redis(process.env.REDIS_URL) });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): SessionStore {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new ConfigError('the redis store needs exactly one of url and client');
  }
  const prefix = options.prefix ?? 'sessionlock:';
  const slackMs = options.expirySlackMs ?? 60_000;
  if (!(slackMs >= 0)) throw new ConfigError('expirySlackMs must be zero or more');
  const onBackgroundError = options.onBackgroundError ?? ((error: unknown) => process.emitWarning(error instanceof Error ? error : String(error)));
  const ownsClient = options.client === undefined;
  const connection = ownsClient
    ? connectRedis(options.url as string, options.commandTimeoutMs ?? 2_000, onBackgroundError)
    : { client: options.client as Redis | Cluster, ready: () => undefined };
  const client = connection.client;
  const sharded = client.isCluster;
  // The hash tag puts a record and its channel in one slot: each script touches one key,
  // and on a Cluster the script may SPUBLISH to the channel from the record's shard.
  const recordKey = (key: string): string => `${prefix}{${key}}`;
  const channelOf = (key: string): string => `${prefix}release:{${key}}`;
  const publish = sharded ? 'SPUBLISH' : 'PUBLISH';

  const run = async (which: Script, key: string, args: readonly (string | number)[]): Promise<unknown> => {
    const connecting = connection.ready();
    if (connecting !== undefined) await connecting;
    try {
      return await client.evalsha(which.sha, 1, key, ...args);
    } catch (error) {
      // A server that has not seen the script yet (new, restarted, another Cluster node)
      // gets its text once; EVAL caches it for the next EVALSHA.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(which.lua, 1, key, ...args);
    }
  };
  const runReply = async (which: Script, key: string, args: readonly (string | number)[]): Promise<Reply> => {
    const reply = await run(which, key, args);
    if (!isReply(reply)) throw new Error('the Redis script answered an unexpected reply');
    return reply;
  };

  const waiters = new ReleaseWaiters({
    sharded,
    // A duplicate, because a connection in subscriber mode can send nothing else.
    createSubscriber: () =>
      sharded ? (client as Cluster).duplicate([], { shardedSubscribers: true }) : (client as Redis).duplicate(),
    watch: async (key) => (await run(scripts.watch, key, [])) === 1,
    onBackgroundError,
  });

  return {
    name: 'redis',
    capabilities,
    async acquire(key, token, leaseMs): Promise<AcquireResult> {
      const reply = await runReply(scripts.acquire, recordKey(key), [token, Math.round(leaseMs), slackMs]);
      switch (field(reply, 0)) {
        case '0':
          return { status: 'missing' };
        case '1':
          return { status: 'acquired', record: toRecord(reply), lease: { token, until: Number(field(reply, 5)) } };
        default:
          return { status: 'busy', leaseUntil: Number(field(reply, 1)) };
      }
    },
    async read(key) {
      const reply = await runReply(scripts.read, recordKey(key), []);
      return field(reply, 0) === '1' ? toRecord(reply) : null;
    },
    async write(key, guard, op): Promise<WriteResult> {
      const reply = await runReply(scripts.write, recordKey(key), [
        ...guardArgs(guard),
        ...opArgs(op),
        slackMs,
        channelOf(key),
        publish,
      ]);
      const status = WRITE_STATUS[field(reply, 0)];
      if (status === undefined) throw new Error('the Redis write script answered an unknown status');
      if (status !== 'ok') return { status } as WriteResult;
      const version = field(reply, 1);
      const leaseUntil = field(reply, 2);
      return {
        status,
        ...(version === '' ? {} : { version: Number(version) }),
        ...(leaseUntil === '' ? {} : { leaseUntil: Number(leaseUntil) }),
      };
    },
    async renew(key, token, leaseMs) {
      return (await run(scripts.renew, recordKey(key), [token, Math.round(leaseMs), slackMs])) === 1;
    },
    // Redis never hands a lease over: the waiter acquires again once woken.
    async waitForRelease(key, timeoutMs) {
      await waiters.wait(recordKey(key), channelOf(key), timeoutMs);
      return undefined;
    },
    async close() {
      await waiters.close();
      if (ownsClient) await client.quit();
    },
  };
}
