// Cross-process wake-ups of the PostgreSQL store: a release NOTIFYs the waiters of that
// session, and only when someone waits. Two stores with their own pools stand for two
// processes. A test's own LISTEN connection sees exactly what the database sent, so
// the tests assert on notifications, never on elapsed time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import type { SessionStore } from '../../src/stores/types.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');
const CHANNEL = 'sessionlock_release';
/** Far longer than any wake-up: a wait that ends by this timeout fails the test by its own timeout first. */
const NEVER_MS = 120_000;

/** A LISTEN connection that records every payload on the release channel, in order. */
async function listen(): Promise<{ payloads: string[]; next: (payload: string) => Promise<void>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  const payloads: string[] = [];
  const waiting = new Map<string, () => void>();
  client.on('notification', (message) => {
    const payload = message.payload ?? '';
    payloads.push(payload);
    waiting.get(payload)?.();
  });
  await client.connect();
  await client.query(`LISTEN ${CHANNEL}`);
  return {
    payloads,
    next: (payload) =>
      payloads.includes(payload) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(payload, resolve)),
    close: () => client.end(),
  };
}

async function newRecord(store: SessionStore): Promise<string> {
  const key = storeKeyOf(createSessionId());
  const now = Date.now();
  const created = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now });
  assert.equal(created.status, 'ok');
  return key;
}

describe('postgres release notifications', () => {
  let holder: SessionStore;
  let waiter: SessionStore;
  before(() => {
    holder = createPostgresStore({ url, poolSize: 2 });
    waiter = createPostgresStore({ url, poolSize: 2 });
  });
  after(async () => {
    await holder.close();
    await waiter.close();
  });

  it('wakes a waiter in another process when the holder releases', { timeout: 30_000 }, async () => {
    const observer = await listen();
    try {
      const key = await newRecord(holder);
      const held = await holder.acquire(key, createLeaseToken(), 60_000);
      assert.equal(held.status, 'acquired');
      assert.ok(held.status === 'acquired');
      // The first busy attempt also opens the waiter's listening connection; the wait
      // that follows returns at once (a release may have come before it listened), so
      // the waiter tries again, exactly as the core does.
      assert.equal((await waiter.acquire(key, createLeaseToken(), 60_000)).status, 'busy');
      await waiter.waitForRelease?.(key, NEVER_MS);
      assert.equal((await waiter.acquire(key, createLeaseToken(), 60_000)).status, 'busy');
      const woken = waiter.waitForRelease?.(key, NEVER_MS);
      assert.ok(woken !== undefined, 'the store offers waitForRelease');
      const released = await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'release' });
      assert.equal(released.status, 'ok');
      await woken;
      await observer.next(key);
      assert.equal((await waiter.acquire(key, createLeaseToken(), 60_000)).status, 'acquired');
    } finally {
      await observer.close();
    }
  });

  it('wakes waiters when the holder saves, and when it destroys the session', { timeout: 30_000 }, async () => {
    for (const op of [{ kind: 'save', data: '{"n":1}', expiresAt: undefined }, { kind: 'delete' }] as const) {
      const key = await newRecord(holder);
      const held = await holder.acquire(key, createLeaseToken(), 60_000);
      assert.ok(held.status === 'acquired');
      assert.equal((await waiter.acquire(key, createLeaseToken(), 60_000)).status, 'busy');
      const woken = waiter.waitForRelease?.(key, NEVER_MS);
      assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, op)).status, 'ok');
      await woken;
      const next = await waiter.acquire(key, createLeaseToken(), 60_000);
      assert.equal(next.status, op.kind === 'delete' ? 'missing' : 'acquired');
    }
  });

  it('sends no notification when nobody waited', { timeout: 30_000 }, async () => {
    const observer = await listen();
    try {
      const key = await newRecord(holder);
      const held = await holder.acquire(key, createLeaseToken(), 60_000);
      assert.ok(held.status === 'acquired');
      assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'release' })).status, 'ok');
      // Notifications arrive in commit order: once this later one is seen, any NOTIFY
      // of the release above would have been seen before it.
      const sentinel = `sentinel-${createLeaseToken()}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query('SELECT pg_notify($1, $2)', [CHANNEL, sentinel]);
      await admin.end();
      await observer.next(sentinel);
      assert.deepEqual(observer.payloads.filter((payload) => payload === key), []);
    } finally {
      await observer.close();
    }
  });
});
