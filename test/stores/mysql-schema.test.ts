// Schema set-up of the MySQL / MariaDB store: created once when several processes start
// at the same moment (GET_LOCK serializes them), idempotent on restart, and refused when
// the tables are newer than the library. The test user may not create databases, so
// this drops and re-creates the store's tables in the TEST database it is given.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { isSessionError } from '../../src/errors.js';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { requireServiceUrl } from '../services/require.js';
import { startTogether } from './_sql-starters.js';

const url = requireServiceUrl('mysql');
const admin = mysql.createPool({ uri: url, connectionLimit: 2 });
after(() => admin.end());

async function dropTables(): Promise<void> {
  await admin.query('DROP TABLE IF EXISTS sessionlock_sessions, sessionlock_schema_version');
}

async function schemaVersions(): Promise<unknown[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT singleton, version FROM sessionlock_schema_version');
  return rows.map((row) => ({ ...row }));
}

describe('mysql store schema', () => {
  it('is created exactly once by processes starting at the same moment, and again without change', async () => {
    await dropTables();
    const first = await startTogether(url, 4);
    assert.deepEqual(first, Array(4).fill({ event: 'done', found: false }));
    assert.deepEqual(await schemaVersions(), [{ singleton: 1, version: 1 }]);
    const second = await startTogether(url, 2);
    assert.deepEqual(second, Array(2).fill({ event: 'done', found: false }));
    assert.deepEqual(await schemaVersions(), [{ singleton: 1, version: 1 }]);
  });

  it('refuses tables of a newer schema version instead of using them', async () => {
    const store = createMysqlStore({ url });
    try {
      await store.read('0'.repeat(64));
      await admin.query('UPDATE sessionlock_schema_version SET version = 99');
      const later = createMysqlStore({ url });
      try {
        await assert.rejects(later.read('0'.repeat(64)), (error) => isSessionError(error) && error.code === 'ERR_SESSION_CONFIG');
      } finally {
        await later.close();
      }
    } finally {
      await admin.query('UPDATE sessionlock_schema_version SET version = 1');
      await store.close();
    }
  });

  it('uses a pool passed in, and never closes it', async () => {
    const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
    try {
      const store = createMysqlStore({ pool });
      assert.equal(await store.read('0'.repeat(64)), null);
      await store.close();
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
      assert.equal(rows[0]?.one, 1);
    } finally {
      await pool.end();
    }
  });
});
