/**
 * The file store's per-record operation lock. The holder creates a new file of its own
 * (`.<token>.tmp`, beside the record) and gives it a second name, `<key>.lock`, with
 * `link`, which fails with EEXIST while that name exists: atomic on local filesystems and
 * on NFS (the server decides). It is held only for the few milliseconds of one
 * read-modify-write of one record, never across a request: the session lease lives in
 * the record itself.
 *
 * The same file then receives the record's next content and is renamed over the record,
 * so one operation creates and frees one inode. A lock folder with an `owner` file beside
 * a separate temporary file made three, and on ext4 without a journal every freed inode
 * slows the allocations after it (docs/stores/file.md, "Costs").
 *
 * A lock's age is its file's mtime, so a waiter learns it in one `stat`. A stale lock (its
 * holder crashed mid-operation) is reclaimed by renaming it to a unique name and removing
 * that, never by delete-then-create, which would let two reclaimers both believe they
 * removed "the" stale lock and both take it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeFd, fdIdentity, openFd, pathAge, pathIdentity, touchFd } from './_file-io.js';
import { codeOf, unlinkIfPresent } from './_file-layout.js';

/** Timing of the operation locks. Ages are read from the wall clock, as file times are. */
export interface LockTiming {
  /** A lock older than this is stale and may be reclaimed, in ms. */
  readonly staleMs: number;
  /** How long an operation waits for a busy lock before failing, in ms. */
  readonly waitMs: number;
}

/** A lock this process holds. */
export interface HeldLock {
  /** The lock's name, `<key>.lock`. */
  readonly path: string;
  /** The holder's own name of the same file, which a commit renames over the record. */
  readonly file: string;
  /**
   * Open on the file until the release: while it is, the inode cannot be reused, so
   * finding the same device and inode at `path` proves the lock is still ours in one `stat`.
   */
  readonly fd: number;
  /** Device and inode of the file (`fdIdentity`). */
  readonly identity: string;
  /** Every write to `fd` reaches the disk before it returns (`O_DSYNC`). */
  readonly syncedWrites: boolean;
  /** Wall-clock ms read just before the file's mtime was set, to refuse commits made too late. */
  readonly takenAt: number;
}

/** The lock could not be taken in time; the store operation fails with this as its cause. */
export class DirLockTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`file store: a record stayed locked by another operation for ${waitedMs} ms`);
    this.name = 'DirLockTimeoutError';
  }
}

/** This process no longer holds a lock it took (it was judged stale and reclaimed). */
export class DirLockLostError extends Error {
  constructor() {
    super('file store: an operation lock was reclaimed before the operation could commit');
    this.name = 'DirLockLostError';
  }
}

const MAX_PAUSE_MS = 20;

/** How to take one lock. */
export interface LockRequest {
  /** Wait for a busy lock; false answers undefined at once (the sweeper skips busy records rather than queue behind requests). */
  readonly wait: boolean;
  /** Open the holder's file with `O_DSYNC` where the platform has it, so a write and its flush are one call. */
  readonly syncWrites: boolean;
}

/**
 * Take the lock at `path`, creating the holder's file at `file` (a unique name in the same
 * folder). Answers undefined when it is busy and `request.wait` is false.
 */
export async function acquireRecordLock(
  path: string,
  file: string,
  timing: LockTiming,
  request: LockRequest,
): Promise<HeldLock | undefined> {
  let takenAt = Date.now();
  const syncedWrites = request.syncWrites && constants.O_DSYNC !== undefined;
  const fd = await createFile(file, syncedWrites ? constants.O_DSYNC : 0);
  try {
    const identity = await fdIdentity(fd);
    let pauseMs = 1;
    for (;;) {
      if (await linkName(file, path)) {
        // A file that waited for the lock is as old as its wait: date it anew, or a
        // waiter could take it for stale at once. Until then it may be reclaimed, which
        // `assertHeld` finds before anything is committed.
        if (Date.now() - takenAt >= timing.staleMs / 4) {
          takenAt = Date.now();
          await touchFd(fd);
        }
        return { path, file, fd, identity, syncedWrites, takenAt };
      }
      const holder = await inspect(path, timing.staleMs);
      if (holder === undefined) continue;
      if (holder.staleAt <= Date.now()) {
        await reclaim(path, holder.identity, timing.staleMs);
        continue;
      }
      if (!request.wait) {
        await discard(file, fd);
        return undefined;
      }
      const waitedMs = Date.now() - takenAt;
      if (waitedMs >= timing.waitMs) throw new DirLockTimeoutError(waitedMs);
      // Full jitter, so waiters of one record do not retry in lockstep.
      await sleep(Math.random() * pauseMs);
      pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
    }
  } catch (error) {
    await discard(file, fd);
    throw error;
  }
}

/**
 * Throws unless `lock` is still ours and young enough that no other process can have
 * judged it stale: half of `staleMs` is kept as a margin for the time the commit itself
 * takes and for the filesystem's coarser clock.
 */
export async function assertHeld(lock: HeldLock, timing: LockTiming): Promise<void> {
  if (Date.now() - lock.takenAt >= timing.staleMs / 2) throw new DirLockLostError();
  if (!(await stillOurs(lock))) throw new DirLockLostError();
}

/**
 * Give the lock back, if it is still ours. `renamed`: the holder's file became the record,
 * so only the lock's name goes, and the caller keeps the descriptor; otherwise the file
 * goes too, and the descriptor is closed.
 */
export async function releaseRecordLock(lock: HeldLock, renamed: boolean): Promise<void> {
  try {
    // Even a young lock may have been moved away by two reclaimers racing (see `reclaim`),
    // and its name taken by another holder since: look before removing it.
    if (await stillOurs(lock)) await unlinkIfPresent(lock.path);
    if (!renamed) await unlinkIfPresent(lock.file);
  } finally {
    if (!renamed) await closeFd(lock.fd);
  }
}

async function stillOurs(lock: HeldLock): Promise<boolean> {
  try {
    return (await pathIdentity(lock.path)) === lock.identity;
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Create `file` for writing, with `extraFlags`, creating the shard folder on first use. */
async function createFile(file: string, extraFlags: number): Promise<number> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | extraFlags;
  try {
    return await openFd(file, flags);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true });
  return openFd(file, flags);
}

/** link; true when the name was free and is now ours, false when it exists. */
async function linkName(file: string, path: string): Promise<boolean> {
  try {
    await link(file, path);
    return true;
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return false;
    throw error;
  }
}

async function discard(file: string, fd: number): Promise<void> {
  try {
    await unlinkIfPresent(file);
  } finally {
    await closeFd(fd);
  }
}

/**
 * Which file holds the lock at `path` (inode and mtime: a file made later in the freed
 * inode has a later mtime) and when it goes stale; undefined when it is gone.
 */
async function inspect(path: string, staleMs: number): Promise<{ identity: string; staleAt: number } | undefined> {
  try {
    const age = await pathAge(path);
    return { identity: age.identity, staleAt: age.mtimeMs + staleMs };
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Move the stale lock `identity` out of the way. If, between our look and our rename,
 * another reclaimer already replaced it with a fresh lock, we moved that fresh one: give
 * it its name back with `link`, which, unlike `rename`, never replaces a lock taken again
 * meanwhile; if one was, the moved one's holder finds out at `assertHeld`.
 */
async function reclaim(path: string, identity: string, staleMs: number): Promise<void> {
  const grave = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, grave);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await inspect(grave, staleMs);
  if (moved !== undefined && moved.identity !== identity) await linkName(grave, path);
  await unlinkIfPresent(grave);
}
