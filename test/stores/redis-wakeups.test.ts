// Cross-process wake-ups of the Redis store, with two stores on separate connections
// standing in for two processes. A wait given a 10-minute timeout that resolves can
// only have been woken by a release; if no wake-up came, the test's own timeout fails it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { SessionStore } from '../../src/stores/types.js';
import { requireServiceUrl, requireServiceUrls } from '../services/require.js';

const NEVER_MS = 600_000;
const TEST_TIMEOUT_MS = 20_000;

const targets = [
  { name: 'single server', url: () => requireServiceUrl('redis') },
  { name: 'Redis Cluster', url: () => `redis://${requireServiceUrls('redis-cluster').map((node) => new URL(node).host).join(',')}` },
];

async function lockedRecord(holder: SessionStore): Promise<{ key: string; token: string }> {
  const key = storeKeyOf(createSessionId());
  const now = Date.now();
  assert.equal((await holder.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now })).status, 'ok');
  const token = createLeaseToken();
  assert.equal((await holder.acquire(key, token, 30_000)).status, 'acquired');
  return { key, token };
}

for (const target of targets) {
  describe(`redis wake-ups (${target.name})`, () => {
    const stores: SessionStore[] = [];
    const open = (): SessionStore => {
      const store = createRedisStore({ url: target.url() });
      stores.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });

    it('wakes a waiter on another connection when the lease is released', { timeout: TEST_TIMEOUT_MS }, async () => {
      const holder = open();
      const waiter = open();
      const { key, token } = await lockedRecord(holder);
      assert.equal((await waiter.acquire(key, createLeaseToken(), 30_000)).status, 'busy');
      const first = waiter.waitForRelease?.(key, NEVER_MS, 'waiting-token');
      assert.ok(first !== undefined, 'the store offers waitForRelease');
      assert.equal((await holder.write(key, { kind: 'lease', token }, { kind: 'save', data: '{"a":1}', expiresAt: undefined })).status, 'ok');
      // Woken by the publish or, if the release beat the subscription, by the watch.
      await first;
      // Round two: the channel is still subscribed (it lingers), so only the publish of
      // the release can wake this wait.
      const again = createLeaseToken();
      assert.equal((await holder.acquire(key, again, 30_000)).status, 'acquired');
      assert.equal((await waiter.acquire(key, createLeaseToken(), 30_000)).status, 'busy');
      const second = waiter.waitForRelease?.(key, NEVER_MS, 'waiting-token');
      assert.equal((await holder.write(key, { kind: 'lease', token: again }, { kind: 'release' })).status, 'ok');
      await second;
      assert.equal((await waiter.acquire(key, createLeaseToken(), 30_000)).status, 'acquired');
    });

    it('wakes a waiter whose lease was released before it subscribed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const holder = open();
      const waiter = open();
      const { key, token } = await lockedRecord(holder);
      assert.equal((await waiter.acquire(key, createLeaseToken(), 30_000)).status, 'busy');
      assert.equal((await holder.write(key, { kind: 'lease', token }, { kind: 'release' })).status, 'ok');
      await waiter.waitForRelease?.(key, NEVER_MS, 'waiting-token');
      assert.equal((await waiter.acquire(key, createLeaseToken(), 30_000)).status, 'acquired');
    });
  });
}

describe('redis release notifications', () => {
  it('publishes only when someone waits', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = requireServiceUrl('redis');
    const listener = new Redis(url);
    const store = createRedisStore({ url });
    const other = createRedisStore({ url });
    try {
      const heard: string[] = [];
      const first = new Promise<void>((resolve) => {
        listener.on('pmessage', (_pattern: string, channel: string) => {
          heard.push(channel);
          resolve();
        });
      });
      await listener.psubscribe('sessionlock:release:*');
      // Uncontended: lock, save, release. Nobody waits, so nothing may be published.
      const quiet = await lockedRecord(store);
      await store.write(quiet.key, { kind: 'lease', token: quiet.token }, { kind: 'save', data: '{"b":2}', expiresAt: undefined });
      // Contended: the busy acquire marks the record, so its release publishes. Messages
      // arrive in order, so a publish by the quiet release would be heard first.
      const loud = await lockedRecord(store);
      assert.equal((await other.acquire(loud.key, createLeaseToken(), 30_000)).status, 'busy');
      await store.write(loud.key, { kind: 'lease', token: loud.token }, { kind: 'release' });
      await first;
      assert.deepEqual(heard, [`sessionlock:release:{${loud.key}}`]);
    } finally {
      await Promise.all([store.close(), other.close(), listener.quit()]);
    }
  });
});
