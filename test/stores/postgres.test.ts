import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');

runStoreSuite({
  name: 'postgres',
  createStore: () => createPostgresStore({ url, connections: 4 }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});

describe('postgres lease statements', () => {
  it('skip the WAL flush for their own transaction only, never for the connection', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1, options: '-c synchronous_commit=on' });
    const store = createPostgresStore({ pool, notifications: false });
    try {
      const key = 'a'.repeat(64);
      const now = Date.now();
      await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', createdAt: now, expiresAt: now + 60_000 });
      const acquired = await store.acquire(key, 'token-1', 5_000);
      assert.equal(acquired.status, 'acquired');
      // The pool has one connection: the acquire just ran on it, in its own transaction.
      const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      assert.equal(rows[0]?.synchronous_commit, 'on');
    } finally {
      await store.close?.();
      await pool.end();
    }
  });
});
