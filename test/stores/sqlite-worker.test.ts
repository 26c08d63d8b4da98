// The SQLite store's worker thread (src/stores/_sqlite-worker.ts): the store's own
// connection never checkpoints, the worker does, and close() stops it; sweep batches run
// in the worker with the same contract as on the loop, and its failures reach the caller.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';

async function fill(store: ReturnType<typeof createSqliteStore>, count: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i += 1) {
    const result = await store.write(storeKeyOf(createSessionId()), { kind: 'create' }, { kind: 'save', data: 'x'.repeat(500), expiresAt: now + 60_000, createdAt: now });
    assert.equal(result.status, 'ok');
  }
}

/** Niceness of each thread of this process, the main thread first (Linux: /proc/self/task). */
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task')
    .sort((a, b) => Number(a) - Number(b))
    .flatMap((tid) => {
      try {
        // Fields after the command name, which is in parentheses and may hold spaces; nice is field 19.
        const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return [Number(fields[16])];
      } catch (error) {
        // A thread that ended between the listing and the read.
        if ((error as { code?: unknown }).code === 'ENOENT') return [];
        throw error;
      }
    });
}

/** How many descriptors this process has open on the file at `path` (Linux: /proc/self/fd). */
function openDescriptorsOf(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch (error) {
      // The descriptor readdir itself used is closed by the time it is read.
      if ((error as { code?: unknown }).code === 'ENOENT') return false;
      throw error;
    }
  }).length;
}

/** Frames of the log not yet copied into the database, as a passive checkpoint of another connection reports them. */
function pendingFrames(path: string): number {
  const db = new Database(path);
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    return (row?.log ?? 0) - (row?.checkpointed ?? 0);
  } finally {
    db.close();
  }
}

/**
 * True when the log holds frames not yet copied. Asked through a read-only connection,
 * which cannot copy them itself: SQLite answers an I/O error when there is work it may
 * not do, and the counts when there is none.
 */
function uncopied(path: string): boolean {
  const probe = new Database(path, { readonly: true });
  try {
    const [row] = probe.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    return row !== undefined && row.log > row.checkpointed;
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_IOERR')) return true;
    throw error;
  } finally {
    probe.close();
  }
}

describe('sqlite store: background WAL checkpoints', () => {
  it('checkpoints in a worker thread, not in the writes, and stops on close', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path, checkpointIntervalMs: 20 });
    await fill(store, 3000);
    // Polled: the worker's timer runs on its own thread; at most 100 tries of 20 ms.
    let copied = false;
    for (let i = 0; i < 100 && !copied; i += 1) {
      await sleep(20);
      copied = !uncopied(path);
    }
    assert.ok(copied, 'the worker copied the whole log into the database');
    assert.ok(statSync(`${path}-wal`).size > 1000 * 4096, 'the log passed 1000 pages: an automatic checkpoint would have run in a write');
    await store.close();
    assert.equal(pendingFrames(path), 0);
  });

  it('the worker thread runs at a lower priority (nice 10) on Linux, and the process keeps its own everywhere', async () => {
    const processPriority = getPriority();
    const linux = process.platform === 'linux';
    const atTen = (): number => (linux ? threadNiceness().filter((nice) => nice === 10).length : 0);
    const before = atTen();
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path });
    // The worker sets it as it starts: polled, at most 100 tries of 20 ms. Elsewhere than
    // on Linux a priority belongs to the process, so the worker must leave it as it is.
    let lowered = 0;
    for (let i = 0; i < 100 && lowered === 0 && linux; i += 1) {
      await sleep(20);
      lowered = atTen() - before;
    }
    // A batch answered by the worker: its start-up, where it sets its priority, is done.
    assert.equal((await store.sweep?.({ graceMs: 60_000, limit: 1 }))?.deleted, 0);
    assert.equal(lowered, linux ? 1 : 0, linux ? 'one more thread at nice 10: the worker' : 'no thread priority changed');
    assert.equal(getPriority(), processPriority, 'the calling thread (on Linux) or process (elsewhere) is left as it was');
    await store.close();
  });

  it('close() closes every descriptor of the database file the store opened (the worker flushes through one)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path });
    assert.ok(openDescriptorsOf(path) >= 2, 'the connection and the one the worker flushes through');
    await store.close();
    assert.equal(openDescriptorsOf(path), 0);
  });

  it("the store's own connection does not checkpoint: with the worker idle, the log stays uncopied", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path, checkpointIntervalMs: 3_600_000 });
    await fill(store, 3000);
    assert.equal(uncopied(path), true, 'frames past 1000 pages were left for the worker');
    await store.close();
  });

  it('keeps the log bounded under writes without pause: the store holds its statements for a restart checkpoint', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path, checkpointIntervalMs: 10, checkpointRestartPages: 100 });
    const key = storeKeyOf(createSessionId());
    const now = Date.now();
    const save = (data: string) => ({ kind: 'save', data, expiresAt: now + 60_000, createdAt: now }) as const;
    assert.equal((await store.write(key, { kind: 'create' }, save('0'))).status, 'ok');
    // The worker's first write after each restart stores user_version as it is: the app's value stays.
    const app = new Database(path);
    app.pragma('user_version = 42');
    app.close();
    let version = 0;
    const writeMany = async (count: number): Promise<void> => {
      for (let i = 1; i <= count; i += 1) {
        version += 1;
        assert.equal((await store.write(key, { kind: 'exists' }, save(String(version)))).status, 'ok');
        // A server's loop turns between requests; here every 100 writes, so the worker's messages arrive.
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // First the worker's thread must be up: it takes a while to start (tens of ms, more on
    // a loaded machine), and a store writing without pause meanwhile grows the log by
    // tens of MB that no checkpoint could have bounded. Seen: 32-49 MB before the first one.
    await writeMany(500);
    let copied = false;
    for (let i = 0; i < 100 && !copied; i += 1) {
      await sleep(20);
      copied = !uncopied(path);
    }
    assert.ok(copied, 'the worker runs its checkpoints');
    const before = statSync(`${path}-wal`).size;
    const writes = 20_000;
    await writeMany(writes);
    // Each write adds at least one 4 KiB page to the log: 80 MB more if it never starts over.
    const grown = statSync(`${path}-wal`).size - before;
    assert.ok(grown < (writes * 4096) / 2, `the log started over (it grew by ${grown} bytes)`);
    assert.equal((await store.read(key))?.data, String(version));
    await store.close();
    const after = new Database(path, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), 42);
    after.close();
  });

  it('cuts a log file grown far past the restart length (a sweep, a bulk write) back to nothing', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    // Restarts from 100 pages; a log file past 4 times that (1.6 MB) is truncated.
    const store = createSqliteStore({ path, checkpointIntervalMs: 10, checkpointRestartPages: 100 });
    const now = Date.now();
    assert.equal((await store.write(storeKeyOf(createSessionId()), { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now })).status, 'ok');
    // Another connection writes about 10 MB in one transaction, as a sweep's deletions grow the log.
    const bulk = new Database(path);
    try {
      const insert = bulk.prepare('INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until) VALUES (?, ?, ?, ?, 1, NULL, 0)');
      bulk.transaction(() => {
        for (let i = 0; i < 5000; i += 1) insert.run(storeKeyOf(createSessionId()), 'x'.repeat(2000), now, now + 60_000);
      })();
    } finally {
      bulk.close();
    }
    const grown = statSync(`${path}-wal`).size;
    assert.ok(grown > 8_000_000, `the bulk write grew the log file (${grown} bytes)`);
    // Polled: the worker's timer runs on its own thread; at most 100 tries of 20 ms.
    let size = grown;
    for (let i = 0; i < 100 && size >= grown / 2; i += 1) {
      await sleep(20);
      size = statSync(`${path}-wal`).size;
    }
    assert.ok(size < grown / 2, `the log file was cut back (${size} of ${grown} bytes)`);
    assert.equal(rowCount(path), 5001);
    await store.close();
  });

  it('keeps the log bounded while a sweep runs: it starts over from a longer length instead of not at all', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    // Restarts from 100 pages (400 KB), and from 1,600 (6.5 MB) while a sweep runs.
    const store = createSqliteStore({ path, checkpointIntervalMs: 10, checkpointRestartPages: 100 });
    const expired = 30_000;
    // Expiries in random order, so the sweep's deletions land all over the table, as a real
    // backlog's do, and every batch logs tens of pages. Before, the log grew by each of them
    // for the whole sweep: to 228 MB here, against 27 MB now.
    const db = new Database(path);
    try {
      const insert = db.prepare('INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until) VALUES (?, ?, ?, ?, 1, NULL, 0)');
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < expired; i += 1) insert.run(storeKeyOf(createSessionId()), 'x'.repeat(500), now - 7_200_000, now - 3_600_000 - Math.floor(Math.random() * 1_000_000));
      })();
    } finally {
      db.close();
    }
    // Requests write meanwhile, as they do under a live sweep: without them, the log is often
    // copied to its end between batches, and SQLite then starts it over by itself.
    const live = storeKeyOf(createSessionId());
    const createdAt = Date.now();
    assert.equal((await store.write(live, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: createdAt + 3_600_000, createdAt })).status, 'ok');
    let sweeping = true;
    const requests = (async () => {
      for (let hits = 1; sweeping; hits += 1) {
        assert.equal((await store.write(live, { kind: 'exists' }, { kind: 'save', data: `{"hits":${hits}}`, expiresAt: undefined })).status, 'ok');
        await sleep(0);
      }
    })();
    let largest = 0;
    let deleted = 0;
    try {
      // Bounded: batches of up to 50, each removing at least one row (a batch that hands
      // the lock over to a write has removed a chunk of them first).
      for (let round = 0; round < expired; round += 1) {
        const batch = await store.sweep?.({ graceMs: 60_000, limit: 50 });
        deleted += batch?.deleted ?? 0;
        largest = Math.max(largest, statSync(`${path}-wal`).size);
        if (batch?.more !== true) break;
        // The sweep's own pause after a batch.
        await sleep(1);
      }
    } finally {
      sweeping = false;
      await requests;
    }
    assert.equal(deleted, expired);
    assert.ok(largest < 100_000_000, `the log file stayed under 100 MB during the sweep (largest ${largest} bytes)`);
    await store.close();
  });
});

/** Rows straight into the table: `expired` long expired, one of them leased for a minute, and `live` live ones. */
function seed(path: string, expired: number, live: number): void {
  const db = new Database(path);
  try {
    const now = Date.now();
    const insert = db.prepare(
      'INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until) VALUES (?, ?, ?, ?, 1, ?, ?)',
    );
    db.transaction(() => {
      for (let i = 0; i < expired; i += 1) {
        const leased = i === 0;
        insert.run(storeKeyOf(createSessionId()), '{}', now - 7_200_000, now - 3_600_000, leased ? 'token' : null, leased ? now + 60_000 : 0);
      }
      for (let i = 0; i < live; i += 1) insert.run(storeKeyOf(createSessionId()), '{}', now, now + 3_600_000, null, 0);
    })();
  } finally {
    db.close();
  }
}

function rowCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM sessionlock_sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A store over 5 seeded rows whose write lock another connection holds (`BEGIN IMMEDIATE`) until the test ends it. */
function lockedByAnotherConnection(busyRetryMs: number): { path: string; store: ReturnType<typeof createSqliteStore>; holder: Database.Database } {
  const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-wsweep-')), 'sessions.db');
  const store = createSqliteStore({ path, busyRetryMs });
  seed(path, 5, 0);
  const holder = new Database(path);
  holder.exec('BEGIN IMMEDIATE');
  return { path, store, holder };
}

describe('sqlite store: sweep batches in the worker thread', () => {
  for (const worker of [true, false]) {
    it(`one batch per call, \`more\` at the limit, leased and live rows kept (worker: ${String(worker)})`, async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-wsweep-')), 'sessions.db');
      const store = createSqliteStore({ path, worker });
      seed(path, 6, 3);
      const first = await store.sweep?.({ graceMs: 60_000, limit: 3 });
      assert.equal(first?.deleted, 3);
      assert.equal(first?.more, true);
      // The worker says how long it held the write lock; on the loop, the loop's own timing counts.
      assert.equal(typeof first?.lockMs, worker ? 'number' : 'undefined');
      const second = await store.sweep?.({ graceMs: 60_000, limit: 3 });
      assert.equal(second?.deleted, 2, 'the leased expired row stays');
      assert.equal(second?.more, false);
      assert.equal(rowCount(path), 4);
      await store.close();
    });
  }

  it("waits in the worker for another connection's write lock, while the event loop goes on", async () => {
    const { store, holder } = lockedByAnotherConnection(5000);
    let settled = false;
    const sweeping = store.sweep?.({ graceMs: 60_000, limit: 100 }).finally(() => (settled = true));
    // Timers fire on this loop while the worker's connection waits for the lock.
    let ticks = 0;
    for (let i = 0; i < 10; i += 1) {
      await sleep(10);
      ticks += 1;
    }
    assert.equal(ticks, 10);
    assert.equal(settled, false, 'the batch waits for the lock');
    holder.exec('COMMIT');
    holder.close();
    assert.deepEqual({ deleted: (await sweeping)?.deleted, more: (await sweeping)?.more }, { deleted: 4, more: false }, 'all but the leased row');
    await store.close();
  });

  it('a request that meets a sweep batch holding the write lock waits for the batch, then succeeds', async () => {
    // Another connection holds the lock, so the worker's batch is still running when the write comes.
    const { store, holder } = lockedByAnotherConnection(5000);
    const order: string[] = [];
    const sweeping = store.sweep?.({ graceMs: 60_000, limit: 100 }).then((result) => {
      order.push('sweep');
      return result;
    });
    const now = Date.now();
    const writing = store.write(storeKeyOf(createSessionId()), { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now }).then((result) => {
      order.push('write');
      return result;
    });
    await sleep(50);
    assert.deepEqual(order, [], 'both wait for the lock');
    holder.exec('COMMIT');
    holder.close();
    assert.equal((await writing).status, 'ok');
    assert.equal((await sweeping)?.deleted, 4);
    assert.deepEqual([...order].sort(), ['sweep', 'write']);
    await store.close();
  });

  it('a batch hands the write lock over to a request of the store that meets it, and the sweep goes on after', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-wsweep-')), 'sessions.db');
    const store = createSqliteStore({ path });
    const backlog = 100_000;
    seed(path, backlog + 1, 0);
    // One batch asked to remove the whole backlog: far longer than the steps below take.
    const sweeping = store.sweep?.({ graceMs: 60_000, limit: backlog });
    // Wait until the batch holds the write lock: another connection then cannot take it.
    const probe = new Database(path, { timeout: 0 });
    for (let tries = 0; ; tries += 1) {
      assert.ok(tries < 5000, 'the batch never took the write lock');
      try {
        probe.exec('BEGIN IMMEDIATE');
      } catch (error) {
        if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw error;
        break;
      }
      probe.exec('ROLLBACK');
      await sleep(1);
    }
    probe.close();
    const now = Date.now();
    const written = await store.write(storeKeyOf(createSessionId()), { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 60_000, createdAt: now });
    assert.equal(written.status, 'ok');
    const first = await sweeping;
    assert.equal(first?.yielded, true, 'the batch ended early to let the write in');
    assert.equal(first?.more, true);
    assert.ok(first !== undefined && first.deleted < backlog, `it removed ${String(first?.deleted)} of ${backlog}`);
    // Nobody asks now: the next batch removes the rest (all but the leased row).
    const rest = await store.sweep?.({ graceMs: 60_000, limit: backlog });
    assert.deepEqual({ deleted: rest?.deleted, yielded: rest?.yielded }, { deleted: backlog - (first?.deleted ?? 0), yielded: false });
    assert.equal(rowCount(path), 2, 'the leased expired row and the new session');
    await store.close();
  });

  it("rejects with the driver's error (SQLITE_BUSY) when the lock is held past busyRetryMs", async () => {
    const { path, store, holder } = lockedByAnotherConnection(50);
    try {
      await assert.rejects(store.sweep?.({ graceMs: 60_000, limit: 100 }) ?? Promise.resolve(), (error: { code?: unknown }) => {
        assert.match(String(error.code), /^SQLITE_BUSY/);
        return true;
      });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    assert.equal(rowCount(path), 5);
    await store.close();
  });

  it('a batch queued before close() finishes; a sweep after a passed-in database runs on the loop', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-wsweep-')), 'sessions.db');
    const store = createSqliteStore({ path });
    seed(path, 4, 1);
    const sweeping = store.sweep?.({ graceMs: 60_000, limit: 100 });
    await store.close();
    assert.equal((await sweeping)?.deleted, 3);
    const database = new Database(path);
    const shared = createSqliteStore({ database });
    const result = await shared.sweep?.({ graceMs: 60_000, limit: 100 });
    assert.equal(result?.lockMs, undefined);
    await shared.close();
    database.close();
  });
});
