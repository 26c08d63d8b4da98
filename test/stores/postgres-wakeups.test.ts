// Cross-process wake-ups of the PostgreSQL store: a release NOTIFYs the waiters of that
// session, and only when someone waits. Two stores with their own pools stand for two
// processes. A test's own LISTEN connection sees exactly what the database sent, so
// the tests assert on notifications, never on elapsed time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createLeaseToken } from '../../src/core/ids.js';
import { isSessionError } from '../../src/errors.js';
import { createSessionManager } from '../../src/index.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import type { AcquireResult, SessionStore } from '../../src/stores/types.js';
import { newCookie } from '../fixtures/new-cookie.js';
import { newRecord } from '../fixtures/new-record.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');
const CHANNEL = 'sessionlock_release';
/** Far longer than any wake-up: a wait that ends by this timeout fails the test by its own timeout first. */
const NEVER_MS = 120_000;

/** A LISTEN connection that records every payload on the release channel, in order. */
async function listen(): Promise<{ payloads: string[]; next: (prefix: string) => Promise<void>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  const payloads: string[] = [];
  const waiting: { readonly prefix: string; readonly resolve: () => void }[] = [];
  client.on('notification', (message) => {
    const payload = message.payload ?? '';
    payloads.push(payload);
    for (const { prefix, resolve } of waiting) if (payload.startsWith(prefix)) resolve();
  });
  await client.connect();
  await client.query(`LISTEN ${CHANNEL}`);
  return {
    payloads,
    /** Resolves once a payload starting with `prefix` arrived. */
    next: (prefix) =>
      payloads.some((payload) => payload.startsWith(prefix))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ prefix, resolve })),
    close: () => client.end(),
  };
}

describe('postgres release notifications', () => {
  let holder: SessionStore;
  let waiter: SessionStore;
  /** A process that does not listen: its busy attempts never take a place in line. */
  let prober: SessionStore;
  before(() => {
    holder = createPostgresStore({ url, connections: 2 });
    waiter = createPostgresStore({ url, connections: 2 });
    prober = createPostgresStore({ url, connections: 1, notifications: false });
  });
  after(async () => {
    await holder.close();
    await waiter.close();
    await prober.close();
  });

  /**
   * Busy attempts by `waiter` with `token`, as the core makes them: the first opens the
   * listening connection (the wait that follows then returns at once, since a release
   * may have come before it listened; later it ends by its short timeout), the second
   * finds the session still busy. The waiter is then counted and next in line.
   */
  async function waitInLine(key: string, token: string): Promise<void> {
    assert.equal((await waiter.acquire(key, token, 60_000)).status, 'busy');
    assert.equal(await waiter.waitForRelease?.(key, 50, token), undefined);
    assert.equal((await waiter.acquire(key, token, 60_000)).status, 'busy');
  }

  /** A new record held by `holder`, with `waiter` in line for it under a token of its own. */
  async function heldWithWaiter(): Promise<{ key: string; held: Extract<AcquireResult, { status: 'acquired' }>; token: string }> {
    const key = await newRecord(holder);
    const held = await holder.acquire(key, createLeaseToken(), 60_000);
    assert.ok(held.status === 'acquired');
    const token = createLeaseToken();
    await waitInLine(key, token);
    return { key, held, token };
  }

  it('hands the lease and the saved record over to the waiter of another process', { timeout: 30_000 }, async () => {
    const observer = await listen();
    try {
      const { key, held, token } = await heldWithWaiter();
      const woken = waiter.waitForRelease?.(key, NEVER_MS, token);
      assert.ok(woken !== undefined, 'the store offers waitForRelease');
      const saved = await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'save', data: '{"n":"a\tb\nc"}', expiresAt: undefined });
      assert.ok(saved.status === 'ok');
      const handedOver = await woken;
      assert.ok(handedOver !== undefined, 'the wait answers with the lease');
      assert.equal(handedOver.lease.token, token);
      assert.deepEqual(handedOver.record, { ...held.record, data: '{"n":"a\tb\nc"}', version: saved.version });
      // What the database sent: the hand-over to this token, with the record.
      await observer.next(`${key}\t${token}\t`);
      // The lease is the waiter's now: nobody else gets it, and the waiter's writes hold.
      assert.equal((await prober.acquire(key, createLeaseToken(), 60_000)).status, 'busy');
      assert.equal((await waiter.write(key, { kind: 'lease', token }, { kind: 'release' })).status, 'ok');
      assert.equal((await prober.acquire(key, createLeaseToken(), 60_000)).status, 'acquired');
    } finally {
      await observer.close();
    }
  });

  it('a missed hand-over is found by the next attempt with the same token', { timeout: 30_000 }, async () => {
    const { key, held, token } = await heldWithWaiter();
    assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'release' })).status, 'ok');
    const again = await waiter.acquire(key, token, 60_000);
    assert.ok(again.status === 'acquired');
    assert.equal(again.record.data, '{}');
    assert.equal((await waiter.write(key, { kind: 'lease', token }, { kind: 'release' })).status, 'ok');
  });

  it('wakes the waiter without a hand-over when the holder destroys the session', { timeout: 30_000 }, async () => {
    const { key, held, token } = await heldWithWaiter();
    const woken = waiter.waitForRelease?.(key, NEVER_MS, token);
    assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'delete' })).status, 'ok');
    assert.equal(await woken, undefined);
    assert.equal((await waiter.acquire(key, token, 60_000)).status, 'missing');
  });

  it('releases instead of handing over data too large for a notification', { timeout: 30_000 }, async () => {
    const { key, held, token } = await heldWithWaiter();
    const woken = waiter.waitForRelease?.(key, NEVER_MS, token);
    const large = JSON.stringify({ text: 'x'.repeat(7_001) });
    const saved = await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'save', data: large, expiresAt: undefined });
    assert.equal(saved.status, 'ok');
    assert.equal(await woken, undefined);
    const next = await waiter.acquire(key, token, 60_000);
    assert.ok(next.status === 'acquired');
    assert.equal(next.record.data, large);
    assert.equal((await waiter.write(key, { kind: 'lease', token }, { kind: 'release' })).status, 'ok');
  });

  it('a waiter that gives up takes back its place, and a lease already handed over', { timeout: 30_000 }, async () => {
    for (const when of ['before the release', 'after the release'] as const) {
      const { key, held, token } = await heldWithWaiter();
      if (when === 'before the release') await waiter.stopWaiting?.(key, token);
      assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'release' })).status, 'ok');
      if (when === 'after the release') await waiter.stopWaiting?.(key, token);
      assert.equal((await holder.acquire(key, createLeaseToken(), 60_000)).status, 'acquired', when);
    }
  });

  it('never hands a lease to a waiter that stopped asking', { timeout: 30_000 }, async () => {
    const key = await newRecord(holder);
    const held = await holder.acquire(key, createLeaseToken(), 60_000);
    assert.ok(held.status === 'acquired');
    await waitInLine(key, createLeaseToken());
    // A waiter that died keeps its place for 1 s (QUEUE_MS) on the database's clock.
    await sleep(1_500);
    assert.equal((await holder.write(key, { kind: 'lease', token: held.lease.token }, { kind: 'release' })).status, 'ok');
    assert.equal((await holder.acquire(key, createLeaseToken(), 60_000)).status, 'acquired');
  });

  it('the core gives its place back when a request times out waiting', { timeout: 30_000 }, async () => {
    const secret = 'wake-up-test-secret';
    const first = createSessionManager({ store: holder, secret });
    const second = createSessionManager({ store: waiter, secret, lock: { waitMs: 300, leaseMs: 60_000 } });
    // Does not listen, so it never takes a place in line; its wait is far shorter than a lease.
    const third = createSessionManager({ store: prober, secret, lock: { waitMs: 5_000, leaseMs: 60_000 } });
    try {
      const cookie = await newCookie(first);
      const held = await first.open(cookie);
      await assert.rejects(second.open(cookie), (error) => isSessionError(error) && error.code === 'ERR_SESSION_LOCK_TIMEOUT');
      await first.commit(held);
      // Had the timed-out request kept its place, the lease would now sit with its dead
      // token for a whole lease (60 s) and this open would time out.
      const next = await third.open(cookie);
      assert.equal(next.data.hits, 0);
      await third.commit(next);
    } finally {
      await Promise.all([first.close(), second.close(), third.close()]);
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
