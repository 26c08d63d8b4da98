/**
 * Where the file store keeps things, and how it reads and writes one record safely.
 *
 * ```
 * DIR/sessions/ab/cd/<key>.json      one record (data + lease), replaced atomically
 * DIR/sessions/ab/cd/<key>.lock/     the record's short-lived operation lock (mkdir)
 * DIR/expiry/<bucket>/<key>          empty marker: <key> may expire within <bucket>
 * ```
 *
 * Two levels of 256 shards keep every folder small (100 million sessions make about
 * 1,500 files per folder). Keys are checked against a strict pattern before they are
 * joined to any path, so no input can name a file outside the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
  const shard = (key: string): string => join(sessions, key.slice(0, 2), key.slice(2, 4));
  const bucketDir = (bucket: number): string => join(expiryRoot, String(bucket).padStart(BUCKET_DIGITS, '0'));
  return {
    recordPath: (key) => join(shard(key), `${key}.json`),
    lockPath: (key) => join(shard(key), `${key}.lock`),
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

/** The record at `path`, or undefined when there is none. A torn or foreign file throws. */
export async function readRecord(path: string): Promise<LeasedRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
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

/** Make a folder's entries (a rename, a new or removed file) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a folder for fsync; its renames are journaled by NTFS.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replace `path` with `text` so that a crash at any instant leaves the old content or
 * the new, never a mix: write a temporary file in the same folder (rename is atomic only
 * within one filesystem), fsync it, run `beforeCommit` (the lock-ownership check), rename
 * it over the target, then fsync the folder so the rename itself survives a power cut.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  fsync: boolean,
  beforeCommit: () => Promise<void>,
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${randomBytes(8).toString('hex')}.tmp`);
  try {
    await writeTemp(temp, text, fsync);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    // First record in this shard: create the folder once, then write again.
    await mkdir(dir, { recursive: true });
    await writeTemp(temp, text, fsync);
  }
  try {
    await beforeCommit();
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (fsync) await syncDirectory(dir);
}

async function writeTemp(temp: string, text: string, fsync: boolean): Promise<void> {
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    if (fsync) await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
}

/** Create an empty file, creating its folder when missing; an existing one is fine. */
export async function touchFile(path: string, fsync: boolean): Promise<void> {
  try {
    await (await open(path, 'a')).close();
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    await (await open(path, 'a')).close();
  }
  if (fsync) await syncDirectory(dirname(path));
}
