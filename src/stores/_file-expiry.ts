/**
 * The file store's expiry index and sweep. Each save that moves a record into another
 * expiry bucket first drops an empty marker file named by its key into that bucket's
 * folder (`expiry/<bucket>/<key>`). A sweep lists only the folders of buckets that began
 * more than the grace period ago and visits only the markers in them, so its cost grows
 * with the expired (and destroyed) records, not with all of them. Every deletion is
 * decided again under the record's own lock, from the record itself: the marker is only
 * a hint, so a stale marker (the record was saved with a later expiry since, or
 * destroyed) costs one visit and is removed.
 *
 * Markers are written before the record they index, so a crash between the two leaves
 * an extra marker (harmless), never a record that no marker points to.
 */
import { opendir, readdir, rmdir } from 'node:fs/promises';
import { DirLockLostError, acquireRecordLock, assertHeld, releaseRecordLock, type HeldLock, type LockTiming } from './_file-lock.js';
import { codeOf, isKey, parseBucket, readRecord, unlinkIfPresent, type FileLayout } from './_file-layout.js';
import { isSweepable } from './_lease-record.js';
import type { SweepBatchOptions, SweepBatchResult } from './types.js';

/** What the sweep needs from the store. */
export interface SweepContext {
  readonly layout: FileLayout;
  readonly lockTiming: LockTiming;
  /** The clock of session expiry, epoch ms. */
  readonly now: () => number;
  readonly bucketMs: number;
}

/**
 * Markers visited at once within a batch. Each visit is a chain of file calls on libuv's
 * four-thread pool, which requests' file calls share: with 4, requests overlapping a sweep
 * had a p99 1.3-2.2x their p99 without it; with 2, 1.1-1.2x, at about half the sweep rate
 * (about 800 records a second here). See bench/sweep.ts.
 */
const CONCURRENCY = 2;

type Outcome = 'deleted' | 'stale' | 'kept';

/** The expiry bucket of an instant. */
export function bucketOf(expiresAt: number, bucketMs: number): number {
  return Math.floor(expiresAt / bucketMs);
}

/**
 * A resumable sweep over the expiry index. One instance per store: it remembers, for the
 * current pass, the markers it decided to keep (leased records, busy locks), so the next
 * batch goes on past them instead of visiting them again; a pass that finds nothing left
 * to visit starts the next one afresh.
 */
export class ExpirySweeper {
  readonly #context: SweepContext;
  #skip = new Set<string>();

  constructor(context: SweepContext) {
    this.#context = context;
  }

  /** One batch: visit at most `limit` markers of buckets that began before the grace cutoff. */
  async batch({ graceMs, limit }: SweepBatchOptions): Promise<SweepBatchResult> {
    const { layout, bucketMs, now } = this.#context;
    // Buckets that began before the grace cutoff. The newest of them may also hold records
    // not yet due; a lock-free look skips those cheaply, and with buckets no wider than
    // the grace period (the defaults) it holds only records that have already expired.
    const lastBucket = bucketOf(now() - graceMs, bucketMs);
    const work: { bucket: number; key: string }[] = [];
    const drained: number[] = [];
    for (const bucket of await this.#buckets(lastBucket)) {
      const before = work.length;
      const dir = await opendir(layout.bucketDir(bucket), { bufferSize: 128 });
      let full = false;
      for await (const entry of dir) {
        const id = `${bucket}/${entry.name}`;
        // Temporary files and anything foreign are never touched.
        if (!isKey(entry.name) || this.#skip.has(id)) continue;
        work.push({ bucket, key: entry.name });
        if (work.length >= limit) {
          full = true;
          break;
        }
      }
      // `for await` closes the folder handle when it stops early or ends.
      if (full) break;
      if (work.length === before) drained.push(bucket);
    }
    let deleted = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const item = work[next++] as { bucket: number; key: string };
        const outcome = await this.#visit(item.bucket, item.key, graceMs);
        if (outcome === 'deleted') deleted += 1;
        else if (outcome === 'kept') this.#skip.add(`${item.bucket}/${item.key}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, worker));
    for (const bucket of drained) await removeIfEmpty(layout.bucketDir(bucket));
    const more = work.length >= limit;
    if (!more) this.#skip = new Set();
    return { deleted, more };
  }

  async #buckets(lastBucket: number): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.#context.layout.expiryRoot);
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return [];
      throw error;
    }
    return names
      .map(parseBucket)
      .filter((bucket): bucket is number => bucket !== undefined && bucket <= lastBucket)
      .sort((a, b) => a - b);
  }

  /** Decide one marker under the record's lock. */
  async #visit(bucket: number, key: string, graceMs: number): Promise<Outcome> {
    const { layout, lockTiming, now, bucketMs } = this.#context;
    const marker = layout.markerPath(bucket, key);
    // The newest bucket may hold records not yet due: a lock-free look skips them without
    // taking their lock. Older buckets hold only due records, so the look would be wasted.
    if ((bucket + 1) * bucketMs + graceMs > now()) {
      const seen = await readRecord(layout.recordPath(key));
      if (seen !== undefined && bucketOf(seen.expiresAt, bucketMs) === bucket && !isSweepable(seen, graceMs, now())) {
        return 'kept';
      }
    }
    // Never queue behind a request: a locked record is in use, so it is not due anyway.
    const lock = await acquireRecordLock(layout.lockPath(key), layout.holderFile(key), lockTiming, { wait: false, syncWrites: false });
    if (lock === undefined) return 'kept';
    let outcome: Outcome = 'kept';
    try {
      const entry = await readRecord(layout.recordPath(key));
      if (entry !== undefined && bucketOf(entry.expiresAt, bucketMs) === bucket) {
        if (!isSweepable(entry, graceMs, now())) return outcome;
        if (!(await stillHeld(lock, lockTiming))) return outcome;
        // No fsync here, unlike a destroy: a swept record that a power cut brings back is
        // still expired, so it is never served and the next sweep removes it again.
        await unlinkIfPresent(layout.recordPath(key));
        outcome = 'deleted';
      } else {
        // Gone, or moved to another bucket whose own marker was written before it moved.
        outcome = 'stale';
      }
      return outcome;
    } finally {
      // The marker goes only after its record (a crash between leaves an extra marker,
      // never an unindexed record), and needs no lock: unlocking and it can overlap.
      await Promise.all([releaseRecordLock(lock, false), outcome === 'kept' ? undefined : unlinkIfPresent(marker)]);
    }
  }
}

/** Like `assertHeld`, but a lost lock only means: leave this record for the next pass. */
async function stillHeld(lock: HeldLock, timing: LockTiming): Promise<boolean> {
  try {
    await assertHeld(lock, timing);
    return true;
  } catch (error) {
    if (error instanceof DirLockLostError) return false;
    throw error;
  }
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (error) {
    // A marker arrived meanwhile, or another sweep removed it first: both are fine.
    const code = codeOf(error);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error;
  }
}
