/**
 * Where the file store keeps things, and how it reads and writes one record safely.
 *
 * ```
 * DIR/sessions/ab/cd/<key>.json      one record (data + lease), replaced atomically
 * DIR/sessions/ab/cd/<key>.lock      the record's short-lived operation lock (see _file-lock.ts)
 * DIR/sessions/ab/cd/.<token>.tmp    the lock holder's own name of that file: the next record
 * DIR/expiry/<bucket>/<key>          empty marker: <key> may expire within <bucket>
 * ```
 *
 * Two levels of 256 shards keep every folder small (100 million sessions make about
 * 1,500 files per folder). Keys are checked against a strict pattern before they are
 * joined to any path, so no input can name a file outside the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { closeFd, fdatasyncFd, openFd, readText, writeText } from './_file-io.js';
import type { FolderSyncs } from './_file-folder-syncs.js';
import type { HeldLock } from './_file-lock.js';
import type { LeasedRecord } from './_lease-record.js';

/** A session key: the SHA-256 hex of a session id. */
const SESSION_KEY = /^[0-9a-f]{64}$/;

/**
 * Keys the core reserves for its own records (the cluster-wide sweeper lease). They
 * cannot collide with a session key, which is always 64 hex digits.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['sweeper']);

/** Throws unless `key` is a session key or a reserved key; runs before any path is built. */
export function assertKey(key: string): void {
  if (typeof key !== 'string' || !(SESSION_KEY.test(key) || RESERVED_KEYS.has(key))) {
    throw new TypeError('file store: refused a malformed store key');
  }
}

/** True when `name` (a marker file name) is a key the store could have written. */
export function isKey(name: string): boolean {
  return SESSION_KEY.test(name) || RESERVED_KEYS.has(name);
}

/** Paths of one store directory. */
export interface FileLayout {
  readonly recordPath: (key: string) => string;
  readonly lockPath: (key: string) => string;
  /** A new unique name beside the record, for a lock holder's file (see _file-lock.ts). */
  readonly holderFile: (key: string) => string;
  readonly expiryRoot: string;
  readonly bucketDir: (bucket: number) => string;
  readonly markerPath: (bucket: number, key: string) => string;
}

/** Bucket folder names are zero-padded so a plain sort is chronological. */
const BUCKET_DIGITS = 13;

/** The paths of the store rooted at `root`. Callers validate keys first (`assertKey`). */
export function createLayout(root: string): FileLayout {
  const sessions = join(root, 'sessions');
  const expiryRoot = join(root, 'expiry');
  // Plain concatenation: the roots are normalized once, and a checked key holds no
  // separator or dot segment, so join's normalizing on every call would change nothing.
  const shard = (key: string): string => `${sessions}${sep}${key.slice(0, 2)}${sep}${key.slice(2, 4)}`;
  const bucketDir = (bucket: number): string => join(expiryRoot, String(bucket).padStart(BUCKET_DIGITS, '0'));
  // Unique among every process sharing the folder: random per layout, then a count.
  const holderPrefix = randomBytes(9).toString('base64url');
  let holders = 0;
  return {
    recordPath: (key) => `${shard(key)}${sep}${key}.json`,
    lockPath: (key) => `${shard(key)}${sep}${key}.lock`,
    holderFile: (key) => `${shard(key)}${sep}.${holderPrefix}${(holders++).toString(36)}.tmp`,
    expiryRoot,
    bucketDir,
    markerPath: (bucket, key) => join(bucketDir(bucket), key),
  };
}

/** The bucket number of a folder name, or undefined for anything else found there. */
export function parseBucket(name: string): number | undefined {
  return /^\d{1,16}$/.test(name) ? Number(name) : undefined;
}

/** The Node.js error code of `error`, if any. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The record at `path`, or undefined when there is none. A torn or foreign file throws.
 * Three thread-pool trips (open, read, close; readFile also asks for the size first): a
 * record is never changed in place (every write renames a new file over it), so the file
 * opened is complete, and a short read of a regular file means its end. Were that ever
 * wrong, the cut-off JSON would fail to parse: a record is one object, and no proper
 * prefix of one parses.
 */
export async function readRecord(path: string): Promise<LeasedRecord | undefined> {
  let fd: number;
  try {
    fd = await openFd(path, 'r');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  let text: string;
  try {
    text = await readText(fd);
  } finally {
    await closeFd(fd);
  }
  return decodeRecord(text);
}

/** One record as JSON. */
export function encodeRecord(entry: LeasedRecord): string {
  return JSON.stringify({
    data: entry.data,
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    version: entry.version,
    leaseToken: entry.leaseToken,
    leaseUntil: entry.leaseUntil,
  });
}

function decodeRecord(text: string): LeasedRecord {
  const value = JSON.parse(text) as Record<string, unknown>;
  const { data, createdAt, expiresAt, version, leaseToken, leaseUntil } = value;
  if (
    typeof data !== 'string' ||
    typeof createdAt !== 'number' ||
    typeof expiresAt !== 'number' ||
    typeof version !== 'number' ||
    (leaseToken !== null && typeof leaseToken !== 'string') ||
    typeof leaseUntil !== 'number'
  ) {
    throw new TypeError('file store: a record file does not hold a session record');
  }
  return { data, createdAt, expiresAt, version, leaseToken, leaseUntil };
}

/**
 * Write `entry` into a lock holder's new, empty file (which the commit renames over the
 * record), on disk before this returns when `durable`, so a power cut after the rename
 * cannot leave the new name on an empty or partly written file.
 */
export async function fillRecordFile(lock: Pick<HeldLock, 'fd' | 'syncedWrites'>, entry: LeasedRecord, durable: boolean): Promise<void> {
  await writeText(lock.fd, encodeRecord(entry));
  // fdatasync: the data and what is needed to read it back (the size); a new file has
  // no older metadata worth a full fsync.
  if (durable && !lock.syncedWrites) await fdatasyncFd(lock.fd);
}

/** Remove the file at `path`; one that is already gone is fine. */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
  }
}

/**
 * Create an empty file, creating its folder when missing; an existing one is fine. With
 * `folders`, its folder is flushed too.
 */
export async function touchFile(path: string, folders: FolderSyncs | undefined): Promise<void> {
  try {
    await closeFd(await openFd(path, 'a'));
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    await closeFd(await openFd(path, 'a'));
  }
  await folders?.sync(dirname(path));
}
