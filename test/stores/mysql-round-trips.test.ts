// Round trips to MySQL / MariaDB per request, counted on every pooled connection (each
// query the driver sends), not by timing. With a pool that accepts several statements
// per query (the store's own pool does) acquire's UPDATE and SELECT travel together:
// 2 round trips for an exclusive request, 1 for a readonly one. A pool without it costs
// one more for the acquire.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { createSessionManager } from '../../src/index.js';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { requireServiceUrl } from '../services/require.js';
import { newCookie } from '../fixtures/new-cookie.js';

const url = requireServiceUrl('mysql');
const secret = 'round-trip-test-secret';

/** Records every query a connection of `pool` sends (its SQL text). */
function countQueries(pool: mysql.Pool): string[] {
  const sent: string[] = [];
  pool.pool.on('connection', (connection) => {
    const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
    (connection as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [options] = args;
      sent.push(typeof options === 'string' ? options : String((options as { sql: string }).sql));
      return query(...args);
    };
  });
  return sent;
}


async function measure(multipleStatements: boolean): Promise<Record<string, number>> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, multipleStatements });
  const sent = countQueries(pool);
  const manager = createSessionManager({ store: createMysqlStore({ pool }), secret });
  try {
    await newCookie(manager);
    const cookie = await newCookie(manager);
    const take = (): number => sent.splice(0).length;
    take();
    const exclusive = await manager.open(cookie);
    exclusive.data.hits = 1;
    await manager.commit(exclusive);
    const exclusiveTrips = take();
    const readonly = await manager.open(cookie, { mode: 'readonly' });
    assert.equal(readonly.data.hits, 1);
    await manager.commit(readonly);
    return { exclusive: exclusiveTrips, readonly: take() };
  } finally {
    await manager.close();
    await pool.end();
  }
}

describe('mysql round trips per request', () => {
  it('costs 2 round trips exclusive and 1 readonly on a pool that allows several statements per query', async () => {
    assert.deepEqual(await measure(true), { exclusive: 2, readonly: 1 });
  });

  it('costs 3 round trips exclusive and 1 readonly on a pool that does not', async () => {
    assert.deepEqual(await measure(false), { exclusive: 3, readonly: 1 });
  });
});
