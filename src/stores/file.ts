import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bucketOf, ExpirySweeper } from './_file-expiry.js';
import { DirLockLostError, acquireDirLock, assertHeld, releaseDirLock, type DirLockTiming, type HeldLock } from './_file-lock.js';
import {
  assertKey,
  codeOf,
  createLayout,
  encodeRecord,
  readRecord,
  syncDirectory,
  touchFile,
  writeFileAtomic,
} from './_file-layout.js';
import { decideAcquire, decideRenew, decideWrite, publicRecord, type LeasedRecord } from './_lease-record.js';
import type { SessionStore, StoreCapabilities } from './types.js';

/** Tries of one operation whose lock was lost before it could commit. */
const MAX_LOCK_ATTEMPTS = 5;

/** Options of the file store. */
export interface FileStoreOptions {
  /** The store's folder, created if missing. One folder per application. */
  dir: string;
  /**
   * fsync each record (and its folder) before a write or delete is reported done, so a
   * power cut cannot lose a saved session or bring back a destroyed one. Turn off only
   * for throwaway data. @default true
   */
  fsync?: boolean;
  /**
   * Width of one expiry bucket of the sweep index, in ms. A save writes one empty marker
   * file when it moves a session into another bucket, so wider buckets mean fewer marker
   * writes; a sweep also looks (lock-free) at the not-yet-due records of its newest
   * bucket, which holds none while this is no wider than the sweep's grace period.
   * @default 60000
   */
  expiryBucketMs?: number;
  /**
   * A per-record operation lock older than this is stale (its holder crashed mid-write)
   * and is reclaimed, in ms. An operation commits only within the first half of it, so
   * clocks of processes sharing the folder may disagree by up to half. @default 5000
   */
  lockStaleMs?: number;
  /** How long one operation waits for another's per-record lock, in ms. @default 6000 */
  lockWaitMs?: number;
  /** Clock in epoch ms, for tests. @default Date.now */
  now?: () => number;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  // mkdir and rename are atomic on NFS, but a client's attribute and lookup caches can
  // serve a record older than the lock protects; see docs/stores/file.md.
  crossHost: false,
  nativeExpiry: false,
  notifications: false,
};

/**
 * A store of one JSON file per session in sharded folders, for single-host apps that
 * want sessions to survive restarts without a database. Every change of a record is a
 * read-modify-write under that record's own `mkdir` lock, held for milliseconds, and
 * lands by an atomic rename; the session lease lives in the record. Sweeping visits only
 * expired records, through an index of expiry-bucket folders.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: createFileStore({ dir: './data/sessions' }), secret });
 * ```
 */
export function createFileStore(options: FileStoreOptions): SessionStore {
  const layout = createLayout(options.dir);
  const fsync = options.fsync ?? true;
  const bucketMs = options.expiryBucketMs ?? 60_000;
  const timing: DirLockTiming = {
    staleMs: options.lockStaleMs ?? 5000,
    waitMs: options.lockWaitMs ?? 6000,
    now: options.now ?? Date.now,
  };
  const now = timing.now;
  const sweeper = new ExpirySweeper({ layout, timing, bucketMs });

  /** Run `step` on the record of `key` under its lock; `step` answers the result and the next value. */
  async function locked<R>(
    key: string,
    step: (entry: LeasedRecord | undefined) => { result: R; next: LeasedRecord | null | undefined },
  ): Promise<R> {
    for (let attempt = 1; ; attempt += 1) {
      const lock = (await acquireDirLock(layout.lockPath(key), timing, true)) as HeldLock;
      try {
        const entry = await readRecord(layout.recordPath(key));
        const { result, next } = step(entry);
        await store(key, entry, next, lock);
        return result;
      } catch (error) {
        // Losing the lock is detected before the rename or unlink that would commit, so
        // nothing was written: the whole read-decide-write can run again. (Two processes
        // reclaiming one stale lock at the same instant can make one of them lose it.)
        if (!(error instanceof DirLockLostError) || attempt >= MAX_LOCK_ATTEMPTS) throw error;
      } finally {
        await releaseDirLock(lock);
      }
    }
  }

  async function store(key: string, entry: LeasedRecord | undefined, next: LeasedRecord | null | undefined, lock: HeldLock): Promise<void> {
    if (next === undefined) return;
    const path = layout.recordPath(key);
    if (next === null) {
      await assertHeld(lock, timing);
      try {
        await unlink(path);
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') throw error;
      }
      if (fsync) await syncDirectory(dirname(path));
      // The expiry marker stays; the sweep drops it when its bucket comes due.
      return;
    }
    const bucket = bucketOf(next.expiresAt, bucketMs);
    if (entry === undefined || bucketOf(entry.expiresAt, bucketMs) !== bucket) {
      await touchFile(layout.markerPath(bucket, key), fsync);
    }
    await writeFileAtomic(path, encodeRecord(next), fsync, () => assertHeld(lock, timing));
  }

  return {
    name: 'file',
    capabilities,
    async acquire(key, token, leaseMs) {
      assertKey(key);
      // A lock-free look first: a busy or missing session needs no lock and no write.
      const seen = decideAcquire(await readRecord(layout.recordPath(key)), token, leaseMs, now());
      if (seen.result.status !== 'acquired') return seen.result;
      return locked(key, (entry) => decideAcquire(entry, token, leaseMs, now()));
    },
    async read(key) {
      assertKey(key);
      const entry = await readRecord(layout.recordPath(key));
      return entry === undefined || entry.expiresAt <= now() ? null : publicRecord(entry);
    },
    async write(key, guard, op) {
      assertKey(key);
      return locked(key, (entry) => decideWrite(entry, guard, op, now()));
    },
    async renew(key, token, leaseMs) {
      assertKey(key);
      return locked(key, (entry) => decideRenew(entry, token, leaseMs, now()));
    },
    sweep(batch) {
      return sweeper.batch(batch);
    },
    close() {
      return Promise.resolve();
    },
  };
}
