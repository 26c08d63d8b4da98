// Pre-fill of bench/sweep.ts, run in its own process so none of its garbage (a million
// ids and rows) is left in the heap of the server being measured:
// `node --import tsx bench/_sweep-prefill.ts <sqlite|file> <path|dir> <count> <expiredShare> <graceMs>`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bucketOf } from '../src/stores/_file-expiry.js';
import { createLayout, encodeRecord } from '../src/stores/_file-layout.js';
import { createSqliteStore } from '../src/stores/sqlite.js';

const [store, target, countText, shareText, graceText] = process.argv.slice(2);
const count = Number(countText);
const expiredShare = Number(shareText);
const GRACE_MS = Number(graceText);
const HOUR_MS = 3_600_000;

/** An expiry: 90 % between one minute (the grace period) and one hour ago, the rest within the next hour. */
function expiryAt(now: number, index: number, count: number): number {
  const expired = index < count * expiredShare;
  return expired ? now - GRACE_MS - 1000 - Math.floor(Math.random() * HOUR_MS) : now + HOUR_MS + Math.floor(Math.random() * HOUR_MS);
}

async function prefillSqlite(path: string, count: number): Promise<void> {
  // The store creates the schema; the rows go in through one transaction of plain INSERTs.
  await createSqliteStore({ path }).close();
  const db = new Database(path);
  const insert = db.prepare(
    'INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until) VALUES (?, ?, ?, ?, 1, NULL, 0)',
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) insert.run(randomBytes(32).toString('hex'), '{"hits":1}', now - 2 * HOUR_MS, expiryAt(now, i, count));
  })();
  db.close();
}

async function prefillFiles(dir: string, count: number): Promise<void> {
  const layout = createLayout(dir);
  const bucketMs = 60_000;
  const made = new Map<string, Promise<unknown>>();
  const ensure = async (folder: string): Promise<void> => {
    let making = made.get(folder);
    if (making === undefined) {
      making = mkdir(folder, { recursive: true });
      made.set(folder, making);
    }
    await making;
  };
  const now = Date.now();
  let next = 0;
  // The store's own on-disk format and paths, written in parallel without fsync: a pre-fill, not a benchmark of writes.
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const key = randomBytes(32).toString('hex');
      const expiresAt = expiryAt(now, i, count);
      const record = layout.recordPath(key);
      const bucket = bucketOf(expiresAt, bucketMs);
      await ensure(layout.bucketDir(bucket));
      await writeFile(layout.markerPath(bucket, key), '');
      await ensure(join(record, '..'));
      await writeFile(record, encodeRecord({ data: '{"hits":1}', createdAt: now - 2 * HOUR_MS, expiresAt, version: 1, leaseToken: null, leaseUntil: 0 }));
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

if (target === undefined || !(count > 0)) throw new Error('usage: _sweep-prefill.ts <sqlite|file> <path|dir> <count> <expiredShare> <graceMs>');
if (store === 'sqlite') await prefillSqlite(target, count);
else if (store === 'file') await prefillFiles(target, count);
else throw new Error(`unknown store ${String(store)}`);
// Written back to disk now, so the measured run's baseline does not pay for it.
execFileSync('sync');
