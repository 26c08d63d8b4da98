// The file store's per-record operation locks (src/stores/_file-lock.ts): stale ones are
// reclaimed, live ones are waited for within a bound, and reclaiming never lets two
// operations in at once.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { DirLockTimeoutError } from '../../src/stores/_file-lock.js';
import { createLayout } from '../../src/stores/_file-layout.js';
import { createFileStore } from '../../src/stores/file.js';

function setup(lockWaitMs = 2000): { store: ReturnType<typeof createFileStore>; key: string; lockPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sessionlock-file-lock-'));
  const key = storeKeyOf(createSessionId());
  return { store: createFileStore({ dir, lockWaitMs, fsync: false }), key, lockPath: createLayout(dir).lockPath(key) };
}

async function create(store: ReturnType<typeof createFileStore>, key: string): Promise<void> {
  const now = Date.now();
  const result = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{"n":0}', expiresAt: now + 60_000, createdAt: now });
  assert.equal(result.status, 'ok');
}

/** A lock left by a holder that died mid-operation, its file dated `mtime` (epoch ms). */
function leaveLock(lockPath: string, mtime: number): void {
  mkdirSync(dirname(lockPath), { recursive: true });
  writeFileSync(lockPath, '{"data":"half-writ');
  utimesSync(lockPath, new Date(mtime), new Date(mtime));
}

/** Lock names and holder files left in the record's folder. */
function leftovers(lockPath: string): string[] {
  return readdirSync(dirname(lockPath)).filter((name) => name.includes('.lock') || name.endsWith('.tmp'));
}

describe('file store: operation locks', () => {
  it('reclaims a stale lock and leaves nothing behind', async () => {
    const { store, key, lockPath } = setup();
    await create(store, key);
    leaveLock(lockPath, Date.now() - 60_000);
    const result = await store.write(key, { kind: 'exists' }, { kind: 'save', data: '{"n":1}', expiresAt: undefined });
    assert.equal(result.status, 'ok');
    assert.equal((await store.read(key))?.data, '{"n":1}');
    assert.deepEqual(leftovers(lockPath), []);
  });

  it('reclaims a lock whose holder died between its commit and its release, leaving the record whole', async () => {
    const { store, key, lockPath } = setup();
    await create(store, key);
    // After the commit the lock's name is a second name of the new record: removing it
    // must leave the record in place.
    const recordPath = join(dirname(lockPath), `${key}.json`);
    linkSync(recordPath, lockPath);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath, old, old);
    assert.equal((await store.write(key, { kind: 'exists' }, { kind: 'save', data: '{"n":1}', expiresAt: undefined })).status, 'ok');
    assert.equal((await store.read(key))?.data, '{"n":1}');
    assert.deepEqual(leftovers(lockPath), []);
  });

  it('waits for a live lock at most lockWaitMs, then fails with a typed error, leaving the lock alone', async () => {
    const { store, key, lockPath } = setup(150);
    await create(store, key);
    leaveLock(lockPath, Date.now() + 60_000);
    await assert.rejects(store.write(key, { kind: 'exists' }, { kind: 'save', data: '{"n":1}', expiresAt: undefined }), DirLockTimeoutError);
    assert.deepEqual(leftovers(lockPath), [`${key}.lock`]);
  });

  it('goes ahead as soon as a live lock is released', async () => {
    const { store, key, lockPath } = setup();
    await create(store, key);
    leaveLock(lockPath, Date.now() + 60_000);
    const waiting = store.write(key, { kind: 'exists' }, { kind: 'save', data: '{"n":1}', expiresAt: undefined });
    await sleep(30);
    // The holder finishes and removes its lock.
    rmSync(lockPath);
    assert.equal((await waiting).status, 'ok');
  });

  it('lets exactly one operation in at a time while many reclaim the same stale lock', async () => {
    const { store, key, lockPath } = setup(10_000);
    await create(store, key);
    leaveLock(lockPath, Date.now() - 60_000);
    // Each save is a read-modify-write that bumps the version by one: two operations
    // inside the lock at once would both bump from the same version and lose one.
    const writers = 20;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => store.write(key, { kind: 'exists' }, { kind: 'save', data: `{"n":${i}}`, expiresAt: undefined })),
    );
    assert.ok(results.every((result) => result.status === 'ok'));
    const versions = results.map((result) => (result.status === 'ok' ? result.version : 0)).sort((a, b) => (a ?? 0) - (b ?? 0));
    assert.deepEqual(versions, Array.from({ length: writers }, (_, i) => i + 2), 'every save saw the one before it');
    assert.equal((await store.read(key))?.version, writers + 1);
    assert.deepEqual(leftovers(lockPath), []);
  });
});
