/**
 * The file store's per-record operation lock: a directory made with `mkdir`, which is
 * atomic on local filesystems and on NFS (the server decides, and answers EEXIST to all
 * but one client). It is held only for the few milliseconds of one read-modify-write of
 * one record, never across a request: the session lease lives in the record itself.
 *
 * Inside the directory an `owner` file names the holder's token and when the lock goes
 * stale. A stale lock (its holder crashed mid-operation) is reclaimed by renaming the
 * directory to a unique name and removing that, never by delete-then-create, which would
 * let two reclaimers both believe they removed "the" stale lock and both take it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeFd, fdIdentity, openFd, pathIdentity, writeText } from './_file-io.js';
import { codeOf } from './_file-layout.js';

/** Timing of the operation locks. */
export interface DirLockTiming {
  /** A lock older than this is stale and may be reclaimed, in ms. */
  readonly staleMs: number;
  /** How long an operation waits for a busy lock before failing, in ms. */
  readonly waitMs: number;
  /** The clock, epoch ms. */
  readonly now: () => number;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly path: string;
  readonly token: string;
  /** When this process took it (its own clock), to refuse commits made too late. */
  readonly takenAt: number;
  /**
   * The `owner` file, kept open until the release: while it is, its inode cannot be
   * reused, so finding the same device and inode at the path proves the lock is still
   * ours in one `stat`, where reading the token back took four calls.
   */
  readonly ownerFd: number;
  /** Device and inode of the `owner` file (`fdIdentity`). */
  readonly identity: string;
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

interface Owner {
  /** The holder's token, or null while the holder has not written it yet. */
  readonly identity: string;
  readonly staleAt: number;
}

const OWNER = 'owner';
const MAX_PAUSE_MS = 20;

/**
 * Take the lock at `path`. With `wait` false, answers undefined at once when another
 * operation holds it (the sweeper skips busy records rather than queue behind requests).
 */
export async function acquireDirLock(path: string, timing: DirLockTiming, wait: boolean): Promise<HeldLock | undefined> {
  const startedAt = timing.now();
  let pauseMs = 1;
  for (;;) {
    const takenAt = timing.now();
    if (await makeDir(path)) {
      const token = randomBytes(12).toString('base64url');
      const owner = JSON.stringify({ token, staleAt: takenAt + timing.staleMs, pid: process.pid });
      let ownerFd: number;
      try {
        // `wx`: if a reclaimer put another lock's content here meanwhile, we must not overwrite it.
        ownerFd = await openFd(join(path, OWNER), 'wx');
      } catch (error) {
        const code = codeOf(error);
        if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
        // Our fresh directory was replaced or moved by a reclaimer: start over.
        continue;
      }
      try {
        await writeText(ownerFd, owner);
        return { path, token, takenAt, ownerFd, identity: await fdIdentity(ownerFd) };
      } catch (error) {
        await closeFd(ownerFd);
        throw error;
      }
    }
    const owner = await inspect(path, timing.staleMs);
    if (owner === undefined) continue;
    if (owner.staleAt <= timing.now()) {
      await reclaim(path, owner.identity, timing.staleMs);
      continue;
    }
    if (!wait) return undefined;
    const waitedMs = timing.now() - startedAt;
    if (waitedMs >= timing.waitMs) throw new DirLockTimeoutError(waitedMs);
    // Full jitter, so waiters of one record do not retry in lockstep.
    await sleep(Math.random() * pauseMs);
    pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
  }
}

/**
 * Throws unless `lock` is still ours and young enough that no other process can have
 * judged it stale: half of `staleMs` is kept as a margin for clock skew between hosts
 * and for the time the commit itself takes.
 */
export async function assertHeld(lock: HeldLock, timing: DirLockTiming): Promise<void> {
  if (timing.now() - lock.takenAt >= timing.staleMs / 2) throw new DirLockLostError();
  if (!(await stillOurs(lock))) throw new DirLockLostError();
}

/** Give the lock back, if it is still ours. */
export async function releaseDirLock(lock: HeldLock): Promise<void> {
  try {
    if (!(await stillOurs(lock))) return;
    await unlink(join(lock.path, OWNER));
    await rmdir(lock.path);
  } finally {
    await closeFd(lock.ownerFd);
  }
}

async function stillOurs(lock: HeldLock): Promise<boolean> {
  try {
    return (await pathIdentity(join(lock.path, OWNER))) === lock.identity;
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return false;
    throw error;
  }
}

/** mkdir; true when we made it, false when it exists. Creates the shard folder on first use. */
async function makeDir(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true });
  return makeDir(path);
}

/** Who holds the lock at `path` and when it goes stale; undefined when it is gone. */
async function inspect(path: string, staleMs: number): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(path, OWNER), 'utf8')) as { token?: unknown; staleAt?: unknown };
    if (typeof parsed.token === 'string' && typeof parsed.staleAt === 'number') {
      return { identity: parsed.token, staleAt: parsed.staleAt };
    }
  } catch (error) {
    if (codeOf(error) !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  // No owner yet (its holder is between mkdir and writing it, or died there): the
  // directory's own age decides, and its inode identifies it (a rename keeps the inode).
  try {
    const info = await stat(path);
    return { identity: `inode:${info.ino}`, staleAt: info.mtimeMs + staleMs };
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Move the stale lock `identity` out of the way. If, between our look and our rename,
 * another reclaimer already replaced it with a fresh lock, we moved that fresh one: put
 * it back where it was; if the place was taken again meanwhile, drop it, and its holder
 * finds out at `assertHeld` before it commits anything.
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
  if (moved === undefined || moved.identity === identity) {
    await rm(grave, { recursive: true, force: true });
    return;
  }
  try {
    await rename(grave, path);
  } catch (error) {
    const code = codeOf(error);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(grave, { recursive: true, force: true });
  }
}
