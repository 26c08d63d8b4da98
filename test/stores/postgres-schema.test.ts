// Schema set-up of the PostgreSQL store: created once when several processes start at
// the same moment (an advisory lock serializes them), idempotent on restart, and
// refused when the tables are newer than the library. Each test uses a fresh schema
// of the test database (search_path), so it never touches the other tests' tables.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createLeaseToken } from '../../src/core/ids.js';
import { isSessionError } from '../../src/errors.js';
import { native } from '../../src/stores/_native/postgres.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { requireServiceUrl } from '../services/require.js';
import { startTogether } from './_sql-starters.js';

const baseUrl = requireServiceUrl('postgres');
const admin = new pg.Pool({ connectionString: baseUrl, max: 2 });
after(() => admin.end());

/** A new empty schema, and the URL of the test database with it as search_path. */
async function freshSchema(): Promise<{ schema: string; url: string }> {
  const schema = `sessionlock_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: url.href };
}

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await admin.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  );
  return rows.map((row) => row.table_name);
}

describe('postgres store schema', () => {
  it('is created exactly once by processes starting at the same moment, and again without change', async () => {
    const { schema, url } = await freshSchema();
    try {
      const first = await startTogether(url, 4);
      assert.deepEqual(first, Array(4).fill({ event: 'done', found: false }));
      assert.deepEqual(await tablesIn(schema), ['sessionlock_schema_version', 'sessionlock_sessions']);
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.sessionlock_schema_version`);
      assert.deepEqual(rows, [{ version: 2 }]);
      // A restart of every process finds the schema current and changes nothing.
      const second = await startTogether(url, 2);
      assert.deepEqual(second, Array(2).fill({ event: 'done', found: false }));
      const again = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.sessionlock_schema_version`);
      assert.deepEqual(again.rows, [{ version: 2 }]);
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  it('migrates tables of version 1 in place, keeping their sessions', async () => {
    const { schema, url } = await freshSchema();
    const key = 'a'.repeat(64);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(native.schemaVersionTable);
      await client.query(native.migrate1);
      await client.query(native.setSchemaVersion, [1]);
      const now = Date.now();
      await client.query(native.create, [key, '{"kept":true}', now, now + 60_000]);
    } finally {
      await client.end();
    }
    const store = createPostgresStore({ url });
    try {
      const acquired = await store.acquire(key, createLeaseToken(), 30_000);
      assert.ok(acquired.status === 'acquired');
      assert.equal(acquired.record.data, '{"kept":true}');
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.sessionlock_schema_version`);
      assert.deepEqual(rows, [{ version: 2 }]);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  it('refuses tables of a newer schema version instead of using them', async () => {
    const { schema, url } = await freshSchema();
    const store = createPostgresStore({ url });
    try {
      await store.read('0'.repeat(64));
      await admin.query(`UPDATE ${schema}.sessionlock_schema_version SET version = 99`);
      const later = createPostgresStore({ url });
      try {
        await assert.rejects(later.read('0'.repeat(64)), (error) => isSessionError(error) && error.code === 'ERR_SESSION_CONFIG');
      } finally {
        await later.close();
      }
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  it('uses a pool passed in without creating tables when migrate is off, and never closes it', async () => {
    const { schema, url } = await freshSchema();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const store = createPostgresStore({ pool, migrate: false });
      await assert.rejects(store.read('0'.repeat(64)), /sessionlock_sessions/);
      await store.close();
      assert.deepEqual(await tablesIn(schema), []);
      assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
    } finally {
      await pool.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
