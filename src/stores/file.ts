import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bucketOf, ExpirySweeper } from './_file-expiry.js';
import { DirLockLostError, acquireRecordLock, assertHeld, releaseRecordLock, type HeldLock, type LockTiming } from './_file-lock.js';
import {
  assertKey,
  createLayout,
  fillRecordFile,
  touchFile,
  unlinkIfPresent,
} from './_file-layout.js';
import { decideAcquire, decideRenew, decideWrite, publicRecord, type LeasedRecord } from './_lease-record.js';
import { FolderSyncs } from './_file-folder-syncs.js';
import { WrittenRecords } from './_file-written-records.js';
import type { SessionStore, StoreCapabilities } from './types.js';

/** Tries of one operation whose lock was lost before it could commit. */
const MAX_LOCK_ATTEMPTS = 5;

/** Options of the file store. */
export interface FileStoreOptions {
  /** The store's folder, created if missing. One folder per application. */
  dir: string;
  /**
   * Flush each record before it replaces the old one, so a power cut cannot leave it torn,
   * and its folder before a save or delete is reported done, so a power cut cannot lose a
   * saved session or bring back a destroyed one (a change of the lease alone skips the
   * folder: the cut ends every holder too). Turn off only for throwaway data.
   * See docs/stores/file.md, "Durability, step by step". @default true
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
   * A per-record operation lock older than this (by its file's mtime) is stale: its holder
   * crashed mid-write, and it is reclaimed, in ms. An operation commits only within the
   * first half of it, so the filesystem's clock may disagree with the processes' by up to
   * half. @default 5000
   */
  lockStaleMs?: number;
  /** How long one operation waits for another's per-record lock, in ms. @default 6000 */
  lockWaitMs?: number;
  /** Clock in epoch ms of session expiry and leases, for tests (locks age by the wall clock, as file times do). @default Date.now */
  now?: () => number;
}

/** What one operation left to do after its commit. */
interface Stored {
  /** The record that the lock holder's file became, if it did. */
  readonly record?: LeasedRecord;
  /** The folder to fsync before the operation may be reported done, if any. */
  readonly syncDir?: string | undefined;
}

const UNCHANGED: Stored = {};

/** True when `next` differs from `entry` in its lease fields only. */
function leaseOnly(entry: LeasedRecord | undefined, next: LeasedRecord): boolean {
  return (
    entry !== undefined &&
    entry.data === next.data &&
    entry.expiresAt === next.expiresAt &&
    entry.version === next.version &&
    entry.createdAt === next.createdAt
  );
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  // link and rename are atomic on NFS, but a client's attribute and lookup caches can
  // serve a record older than the lock protects; see docs/stores/file.md.
  crossHost: false,
  nativeExpiry: false,
  notifications: false,
};

/**
 * A store of one JSON file per session in sharded folders, for single-host apps that
 * want sessions to survive restarts without a database. Every change of a record is a
 * read-modify-write under that record's own lock (a name made with `link`), held for milliseconds, and
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
  const lockTiming: LockTiming = { staleMs: options.lockStaleMs ?? 5000, waitMs: options.lockWaitMs ?? 6000 };
  const now = options.now ?? Date.now;
  const sweeper = new ExpirySweeper({ layout, lockTiming, now, bucketMs });
  const ownRecords = new WrittenRecords();
  const folders = fsync ? new FolderSyncs() : undefined;

  /** Run `step` on the record of `key` under its lock; `step` answers the result and the next value. */
  async function locked<R>(
    key: string,
    step: (entry: LeasedRecord | undefined) => { result: R; next: LeasedRecord | null | undefined },
  ): Promise<R> {
    for (let attempt = 1; ; attempt += 1) {
      const lock = (await acquireRecordLock(layout.lockPath(key), layout.holderFile(key), lockTiming, { wait: true, syncWrites: fsync })) as HeldLock;
      let stored: Stored = UNCHANGED;
      try {
        const entry = await ownRecords.read(key, layout.recordPath(key));
        const { result, next } = step(entry);
        stored = await store(key, entry, next, lock);
        if (stored.record !== undefined) await ownRecords.remember(key, lock.fd, lock.identity, stored.record);
        return result;
      } catch (error) {
        // Losing the lock is detected before the rename or unlink that would commit, so
        // nothing was written: the whole read-decide-write can run again. (Two processes
        // reclaiming one stale lock at the same instant can make one of them lose it.)
        if (!(error instanceof DirLockLostError) || attempt >= MAX_LOCK_ATTEMPTS) throw error;
      } finally {
        // The rename or unlink is done, so the next operation on this record may start
        // while this one waits for its folder to reach the disk.
        await Promise.all([
          releaseRecordLock(lock, stored.record !== undefined),
          stored.syncDir === undefined ? undefined : folders?.sync(stored.syncDir),
        ]);
      }
    }
  }

  /** Make `next` the record of `key` (null: remove it; undefined: leave it). */
  async function store(
    key: string,
    entry: LeasedRecord | undefined,
    next: LeasedRecord | null | undefined,
    lock: HeldLock,
  ): Promise<Stored> {
    if (next === undefined) return UNCHANGED;
    const path = layout.recordPath(key);
    if (next === null) {
      await assertHeld(lock, lockTiming);
      await unlinkIfPresent(path);
      await ownRecords.forget(key);
      // The expiry marker stays; the sweep drops it when its bucket comes due.
      return { syncDir: fsync ? dirname(path) : undefined };
    }
    const bucket = bucketOf(next.expiresAt, bucketMs);
    const marker = entry === undefined || bucketOf(entry.expiresAt, bucketMs) !== bucket;
    // The marker must be on disk before the record that it indexes (a crash may leave an
    // extra marker, never an unindexed record); the two writes can overlap until the rename.
    const [written, indexed] = await Promise.allSettled([
      fillRecordFile(lock, next, fsync),
      marker ? touchFile(layout.markerPath(bucket, key), folders) : undefined,
    ]);
    if (written.status === 'rejected') throw written.reason;
    if (indexed.status === 'rejected') throw indexed.reason;
    await assertHeld(lock, lockTiming);
    await rename(lock.file, path);
    // A change of the lease alone need not survive a power cut: that cut also ends every
    // process that held or waited for the lease (the store is single-host), and the record
    // it left is whole, since the file was flushed before the rename.
    return { record: next, syncDir: fsync && !leaseOnly(entry, next) ? dirname(path) : undefined };
  }

  return {
    name: 'file',
    capabilities,
    async acquire(key, token, leaseMs) {
      assertKey(key);
      // A lock-free look first: a busy or missing session needs no lock and no write. The
      // record this process wrote last, unchecked, may stand in for it when it shows the
      // session free: the read under the lock decides anyway.
      const remembered = ownRecords.peek(key);
      if (remembered === undefined || decideAcquire(remembered, token, leaseMs, now()).result.status !== 'acquired') {
        const seen = decideAcquire(await ownRecords.read(key, layout.recordPath(key)), token, leaseMs, now());
        if (seen.result.status !== 'acquired') return seen.result;
      }
      return locked(key, (entry) => decideAcquire(entry, token, leaseMs, now()));
    },
    async read(key) {
      assertKey(key);
      const entry = await ownRecords.read(key, layout.recordPath(key));
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
    async close() {
      await Promise.all([ownRecords.close(), folders?.close()]);
    },
  };
}
