/**
 * The few file-descriptor calls the file store makes, as promises over fs's callback
 * API: fs.promises wraps every descriptor in a FileHandle object, which costs noticeably
 * more CPU per call, and one store operation makes a dozen such calls.
 */
import { close, fdatasync, fstat, fsync, futimes, open, read, stat, writeFile } from 'node:fs';
import { promisify } from 'node:util';

/** Open `path` with fs flags (`r`, `wx`, `a`, or `fs.constants` bits); answers the descriptor. */
export const openFd: (path: string, flags: string | number) => Promise<number> = promisify(open);
/** Close a descriptor. */
export const closeFd: (fd: number) => Promise<void> = promisify(close);
/** Flush a file's data and metadata, or a folder's entries, to disk. */
export const fsyncFd: (fd: number) => Promise<void> = promisify(fsync);
/** Flush a file's data and what is needed to read it back (its size) to disk. */
export const fdatasyncFd: (fd: number) => Promise<void> = promisify(fdatasync);

/** Write all of `text` at the descriptor's position. */
export function writeText(fd: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    writeFile(fd, text, (error) => (error === null ? resolve() : reject(error)));
  });
}

/** Most records fit one read of this size; a larger one takes more. */
const READ_CHUNK = 16 * 1024;

/**
 * The rest of a regular file, as UTF-8. A short read of a regular file means its end,
 * so a small file costs one read, not the read and the empty read that find the end.
 */
export async function readText(fd: number): Promise<string> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    const bytes = await new Promise<number>((resolve, reject) => {
      read(fd, chunk, 0, READ_CHUNK, null, (error, count) => (error === null ? resolve(count) : reject(error)));
    });
    chunks.push(chunk.subarray(0, bytes));
    if (bytes < READ_CHUNK) return Buffer.concat(chunks).toString('utf8');
  }
}

/**
 * Which file a descriptor is open on, as device and inode. While the descriptor stays
 * open the inode cannot be freed, so no other file can come to carry the same identity.
 */
export function fdIdentity(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    fstat(fd, { bigint: true }, (error, info) => (error === null ? resolve(`${info.dev}:${info.ino}`) : reject(error)));
  });
}

/** Which file `path` names now, as device and inode (see `fdIdentity`). */
export function pathIdentity(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stat(path, { bigint: true }, (error, info) => (error === null ? resolve(`${info.dev}:${info.ino}`) : reject(error)));
  });
}

/** Set a file's access and modification times to now. */
export function touchFd(fd: number): Promise<void> {
  const now = new Date();
  return new Promise((resolve, reject) => {
    futimes(fd, now, now, (error) => (error === null ? resolve() : reject(error)));
  });
}

/** The file at `path`: its inode with its mtime (`identity`), and that mtime in epoch ms. */
export function pathAge(path: string): Promise<{ identity: string; mtimeMs: number }> {
  return new Promise((resolve, reject) => {
    stat(path, { bigint: true }, (error, info) =>
      error === null ? resolve({ identity: `${info.dev}:${info.ino}:${info.mtimeNs}`, mtimeMs: Number(info.mtimeMs) }) : reject(error),
    );
  });
}
