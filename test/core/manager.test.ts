import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionManager, isSessionError, type SessionManager } from '../../src/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { countingStore } from '../fixtures/counting-store.js';
import { newCookie } from '../fixtures/new-cookie.js';

const secret = 'test-secret';


function hasCode(code: string) {
  return (error: unknown) => isSessionError(error) && error.code === code;
}

describe('SessionManager', () => {
  it('costs one acquire and one write for an exclusive request that changes data', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret });
    const cookie = await newCookie(manager, { hits: 1 });
    counted.reset();
    const session = await manager.open(cookie);
    session.data.hits = 2;
    assert.equal(await manager.commit(session), undefined, 'no Set-Cookie for an existing session cookie');
    assert.deepEqual(counted.calls, { acquire: 1, write: 1 });
  });

  it('makes no store call for a request without cookie that writes nothing', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret });
    const session = await manager.open(undefined);
    assert.equal(session.isNew, true);
    assert.equal(session.data.hits, undefined);
    assert.equal(await manager.commit(session), undefined, 'a lazy session sets no cookie');
    assert.deepEqual(counted.calls, {});
  });

  it('makes no store call for a forged or malformed cookie', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret });
    const cookie = await newCookie(createSessionManager({ store: createMemoryStore(), secret: 'other' }), { a: 1 });
    counted.reset();
    for (const header of [cookie, 'sid=s1.abc.def', `sid=${'x'.repeat(5000)}`, 'sid=%E0%A4%A', 'garbage;;;=']) {
      const session = await manager.open(header);
      assert.equal(session.isNew, true);
      await manager.commit(session);
    }
    assert.deepEqual(counted.calls, {});
  });

  it('reads once, without a lock, in readonly mode', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret });
    const cookie = await newCookie(manager, { hits: 1 });
    counted.reset();
    const session = await manager.open(cookie, { mode: 'readonly' });
    assert.equal(session.data.hits, 1);
    assert.throws(() => {
      session.data.hits = 5;
    }, hasCode('ERR_SESSION_STATE'));
    assert.throws(() => session.destroy(), hasCode('ERR_SESSION_STATE'));
    await manager.commit(session);
    assert.deepEqual(counted.calls, { read: 1 });
  });

  it('hands the lease to waiters of the same process without asking the store again', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret });
    const cookie = await newCookie(manager, { hits: 0, order: [] });
    counted.reset();
    const requests = 30;
    await Promise.all(
      Array.from({ length: requests }, async (_, index) => {
        const session = await manager.open(cookie);
        (session.data.order as number[]).push(index);
        await sleep(1);
        session.data.hits = Number(session.data.hits) + 1;
        await manager.commit(session);
      }),
    );
    const final = await manager.open(cookie, { mode: 'readonly' });
    assert.equal(final.data.hits, requests);
    assert.deepEqual(final.data.order, Array.from({ length: requests }, (_, i) => i), 'waiters are served first in, first out');
    // The memory store is private to this process: nobody else can wait, so one acquire serves all 30.
    assert.equal(counted.calls.acquire, 1);
  });

  it('gives the lease back to the store between runs of hand-offs when other processes may wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessionlock-fair-'));
    const store = createSqliteStore({ path: join(dir, 's.db') });
    // Two managers on one SQLite file stand for two processes.
    const busy = createSessionManager({ store, secret, lock: { handoffWindowMs: 50 } });
    const other = createSessionManager({ store, secret, lock: { waitMs: 1_500 } });
    const cookie = await newCookie(busy, { hits: 0 });
    const increment = async (manager: SessionManager): Promise<void> => {
      const session = await manager.open(cookie);
      await sleep(5);
      session.data.hits = Number(session.data.hits) + 1;
      await manager.commit(session);
    };
    // 400 requests of 5 ms keep the busy process's queue full for about two seconds; the
    // other process's requests must get turns in between, well within their 1.5 s wait.
    const flood = Array.from({ length: 400 }, () => increment(busy));
    await sleep(20);
    const others = Array.from({ length: 5 }, () => increment(other));
    await Promise.all([...flood, ...others]);
    assert.equal((await busy.open(cookie, { mode: 'readonly' })).data.hits, 405);
    await store.close();
  });

  it('expires a session after its idle timeout and after its absolute timeout', async () => {
    const store = createMemoryStore();
    const idle = createSessionManager({ store, secret, idleTimeout: 0.15 });
    const idleCookie = await newCookie(idle, { a: 1 });
    await sleep(250);
    assert.equal((await idle.open(idleCookie)).isNew, true, 'idle timeout');

    const absolute = createSessionManager({ store, secret, idleTimeout: 10, absoluteTimeout: 0.3, touchAfter: 0.001 });
    const cookie = await newCookie(absolute, { a: 1 });
    const deadline = Date.now() + 2_000;
    let expired = false;
    // Keep the session busy; the absolute timeout must end it anyway.
    while (!expired && Date.now() < deadline) {
      const session = await absolute.open(cookie);
      expired = session.isNew;
      session.touch();
      await absolute.commit(session);
      await sleep(50);
    }
    assert.equal(expired, true, 'absolute timeout');
  });

  it('refuses data JSON cannot hold, leaves the stored session as it was, and frees the lock', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret, lock: { waitMs: 200 } });
    const cookie = await newCookie(manager, { kept: true });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const [name, value] of [['bigint', 10n], ['function', () => 1], ['cycle', cycle], ['symbol', Symbol('s')]] as const) {
      const session = await manager.open(cookie);
      session.data.bad = value;
      await assert.rejects(manager.commit(session), hasCode('ERR_SESSION_SERIALIZE'), name);
    }
    const big = await manager.open(cookie);
    big.data.blob = 'x'.repeat(70_000);
    await assert.rejects(manager.commit(big), hasCode('ERR_SESSION_TOO_LARGE'));
    const after = await manager.open(cookie);
    assert.deepEqual({ ...after.data }, { kept: true });
    await manager.commit(after);
  });

  it('release() commits early, frees the lock, and keeps the data readable', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret });
    const cookie = await newCookie(manager, { step: 1 });
    const first = await manager.open(cookie);
    first.data.step = 2;
    await first.release();
    const second = await manager.open(cookie);
    assert.equal(second.data.step, 2, 'the second request saw the released data without waiting');
    assert.equal(first.data.step, 2);
    assert.throws(() => {
      first.data.step = 3;
    }, hasCode('ERR_SESSION_STATE'));
    await manager.commit(first);
    await manager.commit(second);
  });

  it('regenerate() moves the data to a new id and removes the old record', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret });
    const cookie = await newCookie(manager, { user: 'ann' });
    const session = await manager.open(cookie);
    const oldId = session.id;
    session.regenerate();
    assert.notEqual(session.id, oldId);
    const setCookie = await manager.commit(session);
    assert.ok(setCookie?.includes(session.id));
    assert.equal((await manager.open(cookie)).isNew, true, 'the old id is worthless');
    const fresh = await manager.open((setCookie as string).split(';')[0]);
    assert.equal(fresh.data.user, 'ann');
  });

  it('destroy() removes the record and expires the cookie; later writes throw', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret });
    const cookie = await newCookie(manager, { user: 'ann' });
    const session = await manager.open(cookie);
    session.destroy();
    assert.throws(() => {
      session.data.user = 'bob';
    }, hasCode('ERR_SESSION_STATE'));
    const setCookie = await manager.commit(session);
    assert.match(setCookie ?? '', /Max-Age=0/);
    assert.equal((await manager.open(cookie)).isNew, true);
  });

  it('fails an optimistic save that lost the race, keeping the winner', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret });
    const cookie = await newCookie(manager, { n: 0 });
    const a = await manager.open(cookie, { mode: 'optimistic' });
    const b = await manager.open(cookie, { mode: 'optimistic' });
    a.data.n = 'a';
    b.data.n = 'b';
    await manager.commit(a);
    await assert.rejects(manager.commit(b), hasCode('ERR_SESSION_CONFLICT'));
    assert.equal((await manager.open(cookie, { mode: 'readonly' })).data.n, 'a');
  });

  it('loses updates in none mode, as other libraries do', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret });
    const cookie = await newCookie(manager, { n: 0 });
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const session = await manager.open(cookie, { mode: 'none' });
        const n = Number(session.data.n);
        await sleep(2);
        session.data.n = n + 1;
        await manager.commit(session);
      }),
    );
    assert.ok(Number((await manager.open(cookie, { mode: 'readonly' })).data.n) < 20);
  });

  it('requires a secret outside development and test', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.throws(() => createSessionManager({ store: createMemoryStore() }), hasCode('ERR_SESSION_CONFIG'));
    } finally {
      process.env.NODE_ENV = previous;
    }
    assert.throws(() => createSessionManager({ store: createMemoryStore(), secret, lock: { mode: 'bogus' as never } }), hasCode('ERR_SESSION_CONFIG'));
    assert.throws(() => createSessionManager({ store: createMemoryStore(), secret, idleTimeout: -1 }), hasCode('ERR_SESSION_CONFIG'));
  });

  it('wraps store failures in StoreError with the cause, and names no id in messages', async () => {
    const broken = createMemoryStore();
    const failure = new Error('connection refused');
    broken.acquire = () => Promise.reject(failure);
    const manager = createSessionManager({ store: broken, secret });
    const cookie = await newCookie(manager, { a: 1 });
    const id = /s1\.([^.]+)\./.exec(cookie)?.[1] as string;
    await assert.rejects(manager.open(cookie), (error: unknown) => {
      assert.ok(isSessionError(error) && error.code === 'ERR_SESSION_STORE');
      assert.equal((error as Error).cause, failure);
      assert.ok(!(error as Error).message.includes(id));
      return true;
    });
  });

  it('refuses a store URL with an unknown scheme with a ConfigError', async () => {
    const cookie = await newCookie(createSessionManager({ store: createMemoryStore(), secret }), { a: 1 });
    const manager = createSessionManager({ store: 'nosuch://x', secret });
    await assert.rejects(manager.open(cookie), hasCode('ERR_SESSION_CONFIG'));
    await assert.rejects(manager.close(), hasCode('ERR_SESSION_CONFIG'));
  });
});

describe('SessionManager lease renewal', () => {
  it('renews the lease of a long handler, so another manager cannot take the session meanwhile', async () => {
    const store = createMemoryStore();
    const lock = { leaseMs: 300, waitMs: 300 };
    const holder = createSessionManager({ store, secret, lock });
    const other = createSessionManager({ store, secret, lock });
    try {
      const cookie = await newCookie(holder, { hits: 1 });
      const held = await holder.open(cookie);
      // Past the first lease, and the other manager's wait ends past the second.
      await sleep(400);
      await assert.rejects(other.open(cookie), hasCode('ERR_SESSION_LOCK_TIMEOUT'));
      held.data.hits = 2;
      await holder.commit(held);
      const after = await other.open(cookie, { mode: 'readonly' });
      assert.equal(after.data.hits, 2);
      await other.commit(after);
    } finally {
      await holder.close();
      await other.close();
    }
  });
});
