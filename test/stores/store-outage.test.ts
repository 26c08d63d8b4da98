// A store server that goes away fails store calls (it does not hang them), and the same
// store object works again once the server is back, without a restart. Each case runs
// its own private server so stopping it disturbs no other test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createMemcachedStore } from '../../src/stores/memcached.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { SessionStore } from '../../src/stores/types.js';
import type { RestartableHandle } from '../services/_process.js';
import { startMemcached } from '../services/memcached.js';
import { startRedis } from '../services/redis.js';

const cases: { name: string; start(): Promise<RestartableHandle & { url: string }>; open(url: string): SessionStore }[] = [
  { name: 'redis', start: () => startRedis({ name: 'redis-outage' }), open: (url) => createRedisStore({ url, commandTimeoutMs: 500 }) },
  { name: 'memcached', start: () => startMemcached(), open: (url) => createMemcachedStore({ url, timeoutMs: 500 }) },
];

async function create(store: SessionStore): Promise<string> {
  const key = storeKeyOf(createSessionId());
  const now = Date.now();
  const result = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{"n":1}', expiresAt: now + 60_000, createdAt: now });
  assert.equal(result.status, 'ok');
  return key;
}

for (const { name, start, open } of cases) {
  describe(`${name} outage`, () => {
    it('fails calls while the server is down and recovers when it is back', { timeout: 60_000 }, async () => {
      const server = await start();
      const store = open(server.url);
      try {
        await create(store);
        await server.halt();
        await assert.rejects(store.acquire(storeKeyOf(createSessionId()), createLeaseToken(), 30_000));
        await assert.rejects(store.read(storeKeyOf(createSessionId())));
        await server.resume();
        // The client reconnects in the background; poll, bounded, until a call succeeds.
        let key: string | undefined;
        let lastError: unknown;
        for (let attempt = 0; attempt < 100 && key === undefined; attempt += 1) {
          try {
            key = await create(store);
          } catch (error) {
            lastError = error;
            await sleep(100);
          }
        }
        assert.ok(key !== undefined, `no recovery: ${String(lastError)}`);
        assert.equal((await store.acquire(key, createLeaseToken(), 30_000)).status, 'acquired');
      } finally {
        await store.close();
        await server.stop();
      }
    });
  });
}
