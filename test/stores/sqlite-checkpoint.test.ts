// The SQLite store's background WAL checkpoints (src/stores/_sqlite-checkpointer.ts):
// the store's own connection never checkpoints, the worker does, and close() stops it.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it("the store's own connection does not checkpoint: with the worker idle, the log stays uncopied", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-ckpt-')), 'sessions.db');
    const store = createSqliteStore({ path, checkpointIntervalMs: 3_600_000 });
    await fill(store, 3000);
    assert.equal(uncopied(path), true, 'frames past 1000 pages were left for the worker');
    await store.close();
  });
});
