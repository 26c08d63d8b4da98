// Round trips to PostgreSQL per request, counted on the client side of every pooled
// connection (each statement the store sends), not by timing: the cost model says 2 for
// an exclusive request and 1 for a readonly one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createSessionManager } from '../../src/index.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { requireServiceUrl } from '../services/require.js';
import { newCookie } from '../fixtures/new-cookie.js';

const secret = 'round-trip-test-secret';

/** Records the name of every statement a connection of `pool` sends. */
function countStatements(pool: pg.Pool): string[] {
  const sent: string[] = [];
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [config] = args;
      sent.push(typeof config === 'string' ? config : String((config as pg.QueryConfig).name ?? (config as pg.QueryConfig).text));
      return query(...args);
    };
  });
  return sent;
}


describe('postgres round trips per request', () => {
  it('costs 2 round trips exclusive and 1 readonly', async () => {
    const pool = new pg.Pool({ connectionString: requireServiceUrl('postgres'), max: 2 });
    const sent = countStatements(pool);
    const manager = createSessionManager({ store: createPostgresStore({ pool }), secret });
    try {
      // Warm-up: creates the tables and a first session; not counted.
      await newCookie(manager);
      const cookie = await newCookie(manager);
      const take = (): string[] => sent.splice(0);
      take();

      const exclusive = await manager.open(cookie);
      exclusive.data.hits = 1;
      await manager.commit(exclusive);
      assert.deepEqual(take(), ['sessionlock_acquire', 'sessionlock_saveLeased'], 'exclusive: acquire+load, then save+release');

      const untouched = await manager.open(cookie);
      await manager.commit(untouched);
      assert.deepEqual(take(), ['sessionlock_acquire', 'sessionlock_saveLeased'], 'exclusive, nothing changed: acquire+load, then release');

      const readonly = await manager.open(cookie, { mode: 'readonly' });
      assert.equal(readonly.data.hits, 1);
      await manager.commit(readonly);
      assert.deepEqual(take(), ['sessionlock_read'], 'readonly: one lock-free read');

      const fresh = await manager.open(undefined);
      fresh.data.hits = 1;
      await manager.commit(fresh);
      assert.deepEqual(take(), ['sessionlock_create'], 'a new session: one insert');
    } finally {
      await manager.close();
      await pool.end();
    }
  });
});
