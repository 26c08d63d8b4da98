// MariaDB's one-statement acquire (INSERT … ON DUPLICATE KEY UPDATE … RETURNING) leaves a
// placeholder row for a key that has none. These tests hold it to "no record": every
// operation reads it as missing, a create takes its place, and the sweep removes it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { createLeaseToken, createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('mysql');
const admin = mysql.createPool({ uri: url, connectionLimit: 2 });
const store = createMysqlStore({ url, poolSize: 4, returning: true });
after(async () => {
  await store.close();
  await admin.end();
});

async function rowsOf(key: string): Promise<mysql.RowDataPacket[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT version, expires_at, lease_token FROM sessionlock_sessions WHERE id = ?', [key]);
  return rows;
}

async function placeholderFor(): Promise<string> {
  const key = storeKeyOf(createSessionId());
  assert.deepEqual(await store.acquire(key, createLeaseToken(), 30_000), { status: 'missing' });
  assert.deepEqual(
    (await rowsOf(key)).map((row) => ({ ...row })),
    [{ version: 0, expires_at: 0, lease_token: null }],
  );
  return key;
}

describe('mysql placeholder rows (acquire with RETURNING)', () => {
  it('reads a placeholder as missing in every operation', async () => {
    const key = await placeholderFor();
    const token = createLeaseToken();
    assert.equal(await store.read(key), null);
    assert.equal(await store.renew(key, token, 1_000), false);
    const later = Date.now() + 60_000;
    assert.deepEqual(await store.write(key, { kind: 'lease', token }, { kind: 'save', data: '{}', expiresAt: later }), { status: 'gone' });
    assert.deepEqual(await store.write(key, { kind: 'exists' }, { kind: 'save', data: '{}', expiresAt: later }), { status: 'gone' });
    assert.deepEqual(await store.write(key, { kind: 'version', version: 0 }, { kind: 'save', data: '{}', expiresAt: later }), { status: 'gone' });
    assert.deepEqual(await store.write(key, { kind: 'exists' }, { kind: 'delete' }), { status: 'gone' });
    assert.equal((await rowsOf(key))[0]?.version, 0, 'nothing was written over the placeholder');
  });

  it('lets a create take the place of a placeholder, once', async () => {
    const key = await placeholderFor();
    const expiresAt = Date.now() + 60_000;
    const created = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{"n":1}', expiresAt, createdAt: Date.now() });
    assert.deepEqual(created, { status: 'ok', version: 1 });
    const again = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{"n":2}', expiresAt, createdAt: Date.now() });
    assert.deepEqual(again, { status: 'conflict' });
    const acquired = await store.acquire(key, createLeaseToken(), 30_000);
    assert.equal(acquired.status, 'acquired');
    assert.equal(acquired.status === 'acquired' ? acquired.record.data : undefined, '{"n":1}');
  });

  it('leaves one placeholder for 50 overlapping acquires of one missing key', async () => {
    const key = storeKeyOf(createSessionId());
    const results = await Promise.all(Array.from({ length: 50 }, () => store.acquire(key, createLeaseToken(), 30_000)));
    assert.deepEqual(new Set(results.map((result) => result.status)), new Set(['missing']));
    assert.equal((await rowsOf(key)).length, 1);
  });

  it('is removed by the sweep', async () => {
    const key = await placeholderFor();
    for (let batch = 0; batch < 50; batch += 1) {
      if (!(await store.sweep?.({ graceMs: 0, limit: 1_000 }))?.more) break;
    }
    assert.deepEqual(await rowsOf(key), []);
  });
});
