// Sweeping in MySQL / MariaDB: a batch removes only records expired beyond the grace
// period and not leased, and re-checks both on the newest row under its row lock, so a
// session a request made live again while the sweep waited for it stays.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('mysql');
const admin = mysql.createPool({ uri: url, connectionLimit: 3 });
const store = createMysqlStore({ url, poolSize: 2 });
after(async () => {
  await store.close();
  await admin.end();
});

const DB_NOW_MS = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000";

async function recordExpired(agoMs: number): Promise<string> {
  const key = storeKeyOf(createSessionId());
  const now = Date.now();
  const created = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now - agoMs, createdAt: now - agoMs - 1 });
  assert.equal(created.status, 'ok');
  return key;
}

async function exists(key: string): Promise<boolean> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT 1 FROM sessionlock_sessions WHERE id = ?', [key]);
  return rows.length === 1;
}

/**
 * True once the sweep's DELETE shows in the process list while `finished()` is still
 * false (it is then waiting for a row lock); false if it finished first. Polls every
 * 10 ms, at most 500 times.
 */
async function sweepIsWaiting(finished: () => boolean): Promise<boolean> {
  for (let poll = 0; poll < 500 && !finished(); poll += 1) {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE '%DELETE FROM sessionlock_sessions%LIMIT%'",
    );
    if (rows.length > 0) return !finished();
    await sleep(10);
  }
  return false;
}

/** Sweeps until a batch says nothing is left, at most 50 batches. */
async function sweepAll(): Promise<void> {
  for (let batch = 0; batch < 50; batch += 1) {
    if (!(await store.sweep?.({ graceMs: 0, limit: 1_000 }))?.more) return;
  }
}

describe('mysql sweep', () => {
  it('removes expired free records in batches of at most `limit`', async () => {
    const keys = [];
    for (let i = 0; i < 5; i += 1) keys.push(await recordExpired(10_000));
    assert.deepEqual(await store.sweep?.({ graceMs: 0, limit: 2 }), { deleted: 2, more: true });
    await sweepAll();
    for (const key of keys) assert.equal(await exists(key), false);
  });

  it('keeps records within the grace period, leased records and live ones', async () => {
    const recent = await recordExpired(1_000);
    const leased = await recordExpired(10_000);
    const live = await recordExpired(-60_000);
    await admin.query(`UPDATE sessionlock_sessions SET lease_token = 'held', lease_until = ${DB_NOW_MS} + 60000 WHERE id = ?`, [leased]);
    await store.sweep?.({ graceMs: 5_000, limit: 1_000 });
    assert.equal(await exists(recent), true, 'expired less than graceMs ago');
    assert.equal(await exists(leased), true, 'expired but leased');
    assert.equal(await exists(live), true, 'live');
  });

  it('re-checks expiry on a row it had to wait for, and keeps it when it was made live', async () => {
    const revived = await recordExpired(10_000);
    const other = await recordExpired(10_000);
    const tx = await admin.getConnection();
    try {
      await tx.beginTransaction();
      await tx.query('SELECT 1 FROM sessionlock_sessions WHERE id = ? FOR UPDATE', [revived]);
      // The sweep reaches the locked row and waits (InnoDB has no SKIP LOCKED for DELETE);
      // meanwhile the lock holder makes the session live again and commits.
      let swept = false;
      const sweeping = sweepAll().then(() => {
        swept = true;
      });
      assert.equal(await sweepIsWaiting(() => swept), true, 'the sweep waits for the locked row');
      await tx.query(`UPDATE sessionlock_sessions SET expires_at = ${DB_NOW_MS} + 60000 WHERE id = ?`, [revived]);
      await tx.commit();
      await sweeping;
    } finally {
      tx.release();
    }
    assert.equal(await exists(revived), true, 'made live while the sweep waited: kept');
    assert.equal(await exists(other), false, 'an expired record is removed');
  });
});
