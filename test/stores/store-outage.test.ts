// A store server (Redis, memcached, PostgreSQL, MariaDB) that goes away fails store calls
// and requests at once (a typed StoreError with the driver's error attached; nothing
// hangs), and the same store and manager work again once the server is back, without a
// restart. Each case runs its own private server, so stopping it disturbs no other test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createSessionManager } from '../../src/core/manager.js';
import { isSessionError } from '../../src/errors.js';
import { createMemcachedStore } from '../../src/stores/memcached.js';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { SessionStore } from '../../src/stores/types.js';
import { newRecord } from '../fixtures/new-record.js';
import type { RestartableHandle } from '../services/_process.js';
import { startMariadb } from '../services/mariadb.js';
import { startMemcached } from '../services/memcached.js';
import { startPostgres } from '../services/postgres.js';
import { startRedis } from '../services/redis.js';

interface OutageCase {
  name: string;
  start(): Promise<RestartableHandle & { url: string }>;
  open(url: string): SessionStore;
  /** The test servers of Redis and memcached keep nothing on disk: a restart empties them. */
  keepsData: boolean;
}

const cases: OutageCase[] = [
  { name: 'redis', start: () => startRedis({ name: 'redis-outage' }), open: (url) => createRedisStore({ url, commandTimeoutMs: 500 }), keepsData: false },
  { name: 'memcached', start: () => startMemcached(), open: (url) => createMemcachedStore({ url, timeoutMs: 500 }), keepsData: false },
  { name: 'postgres', start: () => startPostgres(), open: (url) => createPostgresStore({ url, connections: 2 }), keepsData: true },
  { name: 'mysql', start: () => startMariadb(), open: (url) => createMysqlStore({ url, poolSize: 2 }), keepsData: true },
];

/** Retries `step` every 100 ms, at most 100 times, until it succeeds. */
async function eventually<T>(step: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
  }
  throw new Error('no recovery', { cause: lastError });
}

for (const { name, start, open, keepsData } of cases) {
  describe(`${name} outage`, () => {
    it('fails calls and requests while the server is down and recovers when it is back', { timeout: 120_000 }, async () => {
      const server = await start();
      const store = open(server.url);
      const manager = createSessionManager({ store, secret: 'outage-test-secret', lock: { waitMs: 2_000 } });
      try {
        const opened = await manager.open(undefined);
        opened.data.n = 1;
        const cookie = ((await manager.commit(opened)) as string).split(';')[0] as string;
        const held = await newRecord(store, '{"n":1}');
        const lease = await store.acquire(held, createLeaseToken(), 30_000);
        assert.equal(lease.status, 'acquired');
        // A busy session: with notifications this opens the listening connection too.
        const waiting = createLeaseToken();
        assert.equal((await store.acquire(held, waiting, 30_000)).status, 'busy');
        await store.waitForRelease?.(held, 50, waiting);

        await server.halt();
        await assert.rejects(store.acquire(storeKeyOf(createSessionId()), createLeaseToken(), 30_000));
        await assert.rejects(store.read(storeKeyOf(createSessionId())));
        await assert.rejects(manager.open(cookie), (error) => {
          assert.ok(isSessionError(error) && error.code === 'ERR_SESSION_STORE', String(error));
          assert.ok(error.cause !== undefined, 'the driver error is attached');
          return true;
        });
        if (store.waitForRelease !== undefined) {
          // Waiting must not hang on a dead listener either: it fails or ends.
          await store.waitForRelease(held, 1_000, waiting).catch((error: unknown) => assert.ok(error instanceof Error));
        }

        await server.resume();
        await eventually(() => newRecord(store, '{"n":1}'));
        const session = await eventually(() => manager.open(cookie));
        // An emptied server means a new session, never an error or a half-read record.
        assert.equal(session.isNew, !keepsData);
        if (keepsData) {
          assert.equal(session.data.n, 1);
          session.data.n = 2;
          await manager.commit(session);
          assert.equal((await manager.open(cookie, { mode: 'readonly' })).data.n, 2);
        } else {
          await manager.commit(session);
        }
      } finally {
        await manager.close();
        await store.close();
        await server.stop();
      }
    });
  });
}
