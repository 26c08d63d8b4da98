// Round trips to MySQL / MariaDB per request, counted on every pooled connection (each
// query the driver sends), not by timing. On MariaDB acquire is one INSERT … RETURNING:
// 2 round trips for an exclusive request, 1 for a readonly one. As on MySQL
// (`returning: false`), acquire's UPDATE and SELECT travel together on a pool that
// accepts several statements per query (the store's own pool does), and a pool without
// it costs one more for the acquire.
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


async function measure(multipleStatements: boolean, returning?: boolean): Promise<Record<string, number | string>> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, multipleStatements });
  const sent = countQueries(pool);
  const manager = createSessionManager({ store: createMysqlStore({ pool, ...(returning === undefined ? {} : { returning }) }), secret });
  try {
    await newCookie(manager);
    const cookie = await newCookie(manager);
    const take = (): number => sent.splice(0).length;
    take();
    const exclusive = await manager.open(cookie);
    const acquire = sent[0]?.split(/\s/)[0] ?? '';
    exclusive.data.hits = 1;
    await manager.commit(exclusive);
    // A save with new data and no new expiry or hold takes the short statement.
    const save = /^SET data = \?, version/m.test(sent[sent.length - 1] ?? '') ? 'data only' : 'general';
    const exclusiveTrips = take();
    const readonly = await manager.open(cookie, { mode: 'readonly' });
    assert.equal(readonly.data.hits, 1);
    await manager.commit(readonly);
    return { acquire, save, exclusive: exclusiveTrips, readonly: take() };
  } finally {
    await manager.close();
    await pool.end();
  }
}

describe('mysql round trips per request', () => {
  it('costs 2 round trips exclusive and 1 readonly on MariaDB, acquiring with one INSERT, whatever the pool', async () => {
    assert.deepEqual(await measure(true), { acquire: 'INSERT', save: 'data only', exclusive: 2, readonly: 1 });
    assert.deepEqual(await measure(false), { acquire: 'INSERT', save: 'data only', exclusive: 2, readonly: 1 });
  });

  it('costs 2 round trips exclusive and 1 readonly as on MySQL, on a pool that allows several statements per query', async () => {
    assert.deepEqual(await measure(true, false), { acquire: 'UPDATE', save: 'data only', exclusive: 2, readonly: 1 });
  });

  it('costs 3 round trips exclusive and 1 readonly as on MySQL, on a pool that does not', async () => {
    assert.deepEqual(await measure(false, false), { acquire: 'UPDATE', save: 'data only', exclusive: 3, readonly: 1 });
  });
});
