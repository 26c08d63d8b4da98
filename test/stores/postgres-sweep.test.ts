// Sweeping in PostgreSQL: a batch removes only records expired beyond the grace period
// and not leased, passes over rows a request has locked right now (SKIP LOCKED) instead
// of waiting for them, and re-checks expiry on the rows it takes, so a session made live
// again meanwhile stays.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import type { SessionStore } from '../../src/stores/types.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');
const admin = new pg.Pool({ connectionString: url, max: 3 });
const store = createPostgresStore({ url, connections: 2 });
after(async () => {
  await store.close();
  await admin.end();
});

/** A record that expired `agoMs` ago (or expires in `-agoMs`), made through the store. */
async function recordExpired(target: SessionStore, agoMs: number): Promise<string> {
  const key = storeKeyOf(createSessionId());
  const now = Date.now();
  const created = await target.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now - agoMs, createdAt: now - agoMs - 1 });
  assert.equal(created.status, 'ok');
  return key;
}

async function exists(key: string): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM sessionlock_sessions WHERE id = $1', [key]);
  return rows.length === 1;
}

/** Sweeps until a batch says nothing is left, at most 50 batches. */
async function sweepAll(): Promise<void> {
  for (let batch = 0; batch < 50; batch += 1) {
    if (!(await store.sweep?.({ graceMs: 0, limit: 1_000 }))?.more) return;
  }
}

describe('postgres sweep', () => {
  it('removes expired free records in batches of at most `limit`', async () => {
    const keys = [];
    for (let i = 0; i < 5; i += 1) keys.push(await recordExpired(store, 10_000));
    const first = await store.sweep?.({ graceMs: 0, limit: 2 });
    assert.deepEqual(first, { deleted: 2, more: true });
    await sweepAll();
    for (const key of keys) assert.equal(await exists(key), false);
  });

  it('keeps records within the grace period, leased records and live ones', async () => {
    const recent = await recordExpired(store, 1_000);
    const leased = await recordExpired(store, 10_000);
    const live = await recordExpired(store, -60_000);
    // A lease taken just before the record expired, still live on the database clock.
    await admin.query(
      `UPDATE sessionlock_sessions SET lease_token = 'held',
         lease_until = (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 60000 WHERE id = $1`,
      [leased],
    );
    await store.sweep?.({ graceMs: 5_000, limit: 1_000 });
    assert.equal(await exists(recent), true, 'expired less than graceMs ago');
    assert.equal(await exists(leased), true, 'expired but leased');
    assert.equal(await exists(live), true, 'live');
  });

  it('skips rows locked by a transaction without waiting, and re-checks expiry once they are free', async () => {
    const revived = await recordExpired(store, 10_000);
    const abandoned = await recordExpired(store, 10_000);
    const other = await recordExpired(store, 10_000);
    const tx = await admin.connect();
    try {
      await tx.query('BEGIN');
      await tx.query('SELECT 1 FROM sessionlock_sessions WHERE id = ANY($1) FOR UPDATE', [[revived, abandoned]]);
      // The sweep must finish while the locks are held: if it waited, this would hang.
      await sweepAll();
      assert.equal(await exists(other), false, 'an unlocked expired record is removed');
      assert.equal(await exists(revived), true, 'a locked record is skipped');
      assert.equal(await exists(abandoned), true, 'a locked record is skipped');
      // The lock holder makes one session live again (a save that extends it).
      await tx.query(
        `UPDATE sessionlock_sessions SET expires_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 60000 WHERE id = $1`,
        [revived],
      );
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    await sweepAll();
    assert.equal(await exists(revived), true, 'made live while locked: kept');
    assert.equal(await exists(abandoned), false, 'still expired once unlocked: removed');
  });
});
