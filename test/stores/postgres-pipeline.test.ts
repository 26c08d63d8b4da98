// The PostgreSQL store's pipelined connections: hundreds of overlapping statements share
// the few connections the store was given, a statement the server rejects fails alone,
// and a statement stuck behind a row lock taken outside the store holds up only its own
// connection.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { ConfigError } from '../../src/errors.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import type { SessionStore } from '../../src/stores/types.js';
import { newRecord } from '../fixtures/new-record.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');
const admin = new pg.Pool({ connectionString: url, max: 3 });
after(async () => {
  await admin.end();
});

/** The store's URL with an application name, so its server processes can be counted. */
function namedUrl(name: string): string {
  const named = new URL(url);
  named.searchParams.set('application_name', name);
  return named.toString();
}

/** Acquire (trying again while busy, at most 1,000 times), save one more hit and release, as a request does. */
async function hit(store: SessionStore, key: string, name: string): Promise<void> {
  for (let attempt = 0; attempt < 1_000; attempt += 1) {
    const token = `${name}-${attempt}`;
    const acquired = await store.acquire(key, token, 10_000);
    if (acquired.status !== 'acquired') continue;
    const hits = (JSON.parse(acquired.record.data) as { hits: number }).hits;
    const saved = await store.write(key, { kind: 'lease', token }, { kind: 'save', data: JSON.stringify({ hits: hits + 1 }), expiresAt: undefined });
    assert.equal(saved.status, 'ok');
    return;
  }
  assert.fail(`${name} never acquired its session`);
}

/**
 * Polls (at most 500 times, 10 ms apart) until a statement waits for a lock in this
 * database: the store's, as nothing else here takes locks. (Its text cannot be matched:
 * pg_stat_activity keeps the first 1 kB, which is the statement's comments.)
 */
async function storeWaitsForLock(): Promise<boolean> {
  for (let poll = 0; poll < 500; poll += 1) {
    const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
    if (rows.length > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

describe('postgres pipelined connections', () => {
  it('carries 400 overlapping statements on the connections it was given', async () => {
    const name = `pipeline-${process.pid}`;
    const store = createPostgresStore({ url: namedUrl(name), connections: 2, notifications: false });
    try {
      const keys = await Promise.all(Array.from({ length: 20 }, () => newRecord(store, '{"hits":0}')));
      // 200 requests in flight at once, 10 on each session, each waiting its turn by lease.
      await Promise.all(Array.from({ length: 200 }, (_, i) => hit(store, keys[i % keys.length] as string, `r${i}`)));
      for (const key of keys) assert.deepEqual(JSON.parse((await store.read(key))?.data ?? 'null'), { hits: 10 });
      const { rows } = await admin.query<{ backends: number }>(
        'SELECT count(*)::integer AS backends FROM pg_stat_activity WHERE application_name = $1',
        [name],
      );
      // The two request connections, and the one that set the schema up.
      assert.ok((rows[0]?.backends ?? 0) <= 3, `${rows[0]?.backends} server processes`);
    } finally {
      await store.close();
    }
  });

  it('refuses a number of connections that is not a whole number of at least 1', () => {
    for (const connections of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => createPostgresStore({ url, connections }), ConfigError);
    }
  });

  it('fails a statement the server rejects, and only that one', async () => {
    const store = createPostgresStore({ url, connections: 1, notifications: false });
    try {
      const keys = await Promise.all(Array.from({ length: 10 }, () => newRecord(store, '{"hits":0}')));
      const now = Date.now();
      // PostgreSQL text cannot hold a NUL character: the server refuses this write.
      const rejected = store.write(storeKeyOf(createSessionId()), { kind: 'create' }, { kind: 'save', data: 'a\u0000b', expiresAt: now + 60_000, createdAt: now });
      const others = keys.map((key, i) => hit(store, key, `ok${i}`));
      await assert.rejects(rejected, /0x00/);
      await Promise.all(others);
      for (const key of keys) assert.deepEqual(JSON.parse((await store.read(key))?.data ?? 'null'), { hits: 1 });
    } finally {
      await store.close();
    }
  });

  it('sends new statements past a connection stuck on a row lock held outside the store', async () => {
    const store = createPostgresStore({ url, connections: 2, notifications: false });
    const outside = await admin.connect();
    try {
      const locked = await newRecord(store, '{"hits":0}');
      const free = await Promise.all(Array.from({ length: 5 }, () => newRecord(store, '{"hits":0}')));
      await outside.query('BEGIN');
      await outside.query('SELECT 1 FROM sessionlock_sessions WHERE id = $1 FOR UPDATE', [locked]);
      const stuck = store.acquire(locked, 'stuck', 10_000);
      assert.ok(await storeWaitsForLock(), 'the store never waited for the row lock');
      // Bounded only so a regression fails instead of hanging: it would wait behind `stuck` for good.
      let timer: NodeJS.Timeout | undefined;
      const heldUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('held up behind the stuck statement')), 30_000);
      });
      try {
        await Promise.race([
          (async () => {
            for (const [i, key] of free.entries()) await hit(store, key, `free${i}`);
          })(),
          heldUp,
        ]);
      } finally {
        clearTimeout(timer);
      }
      await outside.query('COMMIT');
      assert.equal((await stuck).status, 'acquired');
    } finally {
      // Destroyed rather than returned: a failed test may leave its transaction open.
      outside.release(true);
      await store.close();
    }
  });
});
