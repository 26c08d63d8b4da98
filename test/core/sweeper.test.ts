import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { runSweep } from '../../src/core/sweep.js';
import { SWEEPER_KEY, sweepSingleFlight } from '../../src/core/sweeper.js';
import { createSessionManager, StoreError, type SessionStore, type SweepResult } from '../../src/index.js';
import { createFileStore } from '../../src/stores/file.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';

const secret = 'sweeper-test-secret';

async function put(store: SessionStore, expiresAt: number): Promise<string> {
  const key = storeKeyOf(createSessionId());
  const result = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt, createdAt: expiresAt - 1000 });
  assert.equal(result.status, 'ok');
  return key;
}

/**
 * The sweeper's timers are unref'd (they must not keep an app alive), so a test waiting
 * for a background event keeps the loop alive itself, and gives up after `limitMs`.
 */
async function waitFor<T>(promise: Promise<T>, limitMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('sweeper', () => {
  it('manager.sweep() removes only long-expired sessions and reports counts and events', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, secret, sweep: { background: false } });
    const now = Date.now();
    const old = await Promise.all(Array.from({ length: 25 }, () => put(store, now - 120_000)));
    const recent = await put(store, now - 1000);
    const live = await put(store, now + 60_000);
    const progress: number[] = [];
    manager.on('sweepProgress', (p) => progress.push(p.deleted));
    const announced = once(manager, 'sweep');
    const result = await manager.sweep({ batchSize: 10 });
    assert.equal(result.deleted, 25);
    assert.equal(result.batches, 3);
    assert.equal(result.skipped, false);
    assert.equal(result.incomplete, false);
    assert.deepEqual(progress, [10, 20]);
    assert.deepEqual((await announced)[0], result);
    for (const key of old) assert.equal((await store.write(key, { kind: 'exists' }, { kind: 'delete' })).status, 'gone');
    assert.equal((await store.write(recent, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now, createdAt: now })).status, 'conflict');
    assert.notEqual(await store.read(live), null);
    await manager.close();
  });

  it('skips while another sweeper holds the lease, and runs once a crashed holder lapses', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, secret, sweep: { background: false } });
    await put(store, Date.now() - 120_000);
    // Another instance took the lease and died without giving it back.
    assert.equal((await sweepSingleFlight(store, {}, { onExclusive: () => undefined })).skipped, false);
    assert.equal((await store.acquire(SWEEPER_KEY, createLeaseToken(), 30)).status, 'acquired');
    assert.equal((await manager.sweep()).skipped, true);
    // Polled, since the lapse is on the store's clock: at most 100 tries of 10 ms.
    let result: SweepResult | undefined;
    for (let i = 0; i < 100 && result === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const attempt = await manager.sweep();
      if (!attempt.skipped) result = attempt;
    }
    assert.ok(result !== undefined, 'the lapsed lease was taken over');
    await manager.close();
  });

  it('runs in the background at the interval and stops on close', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, secret, sweep: { intervalMs: 10 } });
    await put(store, Date.now() - 120_000);
    const [first] = (await waitFor(once(manager, 'sweep'))) as [SweepResult];
    assert.equal(first.deleted, 1);
    await waitFor(once(manager, 'sweep'));
    await manager.close();
    let after = 0;
    manager.on('sweep', () => (after += 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(after, 0, 'no sweep after close');
  });

  it('does not start for a store with native expiry, nor when turned off', async () => {
    const base = createMemoryStore();
    let sweeps = 0;
    const counted = (): Promise<{ deleted: number; more: boolean }> => {
      sweeps += 1;
      return Promise.resolve({ deleted: 0, more: false });
    };
    const native: SessionStore = { ...base, capabilities: { ...base.capabilities, nativeExpiry: true }, sweep: counted };
    const managers = [
      createSessionManager({ store: native, secret, sweep: { intervalMs: 5 } }),
      createSessionManager({ store: { ...base, sweep: counted }, secret, sweep: false }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(sweeps, 0);
    for (const manager of managers) await manager.close();
  });

  it('delivers a failed background sweep as an error event and keeps going', async () => {
    const base = createMemoryStore();
    let calls = 0;
    const failing: SessionStore = {
      ...base,
      sweep: () => {
        calls += 1;
        return Promise.reject(new Error('disk on fire'));
      },
    };
    const manager = createSessionManager({ store: failing, secret, sweep: { intervalMs: 5 } });
    const [error] = (await waitFor(once(manager, 'error'))) as [StoreError];
    assert.ok(error instanceof StoreError);
    assert.equal(error.operation, 'sweep');
    assert.equal((error.cause as Error).message, 'disk on fire');
    await waitFor(once(manager, 'error'));
    assert.ok(calls >= 2, 'the sweeper went on after a failure');
    await assert.rejects(manager.sweep(), StoreError);
    // The failed sweeps gave their lease back: nobody holds it now.
    assert.equal((await base.acquire(SWEEPER_KEY, createLeaseToken(), 1000)).status, 'acquired');
    await manager.close();
  });

  it('sizes batches by how long they held the lock, except a batch that handed it over early', async () => {
    // What the store's batches report, in order (SQLite's worker reports them this way).
    const answers = [
      { lockMs: 0.1 }, // short: the next batch doubles
      { lockMs: 0.05, yielded: true }, // ended early for a request: says nothing, size kept
      { lockMs: 4 }, // four times too long: a quarter
      { lockMs: 0.7 }, // within the bound: kept
    ];
    const limits: number[] = [];
    const store: SessionStore = {
      ...createMemoryStore(),
      sweep({ limit }) {
        limits.push(limit);
        const answer = answers[limits.length - 1];
        return Promise.resolve({ deleted: 1, more: limits.length < answers.length, ...answer });
      },
    };
    const result = await runSweep(store, { maxBlockMs: 1 });
    assert.equal(result.batches, 4);
    assert.deepEqual(limits, [50, 100, 100, 25]);
  });

  it('every sweeping store accepts the reserved sweeper key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessionlock-sweeper-'));
    const stores = [createMemoryStore(), createSqliteStore({ path: join(dir, 's.db') }), createFileStore({ dir: join(dir, 'files') })];
    for (const store of stores) {
      const first = await sweepSingleFlight(store);
      assert.equal(first.skipped, false, store.name);
      const token = createLeaseToken();
      assert.equal((await store.acquire(SWEEPER_KEY, token, 60_000)).status, 'acquired', store.name);
      assert.equal((await sweepSingleFlight(store)).skipped, true, store.name);
      assert.equal((await store.write(SWEEPER_KEY, { kind: 'lease', token }, { kind: 'release' })).status, 'ok', store.name);
      await store.close();
    }
  });

  it('the file store refuses any other key that is not a session key', async () => {
    const store = createFileStore({ dir: mkdtempSync(join(tmpdir(), 'sessionlock-keys-')) });
    for (const key of ['../sweeper', 'sweeper/..', 'SWEEPER', 'A'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)}\n`, '']) {
      await assert.rejects(store.read(key), TypeError);
      await assert.rejects(store.write(key, { kind: 'exists' }, { kind: 'delete' }), TypeError);
    }
  });
});
