// memcached specifics the conformance suite cannot see: how items are laid out, the
// 30-day rule of memcached's expiry times, fenced deletes, and expiry by the server.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Memcached from 'memcached';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createSessionManager } from '../../src/index.js';
import { createMemcachedStore, expiryTime } from '../../src/stores/memcached.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('memcached');
const raw = new Memcached(new URL(url).host);

function rawGet(key: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    raw.get(`sessionlock:${key}`, (error: unknown, value: unknown) => (error ? reject(error as Error) : resolve(value)));
  });
}

describe('memcached items', () => {
  after(() => raw.end());

  it('sends relative expiry times up to 30 days and absolute Unix times beyond', () => {
    const now = 1_700_000_000_000;
    assert.equal(expiryTime(now + 1, now), 1, 'never 0, which memcached reads as "never expires"');
    assert.equal(expiryTime(now - 5_000, now), 1);
    assert.equal(expiryTime(now + 90_500, now), 91);
    assert.equal(expiryTime(now + 30 * 86_400_000, now), 30 * 86_400);
    assert.equal(expiryTime(now + 31 * 86_400_000, now), Math.ceil((now + 31 * 86_400_000) / 1000));
  });

  it('fences a delete by swapping in a tombstone that reads as missing', async () => {
    const store = createMemcachedStore({ url });
    try {
      const key = storeKeyOf(createSessionId());
      const now = Date.now();
      await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now });
      const token = createLeaseToken();
      assert.equal((await store.acquire(key, token, 30_000)).status, 'acquired');
      assert.equal((await store.write(key, { kind: 'lease', token }, { kind: 'delete' })).status, 'ok');
      assert.equal(await rawGet(key), '{"deleted":true}');
      assert.equal(await store.read(key), null);
      assert.equal((await store.acquire(key, createLeaseToken(), 30_000)).status, 'missing');
      assert.equal((await store.write(key, { kind: 'lease', token }, { kind: 'save', data: '{"x":1}', expiresAt: undefined })).status, 'gone');
    } finally {
      await store.close();
    }
  });

  it('costs 4 round trips exclusive (gets+cas twice) and 1 readonly', async () => {
    const client = new Memcached(new URL(url).host);
    const sent: string[] = [];
    for (const method of ['gets', 'cas', 'add', 'get', 'set', 'del'] as const) {
      const original = client[method].bind(client) as (...args: unknown[]) => void;
      (client as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        sent.push(method);
        original(...args);
      };
    }
    const manager = createSessionManager({ store: createMemcachedStore({ client }), secret: 'memcached-round-trips' });
    try {
      const fresh = await manager.open(undefined);
      fresh.data.hits = 0;
      const cookie = ((await manager.commit(fresh)) as string).split(';')[0] as string;
      sent.splice(0);
      const exclusive = await manager.open(cookie);
      exclusive.data.hits = 1;
      await manager.commit(exclusive);
      assert.deepEqual(sent.splice(0), ['gets', 'cas', 'gets', 'cas']);
      const readonly = await manager.open(cookie, { mode: 'readonly' });
      assert.equal(readonly.data.hits, 1);
      await manager.commit(readonly);
      assert.deepEqual(sent.splice(0), ['gets']);
    } finally {
      await manager.close();
      client.end();
    }
  });

  it('lets memcached drop an expired item by its TTL, without any sweep', { timeout: 15_000 }, async () => {
    const store = createMemcachedStore({ url, expirySlackMs: 0 });
    try {
      const key = storeKeyOf(createSessionId());
      const now = Date.now();
      await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 200, createdAt: now });
      assert.equal(typeof (await rawGet(key)), 'string');
      // memcached counts expiry in whole seconds, so the item goes within about 2 s; poll
      // (bounded) rather than sleep a fixed time.
      let value: unknown = 'present';
      for (let poll = 0; poll < 100 && value !== undefined; poll += 1) {
        await sleep(100);
        value = await rawGet(key);
      }
      assert.equal(value, undefined);
    } finally {
      await store.close();
    }
  });

  it('sends the commands that overlapping requests issue in one turn as one write', async () => {
    const store = createMemcachedStore({ url });
    const port = Number(new URL(url).port);
    const socketProto = Socket.prototype as unknown as { _writev: (this: Socket, chunks: unknown[], callback: unknown) => unknown };
    const writev = socketProto._writev;
    const batches: number[] = [];
    try {
      const key = storeKeyOf(createSessionId());
      const now = Date.now();
      await store.write(key, { kind: 'create' }, { kind: 'save', data: '{"n":1}', expiresAt: now + 60_000, createdAt: now });
      socketProto._writev = function countedWritev(this: Socket, chunks, callback) {
        if (this.remotePort === port) batches.push(chunks.length);
        return writev.call(this, chunks, callback);
      };
      const reads = await Promise.all(Array.from({ length: 20 }, () => store.read(key)));
      assert.deepEqual(reads.map((record) => record?.data), reads.map(() => '{"n":1}'));
      assert.deepEqual(batches, [20], 'twenty gets in one system call');
    } finally {
      socketProto._writev = writev;
      await store.close();
    }
  });
});
